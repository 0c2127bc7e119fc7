"""The Alerts page (admins): channels with a test button, rules, the recent notifications."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from alerts import services
from alerts.forms import ChannelForm, RuleForm
from alerts.models import Channel, Rule
from alerts.selectors import channel_list, failing_forget, recent_notifications, rule_list
from bangui.web import is_partial
from jails.audit.services import actor_from


def _page(
    request: HttpRequest,
    *,
    channel_form: ChannelForm | None = None,
    rule_form: RuleForm | None = None,
    status: int = 200,
) -> HttpResponse:
    context: dict[str, Any] = {
        "nav": "config",
        "channels": channel_list(),
        "rules": rule_list(),
        "notifications": recent_notifications(),
        "channel_form": channel_form or ChannelForm(),
        "rule_form": rule_form or RuleForm(),
    }
    return render(request, "alerts/index.html", context, status=status)


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    return _page(request)


@require_GET
@vary_on_headers("HX-Request")
def notifications(request: HttpRequest) -> HttpResponse:
    """The recent notifications table, polled by the page while a retry is pending."""
    context = {"notifications": recent_notifications()}
    return render(request, "alerts/_notifications.html", context)


def _save_channel(request: HttpRequest, form: ChannelForm) -> None:
    channel = services.channel_save(
        channel=form.save(commit=False),
        secret=form.cleaned_data.get("secret") or "",
        actor=actor_from(request),
    )
    failing_forget()
    messages.success(request, f"Saved the channel “{channel.name}”. Send a test to check it.")


@require_POST
def channel_add(request: HttpRequest) -> HttpResponse:
    form = ChannelForm(request.POST)
    if not form.is_valid():
        return _page(request, channel_form=form, status=400)
    _save_channel(request, form)
    return redirect("alerts")


@require_http_methods(["GET", "POST"])
def channel_edit(request: HttpRequest, pk: int) -> HttpResponse:
    channel = get_object_or_404(Channel, pk=pk)
    form = ChannelForm(request.POST or None, instance=channel)
    if request.method == "POST" and form.is_valid():
        _save_channel(request, form)
        return redirect("alerts")
    status = 400 if request.method == "POST" else 200
    context = {"nav": "config", "form": form, "object": channel, "what": "channel"}
    return render(request, "alerts/edit.html", context, status=status)


@require_POST
def channel_delete(request: HttpRequest, pk: int) -> HttpResponse:
    channel = get_object_or_404(Channel, pk=pk)
    name = channel.name
    services.channel_delete(channel=channel, actor=actor_from(request))
    failing_forget()
    messages.success(request, f"Deleted the channel “{name}”; its notifications stay listed.")
    return redirect("alerts")


@require_POST
@vary_on_headers("HX-Request")
def channel_test(request: HttpRequest, pk: int) -> HttpResponse:
    """Send a test message now and show how it went (in the row, or as a message)."""
    channel = get_object_or_404(Channel, pk=pk)
    note = services.channel_test(channel=channel, username=request.user.get_username())
    failing_forget()
    if is_partial(request):
        context = {"note": note, "notifications": recent_notifications()}
        return render(request, "alerts/_test_result.html", context)
    if note.outcome == note.Outcome.SENT:
        messages.success(request, f"Test sent to “{channel.name}”.")
    else:
        messages.error(request, f"The test to “{channel.name}” failed: {note.error}")
    return redirect("alerts")


def _channels(form: RuleForm) -> list[Channel]:
    return list(form.cleaned_data["channels"])


@require_POST
def rule_add(request: HttpRequest) -> HttpResponse:
    form = RuleForm(request.POST)
    if not form.is_valid():
        return _page(request, rule_form=form, status=400)
    rule = services.rule_save(
        rule=form.save(commit=False), channels=_channels(form), actor=actor_from(request)
    )
    messages.success(request, f"Saved the rule “{rule.name}”.")
    return redirect("alerts")


@require_http_methods(["GET", "POST"])
def rule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    rule = get_object_or_404(Rule, pk=pk)
    form = RuleForm(request.POST or None, instance=rule)
    if request.method == "POST" and form.is_valid():
        services.rule_save(
            rule=form.save(commit=False),
            channels=_channels(form),
            restart="event" in form.changed_data,
            actor=actor_from(request),
        )
        messages.success(request, f"Saved the rule “{rule.name}”.")
        return redirect("alerts")
    status = 400 if request.method == "POST" else 200
    context = {"nav": "config", "form": form, "object": rule, "what": "rule"}
    return render(request, "alerts/edit.html", context, status=status)


@require_POST
def rule_delete(request: HttpRequest, pk: int) -> HttpResponse:
    rule = get_object_or_404(Rule, pk=pk)
    name = rule.name
    services.rule_delete(rule=rule, actor=actor_from(request))
    messages.success(request, f"Deleted the rule “{name}”.")
    return redirect("alerts")
