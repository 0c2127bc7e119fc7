"""The history archive: copying fail2ban's ``bans`` table into BanRecord.

fail2ban's DB is not ours: it is opened read-only for each short query
(fail2ban uses no WAL, and a read held open for seconds makes it lose bans),
every read is a bounded chunk, and the longest read is recorded.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple, TypeVar

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from bangui.fail2ban import Fail2banClient, Fail2banError
from bangui.fail2ban.db import SCHEMA_VERSION
from bangui.fail2ban.dbreader import DbReader
from bangui.fail2ban.host import fail2ban_db
from bangui.metrics.counters import ARCHIVE_ROWS, counter_add, counter_known, counter_set
from bangui.pagecache import ARCHIVE, version_bump
from geo.services import geo_resolve_many
from jails.history.rollup import rollup_fill, rollup_invalidate, rollup_invalidate_until
from jails.models import BLOCKLIST_JAIL, MANUAL_JAIL, BanRecord, HistorySyncState

log = logging.getLogger("bangui.history")
_T = TypeVar("_T")

# Rows per read of fail2ban's DB: about 50 ms each, far below the 200 ms limit,
# and few enough commits on our side.
CHUNK = 10_000
# fail2ban writes bans to its DB from a queue, a little after the ban; rows
# this much older than the high-water mark are read again (duplicates are ignored).
OVERLAP = timedelta(minutes=10)
MAX_MATCHES = 10
MAX_MATCH_CHARS = 4000


@dataclass
class SyncResult:
    ok: bool
    added: int = 0
    read: int = 0
    longest_read_ms: float = 0.0
    error: str = ""


class _Reader:
    """Short read-only queries on fail2ban's DB (directly or by the broker), timed."""

    def __init__(self, db: DbReader) -> None:
        self.db = db
        self.longest_ms = 0.0

    def read(self, fn: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            self.longest_ms = max(self.longest_ms, (time.perf_counter() - start) * 1000)


def _decode(data: Any) -> dict[str, Any]:
    if data is None:
        return {}
    try:
        value = json.loads(data.decode() if isinstance(data, bytes) else data)
    except (ValueError, UnicodeDecodeError):
        return {}
    return value if isinstance(value, dict) else {}


def _matches(info: dict[str, Any]) -> str:
    lines = []
    for item in info.get("matches") or []:
        # fail2ban stores some lines as a list of parts.
        line = "".join(str(p) for p in item) if isinstance(item, list) else str(item)
        lines.append(line[:MAX_MATCH_CHARS])
        if len(lines) == MAX_MATCHES:
            break
    return "\n".join(lines)


def origin_of(jail: str, failures: int, matches: str) -> str:
    if jail == BLOCKLIST_JAIL or jail.startswith(BLOCKLIST_JAIL + "-"):
        # blocklist-import-7d and the like: sources with their own ban time.
        return BanRecord.Origin.BLOCKLIST
    if jail == MANUAL_JAIL or (failures == 0 and not matches):
        # A ban without failures came from `banip`: a person or a script.
        return BanRecord.Origin.MANUAL
    return BanRecord.Origin.DETECTED


class _Ban(NamedTuple):
    """One row to archive; plain tuples, since model instances cost 17 µs each."""

    ip: str
    jail: str
    banned_at: datetime
    bantime: int
    bancount: int
    failures: int
    matches: str
    origin: str


def _record(jail: str, ip: str, timeofban: int, bantime: int, bancount: int, data: Any) -> _Ban:
    info = _decode(data)
    try:
        failures = int(info.get("failures") or 0)
    except (TypeError, ValueError):
        failures = 0
    matches = _matches(info)
    return _Ban(
        ip=str(ip)[:64],
        jail=str(jail)[:64],
        banned_at=datetime.fromtimestamp(int(timeofban), tz=UTC),
        bantime=int(bantime),
        bancount=max(1, int(bancount or 1)),
        failures=max(0, failures),
        matches=matches,
        origin=origin_of(str(jail), failures, matches),
    )


def _new_rows(jail: str, rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """The rows (rowid, ip, timeofban, …) of one jail not archived yet.

    The overlap re-reads recent rows on every run; skipping the archived ones
    with one indexed query is much cheaper than building them again.
    """
    if not rows:
        return []
    first = datetime.fromtimestamp(min(int(r[2]) for r in rows), tz=UTC)
    last = datetime.fromtimestamp(max(int(r[2]) for r in rows), tz=UTC)
    have = set(
        BanRecord.objects.filter(jail=jail, banned_at__gte=first, banned_at__lte=last).values_list(
            "ip", "banned_at"
        )
    )
    return [r for r in rows if (str(r[1]), datetime.fromtimestamp(int(r[2]), tz=UTC)) not in have]


def _geo_of(bans: list[_Ban], memo: dict[str, tuple[str, int | None]]) -> None:
    """Fill ``memo`` with (country code, ASN) for the bans' IPs not in it yet.

    One batch lookup (stored in bulk by geo); the memo spans a whole sync, so a
    heavy hitter with thousands of bans is looked up once.
    """
    todo = {b.ip for b in bans if b.ip not in memo and "/" not in b.ip}
    if todo:
        for ip, info in geo_resolve_many(todo, wait_http=False).items():
            memo[ip] = (info.country_code or "", info.asn) if info.resolved else ("", None)


_COLUMNS = (
    "ip", "jail", "banned_at", "bantime", "bancount", "failures", "matches",
    "origin", "country_code", "asn", "unbanned_at", "unbanned_by", "synced_at",
)  # fmt: skip


def _store(records: list[_Ban], memo: dict[str, tuple[str, int | None]] | None = None) -> int:
    """Insert records; a concurrent run's duplicates are ignored. Returns len(records).

    A plain executemany: bulk_create spent most of a 100k first sync building
    SQL per batch (8.5 s against 5 s with this).
    """
    if not records:
        return 0
    memo = {} if memo is None else memo
    _geo_of(records, memo)
    ops = connection.ops
    table = ops.quote_name(BanRecord._meta.db_table)
    names = ", ".join(ops.quote_name(c) for c in _COLUMNS)
    marks = ", ".join(["%s"] * len(_COLUMNS))
    now = ops.adapt_datetimefield_value(timezone.now())
    rows = [
        (r.ip, r.jail, ops.adapt_datetimefield_value(r.banned_at), r.bantime, r.bancount,
         r.failures, r.matches, r.origin, *memo.get(r.ip, ("", None)), None, "", now)
        for r in records
    ]  # fmt: skip
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {table} ({names}) VALUES ({marks}) ON CONFLICT DO NOTHING", rows
            )
            inserted = max(cursor.rowcount, 0)  # summed over the rows; duplicates add 0
        # The archive's size for /metrics, kept here so that no scrape counts a million rows.
        counter_add({ARCHIVE_ROWS: inserted})
        # Same transaction: the daily counts of these days are recounted later, and the
        # pages over the archive render again.
        rollup_invalidate(r.banned_at for r in records)
        version_bump(ARCHIVE)
    return len(records)


def _db_path(client: Fail2banClient | None, state: HistorySyncState) -> str:
    if client is not None:
        try:
            path = str(client.get_server("dbfile") or "")
            if path:
                return path
        except Fail2banError:
            pass  # fail2ban is down: its DB file can still be read
    return state.db_path


def history_sync(
    *,
    client: Fail2banClient | None = None,
    db_path: str | None = None,
    backfill_days: int | None = None,
) -> SyncResult:
    """Copy new rows of fail2ban's ``bans`` table into the archive; safe to run again."""
    state = HistorySyncState.objects.filter(pk=1).first() or HistorySyncState(pk=1)
    now = timezone.now()
    state.last_run_at = now
    if not counter_known(ARCHIVE_ROWS):
        counter_set(ARCHIVE_ROWS, BanRecord.objects.count())  # once, after the upgrade
    path = db_path or _db_path(client, state)
    if not path:
        return _fail(state, "fail2ban has no database (dbfile is None) and none is known.")
    db = fail2ban_db(client, path)
    if db is None:
        return _fail(state, "fail2ban keeps its database in memory (dbfile = :memory:).")
    reader = _Reader(db)
    try:
        version, jails = reader.read(db.schema)
        if version != SCHEMA_VERSION:
            found = "none" if version is None else version
            return _fail(state, f"fail2ban's database has schema version {found}; BanGUI reads 4.")
    except (sqlite3.Error, Fail2banError) as exc:
        return _fail(state, f"cannot read fail2ban's database {path}: {exc}")
    days = backfill_days if backfill_days is not None else settings.BANGUI_HISTORY_BACKFILL_DAYS
    high_water = state.high_water or now - timedelta(days=days)
    since = int((high_water - OVERLAP).timestamp())
    newest = high_water
    result = SyncResult(ok=True)
    memo: dict[str, tuple[str, int | None]] = {}
    try:
        for jail in jails:
            last_t, last_rowid = since, -1
            while True:
                rows = reader.read(
                    db.bans_chunk, jail, after_time=last_t, after_rowid=last_rowid, limit=CHUNK
                )
                if not rows:
                    break
                records = [_record(jail, *row[1:]) for row in _new_rows(jail, rows)]
                result.read += len(rows)
                result.added += _store(records, memo)
                last_rowid, last_t = int(rows[-1][0]), int(rows[-1][2])
                newest = max(newest, datetime.fromtimestamp(last_t, tz=UTC))
                if len(rows) < CHUNK:
                    break
    except (sqlite3.Error, Fail2banError) as exc:  # Fail2banError: the broker went away
        # Keep what was stored; the next run starts again from the old mark.
        result.ok = False
        result.error = f"reading fail2ban's database failed half-way: {exc}"
    result.longest_read_ms = reader.longest_ms
    state.db_path = path
    state.last_added = result.added
    state.longest_read_ms = result.longest_read_ms
    if result.ok:
        state.high_water = newest
        state.last_ok_at = now
        state.last_error = ""
    else:
        state.last_error = result.error
        log.warning("history sync: %s", result.error)
    state.save()
    # Roll up the days that ended since the last run (a no-op most of the time).
    rollup_fill()
    return result


def _fail(state: HistorySyncState, message: str) -> SyncResult:
    state.last_error = message
    state.save()
    log.warning("history sync: %s", message)
    return SyncResult(ok=False, error=message)


def history_archive_ip(*, client: Fail2banClient, ip: str) -> int:
    """Archive every row fail2ban holds for one IP now (before an unban deletes them)."""
    state = HistorySyncState.objects.filter(pk=1).first() or HistorySyncState(pk=1)
    db = fail2ban_db(client, _db_path(client, state) or None)
    if db is None:
        return 0
    try:
        rows = db.bans_of_ip(ip)
    except (sqlite3.Error, Fail2banError) as exc:
        log.warning("could not archive %s before unbanning: %s", ip, exc)
        return 0
    records = [_record(*row) for row in rows]
    have = set(BanRecord.objects.filter(ip=ip).values_list("jail", "banned_at"))
    return _store([r for r in records if (r.jail, r.banned_at) not in have])


def history_mark_unbanned(*, ip: str, jails: list[str] | None, by: str) -> int:
    """Note on the open ban records of an IP that BanGUI lifted them."""
    qs = BanRecord.objects.filter(ip=ip, unbanned_at__isnull=True)
    if jails is not None:
        qs = qs.filter(jail__in=jails)
    with transaction.atomic():
        marked = qs.update(unbanned_at=timezone.now(), unbanned_by=by[:150])
        if marked:
            version_bump(ARCHIVE)
    return marked


def history_mark_all_unbanned(*, by: str) -> int:
    """After "unban all": every record whose ban was still running is lifted now."""
    now = timezone.now()
    open_records = BanRecord.objects.filter(unbanned_at__isnull=True, banned_at__lte=now)
    lifted = [
        r.pk
        for r in open_records.only("id", "banned_at", "bantime")
        if r.bantime < 0 or r.banned_at + timedelta(seconds=r.bantime) > now
    ]
    with transaction.atomic():
        marked = BanRecord.objects.filter(pk__in=lifted).update(
            unbanned_at=now, unbanned_by=by[:150]
        )
        if marked:
            version_bump(ARCHIVE)
    return marked


def history_purge(*, days: int | None = None, batch: int = 10_000) -> int:
    """Delete archive rows older than the retention, in batches (short write locks)."""
    keep = days if days is not None else settings.BANGUI_HISTORY_RETENTION_DAYS
    cutoff = timezone.now() - timedelta(days=keep)
    deleted = 0
    while True:
        ids = list(
            BanRecord.objects.filter(banned_at__lt=cutoff).values_list("id", flat=True)[:batch]
        )
        if not ids:
            # Counted exactly once a day, in this job: the kept number cannot drift for long
            # (rows deleted in the admin, a sync killed between its insert and its count).
            counter_set(ARCHIVE_ROWS, BanRecord.objects.count())
            return deleted
        with transaction.atomic():
            batch_deleted = BanRecord.objects.filter(id__in=ids).delete()[0]
            deleted += batch_deleted
            counter_add({ARCHIVE_ROWS: -batch_deleted})
            rollup_invalidate_until(cutoff)
            version_bump(ARCHIVE)
