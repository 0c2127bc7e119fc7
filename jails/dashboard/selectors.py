"""Reads for the dashboard: the time window, the ban trend, top countries, bans per jail.

Everything is aggregated in SQL: whole past days from the daily rollup
(``jails.history.rollup``), the rest over the ``banned_at`` index. The trend's bucket
edges are built in the configured time zone (local midnights and quarters of
the day, so a DST day's bucket is 23 or 25 hours long) and converted to UTC.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from django.core.cache import cache
from django.db.models import QuerySet
from django.utils import timezone

from bangui.models import AppSettings
from geo.info import flag
from geo.worldmap import country_name
from jails.history.ranges import DAY, HOUR, RANGES, RangeSpec
from jails.history.rollup import ArchiveCounts
from jails.history.selectors import DEFAULT_SORT, SORTS, archive_token
from jails.models import BanRecord

DEFAULT_RANGE = "24h"
TOP_COUNTRIES = 10
TOP_JAILS = 15


@dataclass(frozen=True)
class Window:
    """The time window of a range: ``edges`` are the bucket edges in UTC (buckets + 1)."""

    key: str
    spec: RangeSpec
    edges: list[datetime]
    zone: tzinfo

    @property
    def start(self) -> datetime:
        return self.edges[0]

    @property
    def end(self) -> datetime:
        return self.edges[-1]


def configured_zone() -> tzinfo:
    try:
        return zoneinfo.ZoneInfo(AppSettings.current().timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return UTC


def _floor_wall(local: datetime, step: timedelta) -> datetime:
    """The naive local wall time at the start of the step holding ``local``."""
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=None)
    if step >= DAY:
        return midnight
    hours = int(step / HOUR)
    return midnight + timedelta(hours=local.hour // hours * hours)


def window(key: str, *, now: datetime | None = None, zone: tzinfo | None = None) -> Window:
    """The buckets of a range preset; the last one holds ``now``.

    Wall-clock buckets: edges are local times (midnights, 00/06/12/18 h) made
    aware in ``zone`` and converted to UTC, so they stay on local boundaries
    across a DST change. Hourly buckets are real hours starting on a local hour.
    """
    spec = RANGES.get(key) or RANGES[DEFAULT_RANGE]
    zone = zone or configured_zone()
    now = now or timezone.now()
    local = now.astimezone(zone)
    if spec.wall_clock:
        end_wall = _floor_wall(local, spec.step) + spec.step
        walls = [end_wall - k * spec.step for k in range(spec.buckets, -1, -1)]
        edges = [w.replace(tzinfo=zone).astimezone(UTC) for w in walls]
    else:
        start_hour = local.replace(minute=0, second=0, microsecond=0).astimezone(UTC)
        end = start_hour + spec.step
        edges = [end - k * spec.step for k in range(spec.buckets, -1, -1)]
    return Window(key=key if key in RANGES else DEFAULT_RANGE, spec=spec, edges=edges, zone=zone)


def bans_in_window(
    win: Window, *, origin: str | None = None, jail: str | None = None
) -> QuerySet[BanRecord]:
    records = BanRecord.objects.filter(banned_at__gte=win.start, banned_at__lt=win.end)
    if origin:
        records = records.filter(origin=origin)
    if jail:
        records = records.filter(jail=jail)
    return records


@dataclass(frozen=True)
class Bucket:
    start: datetime  # UTC
    end: datetime
    count: int


def window_counts(
    win: Window, *, origin: str | None = None, jail: str | None = None
) -> ArchiveCounts:
    return ArchiveCounts(win.start, win.end, origin=origin, jail=jail)


def ban_trend(
    win: Window,
    *,
    origin: str | None = None,
    jail: str | None = None,
    counts: ArchiveCounts | None = None,
) -> list[Bucket]:
    """Bans per bucket of the window, every bucket present (empty ones are zero).

    Rolled-up days are summed per day; what is left of a bucket is one
    ``COUNT(*)`` per range of the covering ``banned_at`` index. A ``GROUP BY``
    on a bucket expression instead builds a temporary B-tree over every row of
    the window (750 ms against 50 ms for a year of a million bans in SQLite).
    """
    counts = counts or window_counts(win, origin=origin, jail=jail)
    totals = counts.buckets(win.edges)
    return [
        Bucket(start=lo, end=hi, count=n)
        for lo, hi, n in zip(win.edges, win.edges[1:], totals, strict=False)
    ]


@dataclass(frozen=True)
class Share:
    key: str
    label: str
    count: int


@dataclass(frozen=True)
class CountryShares:
    top: list[Share]
    unknown: int


def top_countries(counts: ArchiveCounts, limit: int = TOP_COUNTRIES) -> CountryShares:
    """The countries with the most bans, and how many bans have no country."""
    rows = list(counts.by("country_code").items())
    unknown = sum(n for code, n in rows if not code)
    known = sorted(((c, n) for c, n in rows if c), key=lambda r: (-r[1], r[0]))[:limit]
    top = [Share(key=c, label=f"{flag(c)} {country_name(c)}".strip(), count=n) for c, n in known]
    return CountryShares(top=top, unknown=unknown)


def bans_by_jail(counts: ArchiveCounts, limit: int = TOP_JAILS) -> list[Share]:
    rows = counts.by("jail").items()
    ordered = sorted(rows, key=lambda r: (-r[1], r[0]))[:limit]
    return [Share(key=j, label=j, count=n) for j, n in ordered]


def ban_list(records: QuerySet[BanRecord], sort: str = DEFAULT_SORT) -> QuerySet[BanRecord]:
    return records.order_by(*SORTS.get(sort, SORTS[DEFAULT_SORT]))


def first_line(matches: str, limit: int = 160) -> str:
    line = next((part.strip() for part in matches.splitlines() if part.strip()), "")
    return line if len(line) <= limit else line[: limit - 1] + "…"


AGGREGATE_CACHE_SECONDS = 300


@dataclass(frozen=True)
class DashboardData:
    """A window's bans (to page through) and their aggregates."""

    window: Window
    records: QuerySet[BanRecord]
    trend: list[Bucket]
    countries: CountryShares
    jails: list[Share]

    @property
    def total(self) -> int:
        return sum(b.count for b in self.trend)


def dashboard_data(
    key: str, *, origin: str | None, jail: str | None, now: datetime | None = None
) -> DashboardData:
    """The window and its aggregates for one set of filters.

    The aggregates are cached until the archive changes (the key holds
    ``archive_token``: a ban archived, a ban marked lifted, the purge) or the window
    moves on to its next bucket; five minutes at most.
    """
    win = window(key, now=now)
    records = bans_in_window(win, origin=origin, jail=jail)
    version, newest = archive_token()  # before the counts: never older than the key says
    cache_key = (
        f"bangui:dash:{win.key}:{win.start.timestamp():.0f}:{win.end.timestamp():.0f}:"
        f"{origin or ''}:{jail or ''}:{version}:{newest}"
    )
    found = cache.get(cache_key)
    if found is None:
        # Separate queries for trend, countries and jails: each reads one narrow
        # index (a GROUP BY over bucket, country and jail together sorts the
        # whole window, 2x slower).
        counts = window_counts(win, origin=origin, jail=jail)
        found = (
            ban_trend(win, counts=counts),
            top_countries(counts),
            bans_by_jail(counts),
        )
        cache.set(cache_key, found, AGGREGATE_CACHE_SECONDS)
    trend, countries, jails = found
    return DashboardData(window=win, records=records, trend=trend, countries=countries, jails=jails)
