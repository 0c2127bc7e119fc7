"""Who did what: the actor of a request and the audit service."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.http import HttpRequest

from bangui.clientip import client_ip
from bangui.logs import current_request_id
from jails.models import AuditEvent

Action = AuditEvent.Action


@dataclass(frozen=True)
class Actor:
    """The user and address behind an action; jobs act as ``system``."""

    user: AbstractBaseUser | None
    username: str
    client_ip: str | None

    @classmethod
    def system(cls, name: str = "system") -> Actor:
        return cls(user=None, username=name, client_ip=None)


def actor_from(request: HttpRequest) -> Actor:
    user = request.user
    ip = client_ip(request)
    try:
        ipaddress.ip_address(ip)
    except ValueError:
        ip = ""
    if isinstance(user, AnonymousUser) or not user.is_authenticated:
        return Actor(user=None, username="", client_ip=ip or None)
    return Actor(user=user, username=user.get_username(), client_ip=ip or None)


def audit_record(
    *,
    actor: Actor,
    action: str,
    target: str = "",
    params: dict[str, Any] | None = None,
    ok: bool = True,
    result: str = "",
) -> AuditEvent:
    return AuditEvent.objects.create(
        user=actor.user if actor.user is not None and actor.user.pk else None,  # type: ignore[misc]
        username=actor.username[:150],
        client_ip=actor.client_ip,
        action=action,
        target=target[:255],
        params=params or {},
        ok=ok,
        result=result[:10_000],
        request_id=(current_request_id() or "")[:64],
    )
