"""Daily counts of the history archive, so long windows do not count every ban.

A year over a million bans is a million index entries to group by country and
by jail (~300 ms in SQLite); the same year read from ``BanDayCount`` is a few
thousand rows. The days are UTC days that are over. A time window is split
into whole rolled-up days, read from the counts, and the rest, counted in the
archive itself: the current day, the ragged ends of a window whose edges are
local midnights in a zone that is not UTC, and any day not rolled up yet. So
the answer is always exact; the rollup only makes it cheaper.

Consistency: every write to the archive (``rollup_invalidate``) and every fill
of a day run in a transaction holding the rollup lock (SQLite's IMMEDIATE
transactions already serialise writers; PostgreSQL takes a transaction-level
advisory lock), and a write deletes the marker and counts of the days it
touches. A count row therefore never disagrees with the archive.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from functools import reduce
from operator import or_

from django.db import connection, transaction
from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from jails.models import BanDayCount, BanRecord, BanRollupDay

DAY = timedelta(days=1)
# Enough for the dashboard's 365-day range and the map's year, with room.
ROLLUP_DAYS = 400
_LOCK_KEY = 0x42616E52  # "BanR": the PostgreSQL advisory lock of the rollup


def _lock() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def rollup_invalidate(moments: Iterable[datetime]) -> None:
    """Forget the counts of the UTC days holding ``moments`` (ban times written).

    Call it inside the transaction that writes the archive rows.
    """
    days = {m.astimezone(UTC).date() for m in moments}
    if not days:
        return
    _lock()
    BanRollupDay.objects.filter(day__in=days).delete()
    BanDayCount.objects.filter(day__in=days).delete()


def rollup_invalidate_until(moment: datetime) -> None:
    """Forget the counts of every day up to and including the one holding ``moment``."""
    last = moment.astimezone(UTC).date()
    _lock()
    BanRollupDay.objects.filter(day__lte=last).delete()
    BanDayCount.objects.filter(day__lte=last).delete()


def rollup_fill(*, now: datetime | None = None, days: int = ROLLUP_DAYS) -> int:
    """Count each finished UTC day of the last ``days`` not rolled up yet; returns how many.

    One short transaction per day (a day is one range of the ``banned_at``
    index), so the web process never waits long for the write lock.
    """
    today = (now or timezone.now()).astimezone(UTC).date()
    oldest = BanRecord.objects.order_by("banned_at").values_list("banned_at", flat=True).first()
    if oldest is None:
        return 0
    first = max(today - timedelta(days=days), oldest.astimezone(UTC).date())
    done = set(BanRollupDay.objects.filter(day__gte=first).values_list("day", flat=True))
    filled = 0
    day = first
    while day < today:
        if day not in done and _fill_day(day):
            filled += 1
        day += DAY
    return filled


def _fill_day(day: date) -> bool:
    lo = _day_start(day)
    with transaction.atomic():
        _lock()
        if BanRollupDay.objects.filter(day=day).exists():
            return False
        rows = (
            BanRecord.objects.filter(banned_at__gte=lo, banned_at__lt=lo + DAY)
            .order_by()
            .values("jail", "origin", "country_code")
            .annotate(n=Count("id"))
            .values_list("jail", "origin", "country_code", "n")
        )
        BanDayCount.objects.bulk_create(
            BanDayCount(day=day, jail=j, origin=o, country_code=c, count=n) for j, o, c, n in rows
        )
        BanRollupDay.objects.create(day=day)
    return True


class ArchiveCounts:
    """Counts of the archive's bans between two instants, rollup first.

    Built once per window: it reads which days are rolled up, then answers
    totals for the window or any sub-range of it (the trend's buckets).
    """

    def __init__(
        self, lo: datetime, hi: datetime, *, origin: str | None = None, jail: str | None = None
    ) -> None:
        self.lo, self.hi, self.origin, self.jail = lo, hi, origin, jail
        first, last = lo.astimezone(UTC).date(), hi.astimezone(UTC).date()
        self.done = set(
            BanRollupDay.objects.filter(day__gte=first, day__lte=last).values_list("day", flat=True)
        )

    def _split(
        self, lo: datetime, hi: datetime
    ) -> tuple[list[date], list[tuple[datetime, datetime]]]:
        """The rolled-up whole days in [lo, hi) and the ranges left to count raw."""
        days: list[date] = []
        raw: list[tuple[datetime, datetime]] = []
        cursor = lo
        day = lo.astimezone(UTC).date()
        if _day_start(day) < lo:
            day += DAY
        while _day_start(day) + DAY <= hi:
            if day in self.done:
                if cursor < _day_start(day):
                    raw.append((cursor, _day_start(day)))
                days.append(day)
                cursor = _day_start(day) + DAY
            day += DAY
        if cursor < hi:
            raw.append((cursor, hi))
        return days, raw

    def _filtered_counts(self, days: list[date]) -> QuerySet[BanDayCount]:
        # Only rolled-up days have count rows, so the span of ``days`` selects exactly them.
        counts = BanDayCount.objects.filter(day__gte=days[0], day__lte=days[-1]).order_by()
        if self.origin:
            counts = counts.filter(origin=self.origin)
        if self.jail:
            counts = counts.filter(jail=self.jail)
        return counts

    def raw(self, ranges: list[tuple[datetime, datetime]]) -> QuerySet[BanRecord]:
        spans = [Q(banned_at__gte=a, banned_at__lt=b) for a, b in ranges]
        records = BanRecord.objects.filter(reduce(or_, spans)).order_by()
        if self.origin:
            records = records.filter(origin=self.origin)
        if self.jail:
            records = records.filter(jail=self.jail)
        return records

    def by(self, field: str) -> dict[str, int]:
        """Bans in the window per value of ``field`` ("country_code" or "jail")."""
        days, ranges = self._split(self.lo, self.hi)
        totals: dict[str, int] = {}
        if days:
            for key, n in (
                self._filtered_counts(days)
                .values(field)
                .annotate(n=Sum("count"))
                .values_list(field, "n")
            ):
                totals[key] = totals.get(key, 0) + int(n)
        if ranges:
            for key, n in (
                self.raw(ranges).values(field).annotate(n=Count("id")).values_list(field, "n")
            ):
                totals[key] = totals.get(key, 0) + int(n)
        return totals

    def buckets(self, edges: list[datetime]) -> list[int]:
        """Bans per bucket between consecutive ``edges`` (inside the window)."""
        days, _ = self._split(self.lo, self.hi)
        per_day: dict[date, int] = {}
        if days:
            per_day = {
                d: int(n)
                for d, n in self._filtered_counts(days)
                .values("day")
                .annotate(n=Sum("count"))
                .values_list("day", "n")
            }
        result = []
        for lo, hi in zip(edges, edges[1:], strict=False):
            bucket_days, ranges = self._split(lo, hi)
            n = sum(per_day.get(d, 0) for d in bucket_days)
            # One COUNT per raw range: each a range scan of the covering index.
            n += sum(self.raw([r]).count() for r in ranges)
            result.append(n)
        return result
