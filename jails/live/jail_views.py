"""Jails: the list, one jail, and the controls (POST only)."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from bangui.fail2ban import Fail2banClient, Fail2banError
from bangui.fail2ban.configreader import ConfiguredJail, configured_jails
from bangui.fail2ban.configured import config_dir, db_path, get_client, kept_client
from bangui.web import is_partial, jail_or_404
from geo.selectors import geo_annotate
from jails.audit.services import actor_from
from jails.live import services
from jails.live.bans_page import jail_bans_page
from jails.live.forms import BanSearchForm, IgnoreAddForm, JailFilterForm
from jails.live.selectors import jail_detail, jail_overview, running_jails


@require_GET
@vary_on_headers("HX-Request")
def jail_list(request: HttpRequest) -> HttpResponse:
    form = JailFilterForm(request.GET)
    q, sort = "", "name"
    if form.is_valid():
        q, sort = form.cleaned_data["q"], form.cleaned_data["sort"] or "name"
    with kept_client() as c:
        overview = jail_overview(client=c, config_dir=config_dir(), q=q, sort=sort)
    context = {
        "nav": "jails",
        "overview": overview,
        "form": form,
        "q": q,
        "sort": sort,
        "restart_command": bool(settings.BANGUI_FAIL2BAN_START_COMMAND),
    }
    if is_partial(request):
        return render(request, "jails/live/_jail_table.html", context)
    return render(request, "jails/live/list.html", context)


@require_GET
@vary_on_headers("HX-Request")
def jail_show(request: HttpRequest, name: str) -> HttpResponse:
    jail = jail_or_404(name)
    with kept_client() as c:
        return _jail_page(request, jail, c)


def _jail_page(
    request: HttpRequest, jail: str, c: Fail2banClient, ignore_form: IgnoreAddForm | None = None
) -> HttpResponse:
    search = BanSearchForm(request.GET)
    q, page, before, after = "", 1, "", ""
    if search.is_valid():
        q, page = search.cleaned_data["q"] or "", search.cleaned_data["page"] or 1
        before, after = search.cleaned_data["before"], search.cleaned_data["after"]
    context: dict[str, object] = {"nav": "jails", "jail": jail, "search": search, "q": q}
    try:
        if jail not in running_jails(c):
            # Ask fail2ban nothing about a jail it does not run: it would log an ERROR.
            configured = jail in {j.name for j in _configured(config_dir())}
            context["not_running"] = True
            status = 200 if configured else 404
            return render(request, "jails/live/detail_unavailable.html", context, status=status)
        bans = jail_bans_page(
            client=c, jail=jail, q=q, page=page, db_path=db_path(c), before=before, after=after
        )
        geo_annotate(bans.rows)  # one batch lookup for the page
        context["bans"] = bans
        if is_partial(request):  # the only live part of this page is the ban table
            return render(request, "jails/live/_bans_table.html", context)
        context["detail"] = jail_detail(client=c, jail=jail, config_dir=config_dir())
    except Fail2banError as exc:
        context["error"] = exc
        context["not_running"] = getattr(exc, "unknown_jail", False)  # stopped just now
        return render(request, "jails/live/detail_unavailable.html", context)
    context["ignore_form"] = ignore_form or IgnoreAddForm()
    return render(request, "jails/live/detail.html", context)


def _configured(directory: str) -> list[ConfiguredJail]:
    try:
        return configured_jails(directory)
    except Fail2banError:
        return []


def _back(request: HttpRequest, jail: str | None = None) -> HttpResponse:
    return redirect(reverse("jail_show", args=[jail]) if jail else reverse("jails"))


def _run(
    request: HttpRequest, done: str, action: Callable[[], object], jail: str | None = None
) -> HttpResponse:
    try:
        action()
    except services.ActionError as exc:
        messages.error(request, str(exc))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, done)
    return _back(request, jail)


def _confirmed(request: HttpRequest) -> bool:
    return request.POST.get("confirmed") == "yes"


def _confirm(request: HttpRequest, *, title: str, text: str, button: str) -> HttpResponse:
    return render(
        request,
        "bangui/confirm.html",
        {"nav": "jails", "title": title, "text": text, "button": button, "post": request.POST},
    )


@require_POST
def jail_stop(request: HttpRequest, name: str) -> HttpResponse:
    jail = jail_or_404(name)
    if not _confirmed(request):
        return _confirm(
            request,
            title=f"Stop jail {jail}?",
            text="fail2ban stops watching its logs and lifts its bans until the jail is "
            "started again.",
            button="Stop jail",
        )
    return _run(
        request,
        f"Jail {jail} stopped.",
        lambda: services.jail_stop(actor=actor_from(request), client=get_client(), jail=jail),
        jail,
    )


@require_POST
def jail_start(request: HttpRequest, name: str) -> HttpResponse:
    jail = jail_or_404(name)
    return _run(
        request,
        f"Jail {jail} started.",
        lambda: services.jail_start(
            actor=actor_from(request), client=get_client(), config_dir=config_dir(), jail=jail
        ),
        jail,
    )


@require_POST
def jail_reload(request: HttpRequest, name: str) -> HttpResponse:
    jail = jail_or_404(name)
    return _run(
        request,
        f"Jail {jail} reloaded from its config.",
        lambda: services.jail_reload(
            actor=actor_from(request), client=get_client(), config_dir=config_dir(), jail=jail
        ),
        jail,
    )


@require_POST
def jail_idle(request: HttpRequest, name: str) -> HttpResponse:
    jail = jail_or_404(name)
    idle = request.POST.get("idle") == "on"
    return _run(
        request,
        f"Jail {jail} is {'idle' if idle else 'active'}.",
        lambda: services.jail_idle_set(
            actor=actor_from(request), client=get_client(), jail=jail, idle=idle
        ),
        jail,
    )


@require_POST
def fail2ban_reload(request: HttpRequest) -> HttpResponse:
    if not _confirmed(request):
        return _confirm(
            request,
            title="Reload fail2ban?",
            text="Every jail is re-read from the config files. Runtime changes made since "
            "(ignore lists, ban times, idle) are lost; bans are kept.",
            button="Reload fail2ban",
        )
    return _run(
        request,
        "fail2ban reloaded.",
        lambda: services.fail2ban_reload(
            actor=actor_from(request), client=get_client(), config_dir=config_dir()
        ),
    )


@require_POST
def fail2ban_restart(request: HttpRequest) -> HttpResponse:
    if not _confirmed(request):
        return _confirm(
            request,
            title="Restart fail2ban?",
            text="fail2ban is stopped and started again with the configured start command. "
            "Nothing is banned while it is down; bans are restored from its database.",
            button="Restart fail2ban",
        )
    return _run(
        request,
        "fail2ban restarted.",
        lambda: services.fail2ban_restart(actor=actor_from(request), client=get_client()),
    )


@require_POST
def ignore_add(request: HttpRequest, name: str) -> HttpResponse:
    jail = jail_or_404(name)
    form = IgnoreAddForm(request.POST)
    if form.is_valid():
        entries = form.cleaned_data["entries"]
        try:
            services.ignore_add(
                actor=actor_from(request), client=get_client(), jail=jail, entries=entries
            )
        except services.ActionError as exc:  # fail2ban's side: said at the top, as elsewhere
            messages.error(request, str(exc))
        else:
            messages.success(request, f"Added to {jail}'s ignore list: {', '.join(entries)}.")
        return _back(request, jail)
    # The page again, the error next to the field (not 1,300 px up in the messages).
    with kept_client() as c:
        response = _jail_page(request, jail, c, ignore_form=form)
    response.status_code = 400
    return response


@require_POST
def ignore_remove(request: HttpRequest, name: str) -> HttpResponse:
    jail = jail_or_404(name)
    entry = request.POST.get("entry", "")
    return _run(
        request,
        f"Removed {entry} from {jail}'s ignore list.",
        lambda: services.ignore_remove(
            actor=actor_from(request), client=get_client(), jail=jail, entry=entry
        ),
        jail,
    )


@require_POST
def ignoreself_set(request: HttpRequest, name: str) -> HttpResponse:
    jail = jail_or_404(name)
    value = request.POST.get("ignoreself") == "true"
    return _run(
        request,
        f"ignoreself is {'on' if value else 'off'} for {jail}.",
        lambda: services.ignoreself_set(
            actor=actor_from(request), client=get_client(), jail=jail, value=value
        ),
        jail,
    )
