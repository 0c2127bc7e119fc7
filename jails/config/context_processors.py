from __future__ import annotations

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from jails.config.server.services import recovery_for


def recovery(request: HttpRequest) -> dict[str, object]:
    """The pending-recovery banner of base.html, computed only when a page renders it.

    Cheap: ``current_status`` reads the cached snapshot; only while fail2ban is
    offline is there one more (indexed) query for the last config change.
    """
    if not request.user.is_authenticated:
        return {}

    def _get() -> object:
        return recovery_for(request) or {}

    return {"recovery": SimpleLazyObject(_get)}
