"""Events the core layer announces for the apps above it (the audit log lives in jails).

``bangui`` may not import ``jails`` (the import direction is one way), yet its
own actions (setup, users, passwords, second factors) belong in the audit log:
it sends ``audited`` and ``jails.audit`` records it. Django's own
``user_logged_in``/``user_logged_out``/``user_login_failed`` are recorded there too.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.dispatch import Signal
from django.http import HttpRequest

from bangui.clientip import client_ip

# kwargs: user (or None), username, client_ip, action, target, params, ok, result
audited = Signal()


def audit(
    request: HttpRequest | None,
    *,
    action: str,
    target: str = "",
    params: dict[str, Any] | None = None,
    ok: bool = True,
    result: str = "",
    user: AbstractBaseUser | None = None,
) -> None:
    """Announce one audited action of the request's user (or of ``user``)."""
    if user is None and request is not None and request.user.is_authenticated:
        user = request.user
    audited.send(
        sender=None,
        user=user,
        username=user.get_username() if user is not None else "",
        client_ip=client_ip(request) if request is not None else "",
        action=action,
        target=target,
        params=params or {},
        ok=ok,
        result=result,
    )
