"""The daily rollup: exact answers whatever is rolled up, kept in step with every write."""

from __future__ import annotations

import random
import zoneinfo
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from jails.dashboard.selectors import ban_trend, bans_by_jail, top_countries, window, window_counts
from jails.history.rollup import ArchiveCounts, rollup_fill
from jails.history.services import _Ban, _store, history_purge
from jails.models import BanDayCount, BanRecord, BanRollupDay

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
KOLKATA = zoneinfo.ZoneInfo("Asia/Kolkata")  # +05:30: local midnights are not UTC hours
# Two weeks after the spring DST change in Europe.
NOW = datetime(2026, 4, 12, 9, 15, tzinfo=UTC)

pytestmark = pytest.mark.django_db


def _scatter(count: int, days: int, *, seed: int = 5) -> None:
    """``count`` bans over the last ``days`` before NOW: mixed jails, origins, countries."""
    rng = random.Random(seed)
    BanRecord.objects.bulk_create(
        BanRecord(
            ip=f"198.51.100.{n % 250}",
            jail=rng.choice(["sshd", "nginx", "postfix"]),
            banned_at=NOW - timedelta(seconds=rng.randrange(days * 86400)),
            bantime=600,
            origin=rng.choice(["detected", "detected", "manual", "blocklist"]),
            country_code=rng.choice(["DE", "US", "CN", ""]),
        )
        for n in range(count)
    )


def _everything(key: str, zone: zoneinfo.ZoneInfo, **filters: str) -> tuple[object, ...]:
    win = window(key, now=NOW, zone=zone)
    counts = window_counts(win, **filters)  # type: ignore[arg-type]
    return (
        [b.count for b in ban_trend(win, counts=counts)],
        top_countries(counts),
        bans_by_jail(counts),
    )


@pytest.mark.parametrize("key", ["7d", "30d", "365d"])
@pytest.mark.parametrize("zone", [UTC, BERLIN, KOLKATA], ids=["utc", "berlin", "kolkata"])
def test_rolled_up_answers_equal_counting_every_ban(key: str, zone: zoneinfo.ZoneInfo) -> None:
    _scatter(3000, 400)
    before = [_everything(key, zone), _everything(key, zone, origin="manual", jail="sshd")]
    assert rollup_fill(now=NOW) > 300
    after = [_everything(key, zone), _everything(key, zone, origin="manual", jail="sshd")]
    assert after == before


def test_it_rolls_up_only_days_that_are_over() -> None:
    _scatter(200, 3)
    rollup_fill(now=NOW)
    days = set(BanRollupDay.objects.values_list("day", flat=True))
    assert NOW.date() not in days
    assert NOW.date() - timedelta(days=1) in days
    assert rollup_fill(now=NOW) == 0  # nothing left to do


def test_an_empty_archive_rolls_up_nothing() -> None:
    assert rollup_fill(now=NOW) == 0
    assert ArchiveCounts(NOW - timedelta(days=30), NOW).by("jail") == {}


def test_days_without_bans_are_rolled_up_as_zero() -> None:
    BanRecord.objects.create(
        ip="192.0.2.1", jail="sshd", banned_at=NOW - timedelta(days=10), bantime=60
    )
    rollup_fill(now=NOW)
    assert BanRollupDay.objects.count() == 10
    assert BanDayCount.objects.count() == 1


def test_a_rolled_up_year_counts_days_not_bans() -> None:
    _scatter(2000, 365)
    rollup_fill(now=NOW)
    win = window("365d", now=NOW, zone=UTC)
    with CaptureQueriesContext(connection) as ctx:
        counts = window_counts(win)
        ban_trend(win, counts=counts)
        top_countries(counts)
        bans_by_jail(counts)
    # Rolled-up days, per-day sums, today's COUNT, then countries and jails
    # (rollup + today each) and the country names: no query per bucket.
    assert len(ctx.captured_queries) <= 9


def test_archiving_a_ban_of_a_rolled_up_day_recounts_that_day() -> None:
    _scatter(300, 20)
    rollup_fill(now=NOW)
    old = NOW - timedelta(days=5)
    _store([_Ban("203.0.113.9", "sshd", old, 600, 1, 3, "", "detected")])
    assert not BanRollupDay.objects.filter(day=old.date()).exists()
    assert not BanDayCount.objects.filter(day=old.date()).exists()
    win = window("30d", now=NOW, zone=UTC)
    total = sum(b.count for b in ban_trend(win))
    assert total == BanRecord.objects.filter(banned_at__gte=win.start).count() == 301
    assert rollup_fill(now=NOW) == 1
    assert sum(b.count for b in ban_trend(win)) == 301


def test_purging_forgets_the_counts_of_purged_days() -> None:
    _scatter(500, 60)
    rollup_fill(now=NOW)
    history_purge(days=(datetime.now(UTC) - NOW).days + 30)
    cutoff_day = date.today() - timedelta(days=(datetime.now(UTC) - NOW).days + 30)
    assert not BanRollupDay.objects.filter(day__lte=cutoff_day).exists()
    win = window("365d", now=NOW, zone=UTC)
    assert sum(b.count for b in ban_trend(win)) == BanRecord.objects.count()
