from __future__ import annotations

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from alerts.selectors import failing_channels


def alerts_failing(request: HttpRequest) -> dict[str, object]:
    """Channels whose last delivery failed, for the status bar; read only if it is shown."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"alerts_failing": SimpleLazyObject(failing_channels)}
