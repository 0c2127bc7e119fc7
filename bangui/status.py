"""fail2ban health: the probe, the snapshot the health_check job keeps, and the read side."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from bangui.broker.client import BROKER_DOWN
from bangui.fail2ban import Fail2banBusy, Fail2banError
from bangui.fail2ban.configured import get_client
from bangui.models import ServerStatus

log = logging.getLogger("bangui.health")

_LIVE_CACHE_KEY = "bangui:status:live"
_LIVE_CACHE_SECONDS = 3
# Every page reads the status (the status bar, the recovery banner) and the polls every
# 10 s; the health job rewrites it every 30 s. One read a second serves all of them.
_SHOWN_CACHE_KEY = "bangui:status:shown"
_SHOWN_CACHE_SECONDS = 1


# A fail2ban that answered this recently and now only times out is busy, not gone.
BUSY_GRACE = timedelta(minutes=2)
_ROW_FIELDS = (
    "online",
    "busy",
    "version",
    "jail_count",
    "currently_banned",
    "currently_failed",
    "total_banned",
    "total_failed",
    "last_error",
    "checked_at",
    "answered_at",
)


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
    # Reachable but not answering in time; the counters are the last ones it gave.
    busy: bool = False
    busy_reason: str = ""
    answered_at: datetime | None = None

    @property
    def broker_down(self) -> bool:
        """Unreachable because BanGUI's root broker is (not fail2ban, whose state is unknown)."""
        return not self.online and self.last_error.startswith(BROKER_DOWN)


def status_invalidate() -> None:
    """Forget the cached live probe and the last read (the stored snapshot stays)."""
    cache.delete_many([_LIVE_CACHE_KEY, _SHOWN_CACHE_KEY])


def status_changed() -> StatusSnapshot:
    """BanGUI itself changed fail2ban (a ban, an unban, an import, a jail started, stopped
    or reloaded): probe and store now, so the status bar and the dashboard's cards agree
    with the page the change leads to instead of lagging up to a health interval."""
    return status_refresh(timeout=1.5)


def status_busy(reason: str, *, seconds: int = 60) -> None:
    """BanGUI itself keeps fail2ban busy for a while (a blocklist import): slow is not down.

    Called again and again by the long job (a heartbeat); when it stops, the mark
    runs out and a fail2ban that still does not answer is reported offline.
    """
    until = timezone.now() + timedelta(seconds=seconds)
    if not ServerStatus.objects.filter(pk=1).update(busy_until=until, busy_reason=reason[:200]):
        ServerStatus.objects.get_or_create(
            pk=1, defaults={"busy_until": until, "busy_reason": reason[:200]}
        )


def status_busy_end() -> None:
    ServerStatus.objects.filter(pk=1).update(busy_until=None, busy_reason="")


def probe(timeout: float = 3.0) -> StatusSnapshot:
    """Ask fail2ban now: version, jails, and summed counters (``short`` status)."""
    now = timezone.now()
    try:
        client = get_client(timeout=timeout)
        version = client.version()
        jails = client.jails()
        statuses = [client.jail_status(j) for j in jails]
    except Fail2banBusy as exc:
        return StatusSnapshot(online=True, busy=True, last_error=str(exc)[:500], checked_at=now)
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
        answered_at=now,
    )


def _judged(snap: StatusSnapshot, row: ServerStatus | None) -> StatusSnapshot:
    """A probe seen against what is known: a timeout is busy only while that is believable.

    Believable while BanGUI itself keeps fail2ban busy (``status_busy``), or for a
    short grace after its last answer; after that a silent fail2ban is offline.
    """
    if not snap.busy:
        return snap
    now = snap.checked_at or timezone.now()
    ours = row is not None and row.busy_until is not None and row.busy_until > now
    recent = row is not None and row.answered_at is not None and now - row.answered_at <= BUSY_GRACE
    if row is None or not (ours or recent):
        since = row.answered_at if row is not None else None
        said = f"; no answer since {timezone.localtime(since):%H:%M:%S}" if since else ""
        return replace(snap, online=False, busy=False, last_error=f"{snap.last_error}{said}")
    return replace(
        _from_row(row),
        online=True,
        busy=True,
        busy_reason=row.busy_reason if ours else "",
        last_error=snap.last_error,
        checked_at=now,
    )


def timeout_judged(error: str) -> StatusSnapshot:
    """What a probe that timed out means now: busy (still reachable) or offline."""
    snap = StatusSnapshot(online=True, busy=True, last_error=error, checked_at=timezone.now())
    return _judged(snap, ServerStatus.objects.filter(pk=1).first())


def status_refresh(timeout: float = 3.0) -> StatusSnapshot:
    """Probe fail2ban and store the snapshot; log when it goes offline or comes back."""
    row = ServerStatus.objects.filter(pk=1).first()
    snap = _judged(probe(timeout), row)
    row = row or ServerStatus(pk=1)
    was_online = row.online if row.checked_at else None
    fields = list(_ROW_FIELDS)
    if was_online is None or was_online != snap.online:
        row.changed_at = snap.checked_at
        fields.append("changed_at")
        if snap.online:
            log.info("fail2ban is online (version %s, %d jails)", snap.version, snap.jail_count)
        elif snap.broker_down:
            log.warning("fail2ban's state is unknown: %s", snap.last_error)
        else:
            log.warning("fail2ban is offline: %s", snap.last_error)
    if snap.busy and not row.busy:
        log.warning("fail2ban is busy: %s", snap.last_error)
    for field in _ROW_FIELDS:
        if field == "answered_at" and snap.answered_at is None:
            continue  # keep the last answer's time
        setattr(row, field, getattr(snap, field))
    if row._state.adding:
        row.save()
    else:
        # busy_until/busy_reason belong to status_busy(): never overwrite them here.
        row.save(update_fields=fields)
    status_invalidate()
    return _from_row(row)


def _from_row(row: ServerStatus, *, live: bool = False) -> StatusSnapshot:
    ours = row.busy_until is not None and row.busy_until > timezone.now()
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
        busy=row.busy,
        busy_reason=row.busy_reason if ours and row.busy else "",
        answered_at=row.answered_at,
    )


def snapshot_is_fresh(checked_at: datetime | None) -> bool:
    if checked_at is None:
        return False
    # Two and a half intervals: the scheduler runs jobs with up to 30 s of jitter.
    max_age = timedelta(seconds=settings.BANGUI_HEALTH_INTERVAL_SECONDS * 2.5)
    return timezone.now() - checked_at <= max_age


def current_status() -> StatusSnapshot:
    """What the pages show: the job's snapshot while it is fresh, else a live probe.

    A GET never writes: the live probe is only cached in memory for a few seconds, and
    what was read for a second.
    """
    shown: StatusSnapshot | None = cache.get(_SHOWN_CACHE_KEY)
    if shown is not None:
        return shown
    row = ServerStatus.objects.filter(pk=1).first()
    if row is not None and snapshot_is_fresh(row.checked_at):
        shown = _from_row(row)
        cache.set(_SHOWN_CACHE_KEY, shown, _SHOWN_CACHE_SECONDS)
        return shown
    cached: StatusSnapshot | None = cache.get(_LIVE_CACHE_KEY)
    if cached is not None:
        return cached
    live = replace(_judged(probe(), row), live=True)
    if row is not None and row.online == live.online:
        live = replace(live, changed_at=row.changed_at)
    cache.set(_LIVE_CACHE_KEY, live, _LIVE_CACHE_SECONDS)
    return live
