"""The audit records of what the core layer and Django's auth announce (bangui.signals)."""

from __future__ import annotations

import ipaddress
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest

from bangui.clientip import client_ip
from bangui.signals import audited
from jails.audit.services import Action, Actor, audit_record


def _from_network(request: HttpRequest | None) -> bool:
    """A login over HTTP (the test client's force_login and shells have no client address)."""
    return request is not None and bool(request.META.get("REMOTE_ADDR"))


def _ip(request: HttpRequest | None) -> str | None:
    ip = client_ip(request) if request is not None else ""
    try:
        ipaddress.ip_address(ip)
    except ValueError:
        return None
    return ip


@receiver(audited, dispatch_uid="jails.audit.audited")
def _audited(
    sender: Any,
    *,
    user: AbstractBaseUser | None,
    username: str,
    client_ip: str,
    action: str,
    target: str,
    params: dict[str, Any],
    ok: bool,
    result: str,
    **kwargs: Any,
) -> None:
    try:
        ipaddress.ip_address(client_ip)
    except ValueError:
        client_ip = ""
    actor = Actor(user=user, username=username, client_ip=client_ip or None)
    audit_record(actor=actor, action=action, target=target, params=params, ok=ok, result=result)


@receiver(user_logged_in, dispatch_uid="jails.audit.login")
def _login(sender: Any, request: HttpRequest | None, user: AbstractBaseUser, **kw: Any) -> None:
    if not _from_network(request):
        return
    actor = Actor(user=user, username=user.get_username(), client_ip=_ip(request))
    audit_record(actor=actor, action=Action.LOGIN, target=user.get_username(), result="logged in")


@receiver(user_logged_out, dispatch_uid="jails.audit.logout")
def _logout(
    sender: Any, request: HttpRequest | None, user: AbstractBaseUser | None, **kw: Any
) -> None:
    name = user.get_username() if user is not None else ""
    actor = Actor(user=user, username=name, client_ip=_ip(request))
    audit_record(actor=actor, action=Action.LOGOUT, target=name, result="logged out")


@receiver(user_login_failed, dispatch_uid="jails.audit.login_failed")
def _login_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kw: Any
) -> None:
    # Django passes the credentials with the password already masked; only the name is kept.
    name = str(credentials.get("username") or "")[:150]
    throttled = getattr(request, "bangui_throttled", 0) if request is not None else 0
    audit_record(
        actor=Actor(user=None, username="", client_ip=_ip(request)),
        action=Action.LOGIN_FAILED,
        target=name,
        ok=False,
        result=f"refused: too many failed logins, wait {throttled} s"
        if throttled
        else "wrong user name or password",
    )
