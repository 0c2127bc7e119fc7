"""Configuration tabs: fail2ban's server settings, its log, and rolling back a bad apply."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from bangui.fail2ban import Fail2banError, host
from bangui.fail2ban.configured import config_dir, kept_client
from bangui.fail2ban.logtail import LogTail, LogTarget
from bangui.web import is_partial, safe_next
from jails.audit.services import actor_from
from jails.config.server import services
from jails.config.server.forms import LogViewForm, ServerSettingsForm
from jails.config.services import config_rollback
from jails.models import ConfigChange


@require_http_methods(["GET", "POST"])
def config_server(request: HttpRequest) -> HttpResponse:
    outcome = None
    page = services.server_page()
    if request.method == "POST":
        form = ServerSettingsForm(request.POST, log_dirs=page.log_dirs)
        if form.is_valid():
            outcome = services.server_settings_apply(
                actor=actor_from(request), data=form.cleaned_data
            )
            if outcome.ok:
                messages.success(request, outcome.message)
                return redirect("config_server")
            page = services.server_page()  # what fail2ban runs with now
    if request.method == "GET":
        form = ServerSettingsForm(initial=services.form_initial(page), log_dirs=page.log_dirs)
    context = {"nav": "config", "tab": "server", "page": page, "form": form, "outcome": outcome}
    status = 400 if request.method == "POST" else 200
    return render(request, "jails/config/server.html", context, status=status)


@require_GET
@vary_on_headers("HX-Request")
def config_log(request: HttpRequest) -> HttpResponse:
    form = LogViewForm.from_query(request.GET)
    count, q, follow = form.values()
    error = ""
    target, tail = LogTarget("", from_config=False), None
    try:
        with kept_client() as c:
            target, tail = host.fail2ban_log(c, config_dir=config_dir(), count=count, q=q)
    except Fail2banError as exc:  # the broker, which reads the log as root, is down
        error = str(exc)
        tail = LogTail(path="", error=f"The log cannot be read now: {error}")
    context = {
        "error": error,
        "nav": "config",
        "tab": "log",
        "form": form,
        "target": target,
        "tail": tail,
        "count": count,
        "q": q,
        "follow": follow,
    }
    if is_partial(request):
        return render(request, "jails/config/log_lines.html", context)
    return render(request, "jails/config/log.html", context)


def _back(request: HttpRequest) -> HttpResponse:
    return redirect(safe_next(request) or "config_server")


@require_POST
def recovery_rollback(request: HttpRequest, pk: int) -> HttpResponse:
    change = get_object_or_404(ConfigChange, pk=pk)
    if not services.is_pending(change):
        messages.error(
            request,
            f"“{change.what}” is not waiting for a rollback any more (fail2ban is back, or it "
            "was rolled back already); nothing was changed.",
        )
        return _back(request)
    messages.success(request, config_rollback(actor=actor_from(request), change=change))
    return _back(request)


@require_POST
def recovery_dismiss(request: HttpRequest, pk: int) -> HttpResponse:
    services.recovery_dismiss(request, get_object_or_404(ConfigChange, pk=pk))
    return _back(request)
