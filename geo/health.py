"""The last geo error in this process, for ``geo_status`` (and so the ready endpoint)."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

log = logging.getLogger("bangui.geo")


@dataclass(frozen=True)
class GeoError:
    message: str
    at: datetime


_lock = threading.Lock()
_last: GeoError | None = None


def note_error(message: str) -> None:
    """Remember (and log, when it is new) a problem with a database or the HTTP fallback."""
    global _last
    with _lock:
        if _last is None or _last.message != message:
            log.warning("geo: %s", message)
        _last = GeoError(message, timezone.now())


def last_error() -> GeoError | None:
    return _last


def clear_error() -> None:
    global _last
    with _lock:
        _last = None
