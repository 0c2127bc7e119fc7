"""When each source is imported next: hourly, daily or weekly at a local time.

One registry job (``blocklist_import``, every minute) imports the sources whose
``next_run_at`` has come; times are computed in BanGUI's configured time zone,
so "daily at 03:17" stays 03:17 across a DST change.
"""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime, timedelta, tzinfo

from django.utils import timezone

from bangui.models import AppSettings
from blocklists.models import BlocklistSource, ImportRun


def _zone() -> tzinfo:
    try:
        return zoneinfo.ZoneInfo(AppSettings.current().timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return UTC


def next_run_at(
    source: BlocklistSource, *, after: datetime, zone: tzinfo | None = None
) -> datetime | None:
    """The first scheduled start strictly after ``after``; None for manual or disabled sources."""
    if not source.enabled or source.schedule == BlocklistSource.Schedule.MANUAL:
        return None
    zone = zone or _zone()
    local = after.astimezone(zone)
    at = source.run_at
    if source.schedule == BlocklistSource.Schedule.HOURLY:
        wall = local.replace(tzinfo=None, minute=at.minute, second=0, microsecond=0)
        step = timedelta(hours=1)
    else:
        wall = datetime.combine(local.date(), at.replace(second=0, microsecond=0))
        step = timedelta(days=1)
        if source.schedule == BlocklistSource.Schedule.WEEKLY:
            wall += timedelta(days=(source.weekday - local.weekday()) % 7)
            step = timedelta(days=7)
    candidate = wall.replace(tzinfo=zone)
    while candidate <= after:
        wall += step
        candidate = wall.replace(tzinfo=zone)
    return candidate.astimezone(UTC)


def source_reschedule(source: BlocklistSource, *, now: datetime | None = None) -> None:
    source.next_run_at = next_run_at(source, after=now or timezone.now())
    source.save(update_fields=["next_run_at"])


def due_sources(*, now: datetime | None = None) -> list[BlocklistSource]:
    now = now or timezone.now()
    return list(
        BlocklistSource.objects.filter(enabled=True, next_run_at__lte=now)
        .exclude(schedule=BlocklistSource.Schedule.MANUAL)
        .exclude(runs__status__in=[ImportRun.Status.QUEUED, ImportRun.Status.RUNNING])
        .order_by("next_run_at", "name")
        .distinct()
    )
