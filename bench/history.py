"""The ban history archive: sync, the history page over a million rows, the CSV export.

- First sync: ``jails.history.history_sync(db_path=...)`` copies a fail2ban
  database (schema 4, built here, no server) of 100,000 bans over 7 days,
  5 jails, 20,000 addresses (half the bans on 2,000 of them), 3 matched lines
  each, into an empty archive. Also reported: the longest single read of
  fail2ban's database (``SyncResult.longest_read_ms``), and an idle tick (the
  next sync, with nothing new but the 10-minute overlap it reads again).
- The history page: ``GET /history/?ip=198.51.`` (an IP prefix, 5% of the
  rows) through Django's test client, whole stack, over 1,000,000 archived
  bans (inserted with one raw ``executemany``).
- Baseline for the page: what a GUI without an archive does on every page
  view, straight on fail2ban's database (the 100,000-row file): a count and
  the newest 100 bans for ``ip LIKE '198.51.%'``, then a GROUP BY for the ban
  counts of the addresses shown; one read-only connection per view. Only the
  queries are timed, no HTML.
- The archive in Django's admin: ``GET /admin/jails/banrecord/`` over the same
  1,000,000 rows, first page, filtered by origin, and searched by the IP prefix
  (whole stack, logged in as the setup's admin). The paginator counts no further
  than 10,000 rows (``bangui.admin_paginator``), so no page counts a million.
- CSV export of all 1,000,000 rows: the streamed response consumed chunk by
  chunk; the resident set (VmRSS) is sampled throughout. Baseline: the same
  CSV built in memory (``list(values_list)`` then one string), as a plain
  HttpResponse would.
"""

from __future__ import annotations

import csv
import io
import json
import random
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import quote

from .core import BenchContext, Row, fmt_seconds, interleaved, time_calls
from .django_env import django_env

F2B_BANS = 100_000
F2B_DAYS = 7
F2B_IPS = 20_000
F2B_HEAVY_IPS = 2_000
JAILS = ("sshd", "nginx-http-auth", "postfix", "dovecot", "recidive")
ARCHIVE_BANS = 1_000_000
ARCHIVE_DAYS = 365
ARCHIVE_IPS = 200_000
# 20 /16 blocks; "198.51." is one of them, so the prefix filter matches about 5%.
BLOCKS = [(198, 51), *((10 + 9 * k, 3 + 11 * k) for k in range(19))]
PREFIX = "198.51."
CIDR = "198.51.112.0/20"
FIRST_SYNC_RUNS = 3
TICKS = 50
CALLS = 20
ROUNDS = 10
FIRST_SYNC_GOAL = 5.0
TICK_GOAL = 0.020
READ_GOAL_MS = 200.0
PAGE_GOAL = 0.200
ADMIN_GOAL = 0.300
ADMIN_ARCHIVE = "/admin/jails/banrecord/"

F2B_SCHEMA = """
CREATE TABLE fail2banDb(version INTEGER);
CREATE TABLE jails(name TEXT NOT NULL UNIQUE, enabled INTEGER NOT NULL DEFAULT 1);
CREATE INDEX jails_name ON jails(name);
CREATE TABLE logs(jail TEXT NOT NULL, path TEXT, firstlinemd5 TEXT, lastfilepos INTEGER DEFAULT 0,
  FOREIGN KEY(jail) REFERENCES jails(name) ON DELETE CASCADE, UNIQUE(jail, path),
  UNIQUE(jail, path, firstlinemd5));
CREATE INDEX logs_path ON logs(path);
CREATE INDEX logs_jail_path ON logs(jail, path);
CREATE TABLE bans(jail TEXT NOT NULL, ip TEXT, timeofban INTEGER NOT NULL, bantime INTEGER NOT NULL,
  bancount INTEGER NOT NULL default 1, data JSON, FOREIGN KEY(jail) REFERENCES jails(name));
CREATE INDEX bans_jail_timeofban_ip ON bans(jail, timeofban);
CREATE INDEX bans_jail_ip ON bans(jail, ip);
CREATE INDEX bans_ip ON bans(ip);
CREATE TABLE bips(ip TEXT NOT NULL, jail TEXT NOT NULL, timeofban INTEGER NOT NULL,
  bantime INTEGER NOT NULL, bancount INTEGER NOT NULL default 1, data JSON,
  PRIMARY KEY(ip, jail), FOREIGN KEY(jail) REFERENCES jails(name));
CREATE INDEX bips_timeofban ON bips(timeofban);
CREATE INDEX bips_ip ON bips(ip);
INSERT INTO fail2banDb(version) VALUES (4);
"""


def _addresses(rng: random.Random, count: int) -> list[str]:
    found: set[str] = set()
    while len(found) < count:
        a, b = rng.choice(BLOCKS)
        found.add(f"{a}.{b}.{rng.randrange(256)}.{rng.randrange(1, 255)}")
    return sorted(found)


def _lines(ip: str, n: int) -> list[Any]:
    """Three matched lines as fail2ban stores them (the first one split in parts)."""
    text = [
        f"Nov 25 05:22:{27 + i:02d} host sshd[{991 + i}]: Failed password for root from {ip} "
        f"port {51000 + n % 1000 + i} ssh2"
        for i in range(3)
    ]
    return [["", text[0][:15], text[0][15:]], *text[1:]]


def build_f2b_db(path: Path, now: int) -> None:
    """fail2ban's database as 1.0.2 writes it, with 100,000 bans over the last 7 days."""
    rng = random.Random(42)
    ips = _addresses(rng, F2B_IPS)
    heavy = ips[:F2B_HEAVY_IPS]
    conn = sqlite3.connect(path)
    conn.executescript(F2B_SCHEMA)
    conn.executemany("INSERT INTO jails(name) VALUES (?)", [(j,) for j in JAILS])
    span = F2B_DAYS * 86400

    def rows() -> Iterator[tuple[Any, ...]]:
        for n in range(F2B_BANS):
            ip = heavy[rng.randrange(len(heavy))] if n % 2 else ips[rng.randrange(len(ips))]
            data = {"matches": _lines(ip, n), "failures": 3, "ip4": ip, "user": "root"}
            yield (
                JAILS[n % len(JAILS)],
                ip,
                now - span + (span * n) // F2B_BANS,
                600,
                1 + n % 4,
                json.dumps(data).encode(),
            )

    with conn:
        conn.executemany("INSERT INTO bans VALUES (?, ?, ?, ?, ?, ?)", rows())
    conn.close()


def naive_page_view(path: Path, prefix: str) -> int:
    """One history page read straight from fail2ban's database; rows shown."""
    conn = sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True, timeout=2)
    try:
        like = prefix + "%"
        conn.execute("SELECT COUNT(*) FROM bans WHERE ip LIKE ?", (like,)).fetchone()
        rows = conn.execute(
            "SELECT jail, ip, timeofban, bantime, bancount, data FROM bans WHERE ip LIKE ? "
            "ORDER BY timeofban DESC LIMIT 100",
            (like,),
        ).fetchall()
        ips = sorted({r[1] for r in rows})
        marks = ",".join("?" * len(ips))
        conn.execute(
            f"SELECT ip, COUNT(*) FROM bans WHERE ip IN ({marks}) GROUP BY ip", ips
        ).fetchall()
        return len(rows)
    finally:
        conn.close()


def _empty_archive(*, keep_state: bool = False) -> None:
    """No archived bans; with ``keep_state`` the sync still knows how far it got."""
    from django.db import connection

    from jails.models import BanDayCount, BanRecord, BanRollupDay, HistorySyncState

    with connection.cursor() as cursor:
        for model in (BanRecord, BanDayCount, BanRollupDay):
            cursor.execute(f"DELETE FROM {model._meta.db_table}")
    if not keep_state:
        HistorySyncState.objects.all().delete()


def fill_archive(count: int) -> float:
    """``count`` archived bans over a year, one raw executemany; seconds taken."""

    rng = random.Random(7)
    ips = _addresses(rng, ARCHIVE_IPS)
    now = datetime.now(UTC)
    step = ARCHIVE_DAYS * 86400 / count
    origins = ("detected",) * 8 + ("manual", "blocklist")
    countries = ("DE", "US", "CN", "RU", "BR", "NL", "FR", "IN", "")
    lines = "\n".join(
        f"Nov 25 05:22:2{i} host sshd[99{i}]: Failed password for root from 198.51.100.7 port 5{i}"
        for i in range(3)
    )
    stamp = now.strftime("%Y-%m-%d %H:%M:%S")

    def rows() -> Iterator[tuple[Any, ...]]:
        for n in range(count):
            at = now - timedelta(seconds=int(n * step))
            yield (
                ips[rng.randrange(len(ips))],
                JAILS[n % len(JAILS)],
                at.strftime("%Y-%m-%d %H:%M:%S"),
                600,
                1 + n % 5,
                3,
                lines,
                origins[n % len(origins)],
                countries[n % len(countries)],
                None,
                None,
                "",
                stamp,
            )

    return insert_archive(rows())


def insert_archive(rows: Iterable[tuple[Any, ...]]) -> float:
    """Insert raw BanRecord rows (13 columns, SQLite text times) with one executemany."""
    from django.db import connection, transaction

    from jails.models import BanRecord

    table = BanRecord._meta.db_table
    sql = (
        f"INSERT OR IGNORE INTO {table} (ip, jail, banned_at, bantime, bancount, failures, "
        "matches, origin, country_code, asn, unbanned_at, unbanned_by, synced_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    )
    started = time.perf_counter()
    with transaction.atomic():
        connection.ensure_connection()
        connection.connection.executemany(sql, rows)
    return time.perf_counter() - started


def _rss_kib() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def _mib(kib: float) -> str:
    return f"{kib / 1024:,.1f} MiB"


def stream_export(client: Any) -> tuple[float, int, int, int]:
    """Consume the streamed CSV export: seconds, lines, bytes, peak RSS growth (KiB)."""
    start_rss = peak = _rss_kib()
    started = time.perf_counter()
    response = client.get("/history/export/?format=csv")
    if response.status_code != 200 or not response.streaming:
        raise RuntimeError(f"export: HTTP {response.status_code}, streaming={response.streaming}")
    lines = size = 0
    for pieces, chunk in enumerate(response.streaming_content, start=1):
        lines += chunk.count(b"\r\n")
        size += len(chunk)
        if pieces % 10 == 0:
            peak = max(peak, _rss_kib())
    response.close()
    peak = max(peak, _rss_kib())
    return time.perf_counter() - started, lines, size, peak - start_rss


def buffered_export() -> tuple[float, int, int]:
    """The same CSV built in memory first: seconds, bytes, RSS growth (KiB)."""
    from jails.history.export import FIELDS
    from jails.models import BanRecord

    start_rss = _rss_kib()
    started = time.perf_counter()
    rows = list(BanRecord.objects.order_by("-banned_at", "-id").values_list(*FIELDS))
    peak = _rss_kib()
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(FIELDS)
    writer.writerows(rows)
    body = buffer.getvalue().encode()
    peak = max(peak, _rss_kib())
    seconds = time.perf_counter() - started
    size = len(body)
    del rows, buffer, body
    return seconds, size, peak - start_rss


def run(ctx: BenchContext) -> list[Row]:
    env = django_env(ctx)
    from jails.history.services import history_sync

    work = Path(tempfile.mkdtemp(prefix="bangui-bench-history-"))
    ctx.add_cleanup(lambda: shutil.rmtree(work, ignore_errors=True))
    f2b_db = work / "fail2ban.sqlite3"
    build_f2b_db(f2b_db, int(time.time()))
    path = str(f2b_db)

    # 1. First sync into an empty archive, then idle ticks.
    first: list[float] = []
    longest = 0.0
    for _ in range(FIRST_SYNC_RUNS):
        _empty_archive()
        started = time.perf_counter()
        result = history_sync(db_path=path, backfill_days=F2B_DAYS + 1)
        first.append(time.perf_counter() - started)
        if not result.ok or result.added != F2B_BANS:
            raise RuntimeError(f"first sync: {result}")
        longest = max(longest, result.longest_read_ms)
    ticks = time_calls(lambda: history_sync(db_path=path), TICKS)
    tick_sorted = sorted(ticks)
    tick_median, tick_p95 = tick_sorted[len(ticks) // 2 - 1], tick_sorted[int(0.95 * TICKS) - 1]

    # 2. The history page over a million archived bans, against the naive page view.
    _empty_archive(keep_state=True)
    fill_seconds = fill_archive(ARCHIVE_BANS)
    ctx.notes.append(f"history: {ARCHIVE_BANS:,} archived bans inserted in {fill_seconds:.1f} s")
    page_url = f"/history/?ip={PREFIX}"
    if b"ip=198.51." not in env.get(page_url) or naive_page_view(f2b_db, PREFIX) != 100:
        raise RuntimeError("the history page or the naive query shows no rows")
    pages = interleaved(
        [
            (lambda: env.get(page_url), CALLS),
            (lambda: naive_page_view(f2b_db, PREFIX), CALLS),
            (lambda: env.get(f"/history/?ip={CIDR}"), CALLS),
            (lambda: env.get("/history/?sort=-bancount"), CALLS),
            (lambda: env.get("/history/?page=200"), CALLS),
        ],
        rounds=ROUNDS,
    )
    ours, naive, cidr, by_count, deep = pages
    admin_views = {
        "first page": ADMIN_ARCHIVE,
        "origin=manual": f"{ADMIN_ARCHIVE}?origin__exact=manual",
        f"search {PREFIX}": f"{ADMIN_ARCHIVE}?q={PREFIX}",
    }
    if b"10,000+" not in env.get(ADMIN_ARCHIVE):
        raise RuntimeError("the archive's admin changelist does not show its capped count")
    admin_stats = interleaved(
        [(partial(env.get, url), CALLS) for url in admin_views.values()], rounds=ROUNDS
    )
    history_sync(db_path=path)  # the overlap rows deleted with the small archive come back
    big_ticks = sorted(time_calls(lambda: history_sync(db_path=path), 10))

    # 3. The CSV export of all of them, streamed; then built in memory.
    from jails.models import BanRecord

    archived = BanRecord.objects.count()
    seconds, lines, size, growth = stream_export(env.client)
    if lines != archived + 1:
        raise RuntimeError(f"export: {lines} lines, expected {archived + 1}")
    buf_seconds, buf_size, buf_growth = buffered_export()

    first_mean = sum(first) / len(first)
    return [
        Row(
            name=f"history: first sync of {F2B_BANS:,} bans ({len(JAILS)} jails)",
            ours=f"mean {fmt_seconds(first_mean)} / max {fmt_seconds(max(first))} "
            f"({FIRST_SYNC_RUNS}×)",
            baseline="-",
            goal=f"≤ {FIRST_SYNC_GOAL:.0f} s",
            goal_met=max(first) <= FIRST_SYNC_GOAL,
        ),
        Row(
            name="history: longest single read of fail2ban's DB",
            ours=f"{longest:.1f} ms",
            baseline=f"{naive.median * 1e3:.1f} ms per naive page view",
            goal=f"≤ {READ_GOAL_MS:.0f} ms",
            goal_met=longest <= READ_GOAL_MS,
        ),
        Row(
            name=f"history: idle sync tick ({F2B_BANS:,} archived)",
            ours=f"median {fmt_seconds(tick_median)} / p95 {fmt_seconds(tick_p95)} ({TICKS}×)",
            baseline="-",
            goal=f"median ≤ {TICK_GOAL * 1e3:.0f} ms",
            goal_met=tick_median <= TICK_GOAL,
        ),
        Row(
            name=f"history: idle sync tick ({ARCHIVE_BANS:,} archived)",
            ours=f"median {fmt_seconds(big_ticks[4])} / max {fmt_seconds(big_ticks[-1])} (10×)",
            baseline="-",
        ),
        Row(
            name=f"history page, ip={PREFIX} over {ARCHIVE_BANS:,} (vs fail2ban's DB)",
            ours=ours.summary(median=True),
            baseline=naive.summary(median=True),
            ratio=naive.median / ours.median,
            goal=f"p95 ≤ {PAGE_GOAL * 1e3:.0f} ms",
            goal_met=ours.p95 <= PAGE_GOAL,
        ),
        Row(
            name=f"history page, ip={CIDR} over {ARCHIVE_BANS:,}",
            ours=cidr.summary(median=True),
            baseline="-",
            goal=f"p95 ≤ {PAGE_GOAL * 1e3:.0f} ms",
            goal_met=cidr.p95 <= PAGE_GOAL,
        ),
        Row(
            name=f"history page, sorted by ban count, {ARCHIVE_BANS:,}",
            ours=by_count.summary(median=True),
            baseline="-",
        ),
        Row(
            name=f"history page 200 (offset 19,900), {ARCHIVE_BANS:,}",
            ours=deep.summary(median=True),
            baseline="-",
        ),
        *(
            Row(
                name=f"admin: archive changelist, {view}, {ARCHIVE_BANS:,}",
                ours=stats.summary(median=True),
                baseline="-",
                goal=f"p95 ≤ {ADMIN_GOAL * 1e3:.0f} ms",
                goal_met=stats.p95 <= ADMIN_GOAL,
            )
            for view, stats in zip(admin_views, admin_stats, strict=True)
        ),
        Row(
            name=f"CSV export of {ARCHIVE_BANS:,} bans: peak RSS growth",
            ours=f"{_mib(growth)} in {seconds:.1f} s ({size / 2**20:,.0f} MiB sent)",
            baseline=f"{_mib(buf_growth)} in {buf_seconds:.1f} s (built in memory)",
            ratio=buf_growth / max(growth, 1024),
            goal="≤ 50 MiB",
            goal_met=growth <= 50 * 1024,
        ),
    ]
