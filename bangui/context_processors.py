from __future__ import annotations

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from bangui.roles import Can, user_role
from bangui.status import current_status


def status(request: HttpRequest) -> dict[str, object]:
    """The fail2ban status for the status bar, read only if a template uses it."""
    if not request.user.is_authenticated:
        return {}
    return {"status": SimpleLazyObject(current_status)}


def role(request: HttpRequest) -> dict[str, object]:
    """The user's role and what it allows, for templates: ``{% if can.operate %}``."""
    current = user_role(request.user) if hasattr(request, "user") else ""
    return {"role": current, "can": Can(current)}
