"""fail2ban health: the probe, the snapshot the health_check job keeps, and the read side."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from bangui.fail2ban import Fail2banError
from bangui.fail2ban.configured import get_client
from bangui.models import ServerStatus

log = logging.getLogger("bangui.health")

_LIVE_CACHE_KEY = "bangui:status:live"
_LIVE_CACHE_SECONDS = 3


@dataclass(frozen=True)
class StatusSnapshot:
    online: bool
    version: str = ""
    jail_count: int = 0
    currently_banned: int = 0
    currently_failed: int = 0
    total_banned: int = 0
    total_failed: int = 0
    last_error: str = ""
    checked_at: datetime | None = None
    changed_at: datetime | None = None
    # True when the job scheduler has not refreshed the snapshot lately and
    # this came from a live probe by the web process instead.
    live: bool = False


def status_invalidate() -> None:
    """Forget the cached live probe (after an action that changed fail2ban's counts)."""
    cache.delete(_LIVE_CACHE_KEY)


def probe() -> StatusSnapshot:
    """Ask fail2ban now: version, jails, and summed counters (``short`` status)."""
    now = timezone.now()
    try:
        client = get_client(timeout=3.0)
        version = client.version()
        jails = client.jails()
        statuses = [client.jail_status(j) for j in jails]
    except Fail2banError as exc:
        return StatusSnapshot(online=False, last_error=str(exc)[:500], checked_at=now)
    return StatusSnapshot(
        online=True,
        version=version,
        jail_count=len(jails),
        currently_banned=sum(s.currently_banned for s in statuses),
        currently_failed=sum(s.currently_failed for s in statuses),
        total_banned=sum(s.total_banned for s in statuses),
        total_failed=sum(s.total_failed for s in statuses),
        checked_at=now,
    )


def status_refresh() -> StatusSnapshot:
    """Probe fail2ban and store the snapshot; log when it goes offline or comes back."""
    snap = probe()
    row = ServerStatus.objects.filter(pk=1).first() or ServerStatus(pk=1)
    was_online = row.online if row.checked_at else None
    if was_online is None or was_online != snap.online:
        row.changed_at = snap.checked_at
        if snap.online:
            log.info("fail2ban is online (version %s, %d jails)", snap.version, snap.jail_count)
        else:
            log.warning("fail2ban is offline: %s", snap.last_error)
    for field in (
        "online",
        "version",
        "jail_count",
        "currently_banned",
        "currently_failed",
        "total_banned",
        "total_failed",
        "last_error",
        "checked_at",
    ):
        setattr(row, field, getattr(snap, field))
    row.save()
    status_invalidate()
    return _from_row(row)


def _from_row(row: ServerStatus, *, live: bool = False) -> StatusSnapshot:
    return StatusSnapshot(
        online=row.online,
        version=row.version,
        jail_count=row.jail_count,
        currently_banned=row.currently_banned,
        currently_failed=row.currently_failed,
        total_banned=row.total_banned,
        total_failed=row.total_failed,
        last_error=row.last_error,
        checked_at=row.checked_at,
        changed_at=row.changed_at,
        live=live,
    )


def snapshot_is_fresh(checked_at: datetime | None) -> bool:
    if checked_at is None:
        return False
    # Two and a half intervals: the scheduler runs jobs with up to 30 s of jitter.
    max_age = timedelta(seconds=settings.BANGUI_HEALTH_INTERVAL_SECONDS * 2.5)
    return timezone.now() - checked_at <= max_age


def current_status() -> StatusSnapshot:
    """What the pages show: the job's snapshot while it is fresh, else a live probe.

    A GET never writes: the live probe is only cached in memory for a few seconds.
    """
    row = ServerStatus.objects.filter(pk=1).first()
    if row is not None and snapshot_is_fresh(row.checked_at):
        return _from_row(row)
    cached: StatusSnapshot | None = cache.get(_LIVE_CACHE_KEY)
    if cached is not None:
        return cached
    snap = probe()
    live = StatusSnapshot(**{**snap.__dict__, "live": True})
    if row is not None and row.online == snap.online:
        live = StatusSnapshot(**{**live.__dict__, "changed_at": row.changed_at})
    cache.set(_LIVE_CACHE_KEY, live, _LIVE_CACHE_SECONDS)
    return live
