"""The dashboard over the history archive: the full page and its aggregates.

- ``GET /`` through Django's test client (whole stack: status cards, trend,
  top countries, bans per jail, first page of 50 with geo), default 24-hour
  range, with 10,000 archived bans inside that window.
- ``GET /?range=365d`` over 1,000,000 archived bans spread over a year (the
  window holds all of them): 53 weekly buckets, countries and jails grouped in
  SQL (the trend by a nested CASE on the bucket edges).
  Measured warm (the aggregates cached until a ban is archived, what the
  30-second refresh and repeated views see) and cold (cache cleared first).
- Baseline: the naive way for the same 365-day window, the rows fetched
  (``banned_at, country_code, jail``) and counted in Python (bisect for the
  bucket, Counter for countries and jails); only that, no HTML.
"""

from __future__ import annotations

import random
import time
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from .core import BenchContext, Row, interleaved
from .django_env import django_env
from .history import ARCHIVE_BANS, ARCHIVE_IPS, JAILS, _addresses, _empty_archive

WINDOW_BANS = 10_000
CALLS = 10
ROUNDS = 5
PAGE_GOAL = 0.150
YEAR_GOAL = 0.300


def archive_rows(count: int, span: timedelta) -> Iterator[tuple[Any, ...]]:
    """``count`` archived bans spread over the last ``span``: 10 columns, times as text.

    The columns of ``fill``'s INSERT; ``bench.pg`` copies the same rows into PostgreSQL.
    """
    rng = random.Random(11)
    ips = _addresses(rng, min(ARCHIVE_IPS, count))
    now = datetime.now(UTC) - timedelta(seconds=5)
    step = span.total_seconds() / count
    origins = ("detected",) * 8 + ("manual", "blocklist")
    countries = ("DE", "US", "CN", "RU", "BR", "NL", "FR", "IN", "GB", "VN", "KR", "")
    line = "Nov 25 05:22:27 host sshd[991]: Failed password for root from 198.51.100.7 port 51000"
    stamp = now.strftime("%Y-%m-%d %H:%M:%S")

    for n in range(count):
        at = now - timedelta(seconds=n * step)
        yield (
            ips[rng.randrange(len(ips))],
            JAILS[n % len(JAILS)],
            at.strftime("%Y-%m-%d %H:%M:%S.%f"),
            600,
            1 + n % 5,
            3,
            line,
            origins[n % len(origins)],
            countries[n % len(countries)],
            stamp,
        )


def fill(count: int, span: timedelta) -> float:
    """``count`` bans spread over the last ``span``, one raw executemany; seconds."""
    from django.db import connection, transaction

    from jails.models import BanRecord

    table = BanRecord._meta.db_table
    sql = (
        f"INSERT OR IGNORE INTO {table} (ip, jail, banned_at, bantime, bancount, failures, "
        "matches, origin, country_code, unbanned_by, synced_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, '', ?)"
    )
    started = time.perf_counter()
    with transaction.atomic():
        connection.ensure_connection()
        connection.connection.executemany(sql, archive_rows(count, span))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return time.perf_counter() - started


def naive_year() -> int:
    """The 365-day aggregates the naive way: every row of the window into Python."""
    from jails.dashboard.selectors import window
    from jails.models import BanRecord

    win = window("365d")
    rows = BanRecord.objects.filter(banned_at__gte=win.start, banned_at__lt=win.end).values_list(
        "banned_at", "country_code", "jail"
    )
    buckets = [0] * (len(win.edges) - 1)
    countries: Counter[str] = Counter()
    jails: Counter[str] = Counter()
    edges = win.edges
    for at, country, jail in rows.iterator(chunk_size=5000):
        buckets[bisect_right(edges, at) - 1] += 1
        countries[country] += 1
        jails[jail] += 1
    countries.most_common(10)
    jails.most_common()
    return sum(buckets)


def run(ctx: BenchContext) -> list[Row]:
    env = django_env(ctx)
    from jails.history.rollup import rollup_fill

    _empty_archive(keep_state=True)
    fill(WINDOW_BANS, timedelta(hours=23))
    rollup_fill()
    body = env.get("/")
    if b"Showing 1\xe2\x80\x9350 of 10000." not in body:
        raise RuntimeError("the dashboard does not show the 10,000 bans of the window")
    (page,) = interleaved([(lambda: env.get("/"), CALLS)], rounds=ROUNDS)

    _empty_archive(keep_state=True)
    seconds = fill(ARCHIVE_BANS, timedelta(days=364))
    ctx.notes.append(f"dashboard: {ARCHIVE_BANS:,} archived bans inserted in {seconds:.1f} s")
    if naive_year() != ARCHIVE_BANS or f"of {ARCHIVE_BANS}.".encode() not in env.get(
        "/?range=365d"
    ):
        raise RuntimeError("the 365-day dashboard or the naive count misses bans")
    from django.core.cache import cache

    def cold() -> bytes:
        cache.clear()  # as after a sync archived a ban: the aggregates are computed again
        return env.get("/?range=365d")

    # Before the first sync has rolled up the past days (fresh install, import).
    (no_rollup,) = interleaved([(cold, 4)], rounds=2, warmup=1)
    started = time.perf_counter()
    days = rollup_fill()
    ctx.notes.append(
        f"dashboard: {days} days rolled up in {time.perf_counter() - started:.1f} s "
        "(once, by the history sync)"
    )
    year, year_cold, naive = interleaved(
        [(lambda: env.get("/?range=365d"), 10), (cold, 5), (naive_year, 5)],
        rounds=ROUNDS,
        warmup=1,
    )
    _empty_archive(keep_state=True)
    return [
        Row(
            name=f"dashboard page, 24 h with {WINDOW_BANS:,} bans",
            ours=page.summary(median=True),
            baseline="-",
            goal=f"p95 ≤ {PAGE_GOAL * 1e3:.0f} ms",
            goal_met=page.p95 <= PAGE_GOAL,
        ),
        Row(
            name=f"dashboard page, 365 d over {ARCHIVE_BANS:,} bans (aggregates cached)",
            ours=year.summary(median=True),
            baseline="-",
            goal=f"p95 ≤ {YEAR_GOAL * 1e3:.0f} ms",
            goal_met=year.p95 <= YEAR_GOAL,
        ),
        Row(
            name=f"dashboard page, 365 d over {ARCHIVE_BANS:,}, cold (vs rows counted in Python)",
            ours=year_cold.summary(median=True),
            baseline=naive.summary(median=True),
            ratio=naive.median / year_cold.median,
            goal=f"p95 ≤ {YEAR_GOAL * 1e3:.0f} ms",
            goal_met=year_cold.p95 <= YEAR_GOAL,
        ),
        Row(
            name=f"dashboard page, 365 d over {ARCHIVE_BANS:,}, cold, before the daily rollup",
            ours=no_rollup.summary(median=True),
            baseline="-",
        ),
    ]
