"""Flushing the memory tier of the web process, after responses.

The dirty entries live in the memory of the process that resolved them, and
django-q runs jobs in other processes, so a scheduled job cannot flush the
web process's entries. Instead, ``flush_if_due`` runs on ``request_finished``
(after the response went out, so no page waits for it) and writes at most
once a minute, in bulk; and once more at exit.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from django.db import DatabaseError

from geo.health import note_error
from geo.lookup import pipeline
from geo.services import geo_cache_flush

log = logging.getLogger("bangui.geo")

FLUSH_INTERVAL = 60.0
# Flush early when this much is waiting, so memory stays bounded.
FLUSH_BACKLOG = 5_000

_lock = threading.Lock()
_last = time.monotonic()


def flush_if_due(**_: Any) -> None:
    """Flush when there is something to write and a minute has passed (or much is waiting)."""
    global _last
    mem = pipeline.memory_if_started()
    if mem is None:
        return
    pending = mem.dirty_count
    if not pending or (time.monotonic() - _last < FLUSH_INTERVAL and pending < FLUSH_BACKLOG):
        return
    if not _lock.acquire(blocking=False):
        return  # another thread is flushing
    try:
        _last = time.monotonic()
        geo_cache_flush()
    except DatabaseError as exc:
        note_error(f"geo cache flush failed, will retry: {exc}")
    finally:
        _lock.release()


def flush_at_exit() -> None:
    global _last
    _last = float("-inf")
    try:
        flush_if_due()
    except Exception:  # noqa: BLE001 - at exit, a lost cache entry is no reason to crash
        log.exception("geo: flush at exit failed")
