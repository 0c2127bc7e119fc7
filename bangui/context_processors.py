from __future__ import annotations

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from bangui.status import current_status


def status(request: HttpRequest) -> dict[str, object]:
    """The fail2ban status for the status bar, read only if a template uses it."""
    if not request.user.is_authenticated:
        return {}
    return {"status": SimpleLazyObject(current_status)}
