from __future__ import annotations

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from geo.selectors import geo_status


def geo_state(request: HttpRequest) -> dict[str, object]:
    """The geo database's state for the banner of base.html, read only if it renders."""
    if not request.user.is_authenticated:
        return {}
    return {"geo_state": SimpleLazyObject(lambda: geo_status(count=False))}
