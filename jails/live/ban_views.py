"""Manual bans, unbans, unban-all and the IP lookup."""

from __future__ import annotations

import ipaddress

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from bangui.clientip import client_ip
from bangui.fail2ban import Fail2banError
from bangui.fail2ban.configured import config_dir, db_path, get_client
from bangui.fail2ban.validation import clean_address
from bangui.web import safe_next
from geo.selectors import geo_lookup
from jails.audit.services import actor_from
from jails.live import services
from jails.live.forms import BanForm, EntryForm
from jails.live.selectors import ban_jails, ip_lookup
from jails.models import MANUAL_JAIL


@require_http_methods(["GET", "POST"])
def ban_new(request: HttpRequest) -> HttpResponse:
    c = get_client()
    jails = ban_jails(c)
    initial = {
        "jail": request.GET.get("jail") or MANUAL_JAIL,
        "ips": request.GET.get("ip"),
    }
    form = BanForm(request.POST or None, jails=jails, initial=initial)
    context: dict[str, object] = {"nav": "jails", "form": form}
    if request.method != "POST" or not form.is_valid():
        context["parsed"] = form.parsed  # why each entry was refused
        return render(request, "jails/live/ban_form.html", context)
    parsed = form.parsed
    assert parsed is not None
    jail = form.cleaned_data["jail"]
    context["parsed"] = parsed
    if parsed.invalid:
        form.add_error("ips", f"{len(parsed.invalid)} entries are not valid; nothing was banned.")
        return render(request, "jails/live/ban_form.html", context)
    if parsed.networks:
        problem = services.ban_network_problem(client=c, jail=jail)
        if problem:
            form.add_error("ips", problem)
            return render(request, "jails/live/ban_form.html", context)
    if not form.cleaned_data["confirm"]:
        warnings = services.ban_warnings(
            client=c, jail=jail, ips=parsed.valid, own_ip=client_ip(request)
        )
        if warnings:
            context["warnings"] = warnings
            return render(request, "jails/live/ban_form.html", context)
    actor = actor_from(request)
    try:
        if jail == MANUAL_JAIL:
            services.manual_jail_start(actor=actor, client=c, config_dir=config_dir())
        result = services.ban_create(actor=actor, client=c, jail=jail, ips=parsed.valid)
    except (services.ActionError, ValidationError) as exc:
        messages.error(
            request, str(exc) if isinstance(exc, services.ActionError) else exc.messages[0]
        )
        return render(request, "jails/live/ban_form.html", context)
    context["result"] = result
    context["jail"] = jail
    context["form"] = BanForm(jails=ban_jails(c), initial={"jail": jail})
    return render(request, "jails/live/ban_form.html", context)


@require_POST
def unban(request: HttpRequest) -> HttpResponse:
    form = EntryForm(request.POST)
    back = safe_next(request) or reverse("jails")
    if not form.is_valid():
        messages.error(request, " ".join(str(e) for e in form.errors.get("entry", [])))
        return redirect(back)
    ip = form.cleaned_data["entry"]
    jail = request.POST.get("jail") or None
    if jail == "*":
        jail = None
        if request.POST.get("confirmed") != "yes":
            return render(
                request,
                "bangui/confirm.html",
                {
                    "nav": "jails",
                    "title": f"Unban {ip} from every jail?",
                    "text": "fail2ban lifts the ban in every jail at once. fail2ban also "
                    "deletes this address's ban history from its own database.",
                    "button": "Unban everywhere",
                    "post": request.POST,
                },
            )
    try:
        count = services.ban_remove(
            actor=actor_from(request), client=get_client(), ip=ip, jail=jail
        )
    except services.ActionError as exc:
        messages.error(request, str(exc))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        where = f"jail {jail}" if jail else "every jail"
        if count:
            messages.success(request, f"Unbanned {ip} from {where}.")
        else:
            messages.info(request, f"{ip} was not banned in {where}.")
    return redirect(back)


@require_http_methods(["GET", "POST"])
def unban_all(request: HttpRequest) -> HttpResponse:
    c = get_client()
    if request.method == "POST" and request.POST.get("confirmed") == "yes":
        try:
            count = services.ban_remove_all(actor=actor_from(request), client=c)
        except services.ActionError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"Lifted {count} bans in every jail.")
        return redirect("jails")
    try:
        total = sum(c.jail_status(j).currently_banned for j in c.jails())
    except Fail2banError as exc:
        messages.error(request, f"fail2ban is unreachable: {exc}")
        return redirect("jails")
    return render(
        request,
        "bangui/confirm.html",
        {
            "nav": "jails",
            "title": f"Unban all {total} addresses?",
            "text": f"fail2ban lifts all {total} current bans in every jail. Addresses that keep "
            "attacking are banned again by their jails.",
            "button": f"Unban all {total}",
            "post": {},
            "action": request.path,
        },
    )


@require_GET
def ip_search(request: HttpRequest) -> HttpResponse:
    raw = request.GET.get("q", "").strip()
    context: dict[str, object] = {"nav": "", "q": raw[:64]}
    if raw:
        try:
            ip = clean_address(raw)
        except ValidationError as exc:
            context["error"] = exc.messages[0]
            return render(request, "jails/live/ip.html", context)
        context["ip"] = ip
        context["private"] = not ipaddress.ip_address(ip).is_global
        context["geo"] = geo_lookup(ip)
        c = get_client()
        try:
            context["bans"] = ip_lookup(client=c, ip=ip, db_path=db_path(c))
        except Fail2banError as exc:
            context["error"] = f"fail2ban is unreachable: {exc}"
    return render(request, "jails/live/ip.html", context)
