"""Short read-only queries on fail2ban's own SQLite database.

fail2ban does not use WAL; a long read transaction makes it lose bans
("database is locked": its writer gives up after 5 s). So: read-only URI, a
short busy timeout, one query, fetchall, close, and any statement still
running after ``READ_BUDGET_SECONDS`` is cut off (``ReadTooLong``). Never
write, never change the journal mode, never create an index.

No Django here: these are pure functions of their arguments, so that a
privileged helper can run them for BanGUI later.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

# SQLite's limit on bound parameters is 999 on old builds; stay well below.
_CHUNK = 500
# Addresses in one ban_times question (the broker refuses more).
MAX_LOOKUP = 1000


@dataclass(frozen=True)
class BanTime:
    timeofban: int  # epoch seconds
    bantime: int  # seconds; -1 is permanent
    bancount: int


# A fifth of fail2ban's own 5 s: however large its DB grows, BanGUI never
# holds its read lock long enough to make fail2ban drop a write.
READ_BUDGET_SECONDS = 1.0
# SQLite calls the progress handler every this many VM steps (~0.1-0.5 ms).
_PROGRESS_STEPS = 20_000


class ReadTooLong(sqlite3.OperationalError):
    """A read was cut off after ``READ_BUDGET_SECONDS``."""


def _connect(db_path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(f"file:{quote(db_path)}?mode=ro", uri=True, timeout=2)
    started: list[float] = []

    def over_budget() -> bool:
        # The clock starts with the first step, not at connect: waiting for
        # fail2ban's write lock (the busy timeout) holds no lock of ours.
        now = time.monotonic()
        if not started:
            started.append(now)
        return now - started[0] > READ_BUDGET_SECONDS

    conn.set_progress_handler(over_budget, _PROGRESS_STEPS)
    return conn


def _fetch(
    conn: sqlite3.Connection, sql: str, params: Sequence[object] | Mapping[str, object]
) -> list[Any]:
    """``execute(...).fetchall()``, with a cut-off read raised as ``ReadTooLong``."""
    try:
        return conn.execute(sql, params).fetchall()
    except sqlite3.OperationalError as exc:
        if str(exc) == "interrupted":
            raise ReadTooLong(
                f"reading fail2ban's database took over {READ_BUDGET_SECONDS:g} s"
            ) from exc
        raise


def ban_times(db_path: str, jail: str, ips: Sequence[str]) -> dict[str, BanTime]:
    """The latest ban of each IP in a jail (table ``bips``); missing IPs are left out."""
    found: dict[str, BanTime] = {}
    if not ips:
        return found
    conn = _connect(db_path)
    try:
        for start in range(0, len(ips), _CHUNK):
            chunk = list(ips[start : start + _CHUNK])
            marks = ",".join("?" * len(chunk))
            # Only the placeholders are interpolated; values are bound.
            sql = (
                "SELECT ip, timeofban, bantime, bancount FROM bips "
                f"WHERE jail = ? AND ip IN ({marks})"
            )
            rows = _fetch(conn, sql, [jail, *chunk])
            for ip, timeofban, bantime, bancount in rows:
                found[str(ip)] = BanTime(int(timeofban), int(bantime), int(bancount))
    finally:
        conn.close()
    return found


# -- one jail's current bans, a page at a time -----------------------------------
#
# fail2ban keeps every ban in ``bans`` and the latest ban of each (ip, jail) in
# ``bips``. Its indexes (schema v4, the same from 0.11 to 1.1.1):
#   bans: bans_jail_timeofban_ip (jail, timeofban) -- despite the name, no ip
#         bans_jail_ip (jail, ip), bans_ip (ip)
#   bips: PRIMARY KEY (ip, jail), bips_timeofban (timeofban), bips_ip (ip)
# No index of ``bips`` starts with the jail, and BanGUI must not add one. So a
# page walks ``bans`` through (jail, timeofban), newest first, and joins each
# row to its ``bips`` row by the primary key: only this jail's rows are read,
# however many other jails hold. That needs every current ban to still have its
# ``bans`` row: fail2ban purges ``bans`` rows older than ``dbpurgeage``, so it
# holds when the jail's longest ban fits in ``dbpurgeage`` (Debian: 10 min
# and 1 day). Otherwise the page walks ``bips_timeofban`` and skips the rows
# of other jails as it meets them.

BANS = "bans"
BIPS = "bips"


@dataclass(frozen=True)
class Keyset:
    """Where a row sits in newest-first order: ban time, then rowid in ``table``.

    Bans of one second (a batch) are ordered by rowid, the order in which
    fail2ban wrote them.
    """

    table: str  # BANS or BIPS: a rowid of one table means nothing in the other
    timeofban: int
    rowid: int

    def __str__(self) -> str:
        return f"{self.table}:{self.timeofban}:{self.rowid}"

    @classmethod
    def parse(cls, text: str) -> Keyset | None:
        """The keyset ``str()`` wrote, or None if ``text`` is not one."""
        parts = text.split(":")
        if len(parts) != 3 or parts[0] not in (BANS, BIPS):
            return None
        if not all(p.isascii() and p.isdigit() and len(p) <= 19 for p in parts[1:]):
            return None
        return cls(parts[0], int(parts[1]), int(parts[2]))


@dataclass(frozen=True)
class BanScope:
    """Which rows are a jail's current bans: the inputs of every query below.

    ``max_bantime`` is the longest ban the jail gives now (fail2ban's
    ``Jail.getMaxBanTime``: ``bantime.maxtime`` with ``bantime.increment``,
    else ``bantime``; -1 when unbounded). As fail2ban does when it restores
    bans, a stored ban longer than that ends after ``max_bantime``.
    ``purge_age`` is fail2ban's ``dbpurgeage`` in seconds (None if unknown).
    """

    jail: str
    now: int
    max_bantime: int
    purge_age: int | None = None
    q: str = ""  # a substring of the address; fail2ban stores them lower-case

    @property
    def table(self) -> str:
        """The table a page is walked in (see the comment above ``BANS``)."""
        fits = self.purge_age is not None and 0 <= self.max_bantime <= self.purge_age
        return BANS if fits else BIPS

    def effective_bantime(self, stored: int) -> int:
        if self.max_bantime >= 0 and (stored < 0 or stored > self.max_bantime):
            return self.max_bantime
        return stored


@dataclass(frozen=True)
class CurrentBan:
    ip: str
    timeofban: int  # epoch seconds
    bantime: int  # seconds, capped by BanScope.max_bantime; -1 is permanent
    bancount: int
    key: Keyset


def _expiry_terms(scope: BanScope, p: str, now: str) -> list[str]:
    """WHERE terms on the ``bips`` alias ``p``: banned at ``:<now>``."""
    terms = [f"({p}.bantime < 0 OR {p}.timeofban + {p}.bantime > :{now})"]
    if scope.max_bantime >= 0:
        terms.append(f"{p}.timeofban > :{now} - :max_bantime")
    return terms


def _page_sql(scope: BanScope, *, before: Keyset | None, after: Keyset | None) -> str:
    # Only these fixed fragments are put into the SQL; every value is bound.
    if scope.table == BANS:
        source = (
            "bans AS t INDEXED BY bans_jail_timeofban_ip "
            "JOIN bips AS p ON p.ip = t.ip AND p.jail = t.jail AND p.timeofban = t.timeofban"
        )
        p = "p"
    else:
        source = "bips AS t INDEXED BY bips_timeofban"
        p = "t"
    terms = ["t.jail = :jail", *_expiry_terms(scope, p, "now")]
    # One lower bound on the walked time column, so that SQLite starts the
    # index range there (given two, it picks one, maybe the far one).
    terms.append("t.timeofban >= :lower")
    if scope.q:
        terms.append("instr(t.ip, :q) > 0")
    if before is not None:
        terms.append("t.timeofban <= :kt AND (t.timeofban < :kt OR t.rowid < :kr)")
    elif after is not None:
        terms.append("(t.timeofban > :kt OR t.rowid > :kr)")
    order = "ASC" if after is not None else "DESC"
    return (
        f"SELECT t.ip, t.timeofban, {p}.bantime, {p}.bancount, t.rowid FROM {source} "
        f"WHERE {' AND '.join(terms)} "
        f"ORDER BY t.timeofban {order}, t.rowid {order} LIMIT :limit OFFSET :offset"
    )


def _page_params(
    scope: BanScope, *, limit: int, offset: int, before: Keyset | None, after: Keyset | None
) -> dict[str, object]:
    lower = scope.now - scope.max_bantime + 1 if scope.max_bantime >= 0 else 0
    params: dict[str, object] = {
        "jail": scope.jail,
        "now": scope.now,
        "max_bantime": scope.max_bantime,
        "q": scope.q,
        "limit": limit,
        "offset": offset,
    }
    keyset = before or after
    if keyset is not None:
        params.update(kt=keyset.timeofban, kr=keyset.rowid)
    if after is not None:
        lower = max(lower, after.timeofban)
    params["lower"] = lower
    return params


def current_bans(
    db_path: str,
    scope: BanScope,
    *,
    limit: int,
    before: Keyset | None = None,
    after: Keyset | None = None,
    offset: int = 0,
) -> list[CurrentBan]:
    """Up to ``limit`` current bans of ``scope.jail``, newest first.

    ``before``: the ones just older than that row (the next page); ``after``:
    the ones just newer (the previous page), still returned newest first.
    A keyset of the other table (the jail's settings changed since) is ignored.
    ``offset`` skips rows inside SQLite, which still visits them: for links
    that carry no keyset.
    """
    if before is not None and before.table != scope.table:
        before = None
    if after is not None and after.table != scope.table:
        after = None
    sql = _page_sql(scope, before=before, after=after)
    params = _page_params(scope, limit=limit, offset=offset, before=before, after=after)
    conn = _connect(db_path)
    try:
        rows = _fetch(conn, sql, params)
    finally:
        conn.close()
    bans = [
        CurrentBan(
            ip=str(ip),
            timeofban=int(timeofban),
            bantime=scope.effective_bantime(int(bantime)),
            bancount=int(bancount),
            key=Keyset(scope.table, int(timeofban), int(rowid)),
        )
        for ip, timeofban, bantime, bancount, rowid in rows
    ]
    if after is not None:
        bans.reverse()
    return bans


@dataclass(frozen=True)
class BanCount:
    """How many current bans ``bips`` holds for a jail, give or take ``slack`` seconds.

    ``at_least`` counts the bans still current ``slack`` seconds from now,
    ``at_most`` those that were current ``slack`` seconds ago: fail2ban lifts
    an expired ban on its own schedule (about every second), so its count at
    ``now`` lies between the two. ``bans_rowid`` is the highest rowid of
    ``bans`` in the same read (for ``bans_written_since``).
    """

    at_least: int
    at_most: int
    bans_rowid: int


# A row visited through the join costs about five rows of a straight pass
# over bips (0.38 vs 0.08 µs, measured on 65,000 bans).
_JOIN_ROW_COST = 5


def current_ban_count(db_path: str, scope: BanScope, *, jail_size: int, slack: int = 0) -> BanCount:
    """Count a jail's current bans (those matching ``scope.q``).

    Either the page's walk of ``bans`` joined to ``bips``, over this jail's
    rows only, or one straight pass over all of ``bips``, whichever reads
    less: ``jail_size`` (fail2ban's count of the jail's bans) against the
    size of ``bips``. Both grow with rows, ~0.1 µs each for the pass (100 ms
    per million rows); callers keep this rare.
    """
    conn = _connect(db_path)
    try:
        ((bips_rows,),) = _fetch(conn, "SELECT coalesce(max(rowid), 0) FROM bips", ())
        walk = scope.table == BANS and jail_size * _JOIN_ROW_COST < int(bips_rows)
        sql = _count_sql(scope, walk=walk)
        params = {
            "jail": scope.jail,
            "lo": scope.now - slack,
            "hi": scope.now + slack,
            "lower": scope.now - slack - scope.max_bantime + 1,
            "max_bantime": scope.max_bantime,
            "q": scope.q,
        }
        ((loose_n, strict_n, rowid),) = _fetch(conn, sql, params)
    finally:
        conn.close()
    return BanCount(at_least=int(strict_n), at_most=int(loose_n), bans_rowid=int(rowid or 0))


def _count_sql(scope: BanScope, *, walk: bool) -> str:
    strict = " AND ".join(_expiry_terms(scope, "p", "hi"))
    if walk:
        source = (
            "bans AS t INDEXED BY bans_jail_timeofban_ip "
            "JOIN bips AS p ON p.ip = t.ip AND p.jail = t.jail AND p.timeofban = t.timeofban"
        )
        terms = ["t.jail = :jail", "t.timeofban >= :lower"]
    else:
        # NOT INDEXED: a straight pass beats walking bips_timeofban and looking
        # up every row it names, once the range holds most of the table.
        source = "bips AS p NOT INDEXED"
        terms = ["p.jail = :jail"]
    terms += _expiry_terms(scope, "p", "lo")
    if scope.q:
        terms.append("instr(p.ip, :q) > 0")
    return (
        f"SELECT count(*), coalesce(sum({strict}), 0), (SELECT max(rowid) FROM bans) "
        f"FROM {source} WHERE {' AND '.join(terms)}"
    )


# NOT INDEXED: left alone, SQLite walks bans_jail_ip over all the jail's rows.
_WRITTEN_SINCE_SQL = (
    "SELECT count(*), max(rowid) FROM bans NOT INDEXED WHERE rowid > :rowid AND jail = :jail"
)


def bans_written_since(db_path: str, jail: str, rowid: int) -> tuple[int, int]:
    """How many bans fail2ban wrote for ``jail`` after ``bans`` row ``rowid``,
    and the highest rowid among them (``rowid`` if none).

    A range of the table's own rowid b-tree: the cost grows with the bans
    written since, not with the jail.
    """
    conn = _connect(db_path)
    try:
        ((count, top),) = _fetch(conn, _WRITTEN_SINCE_SQL, {"rowid": rowid, "jail": jail})
    finally:
        conn.close()
    return int(count), int(top if top is not None else rowid)


def query_plans(db_path: str, scope: BanScope) -> dict[str, list[str]]:
    """SQLite's EXPLAIN QUERY PLAN of every query above, for ``scope`` (tests, docs)."""
    key = Keyset(scope.table, scope.now, 1)
    queries: dict[str, tuple[str, dict[str, object]]] = {
        "page": (
            _page_sql(scope, before=None, after=None),
            _page_params(scope, limit=51, offset=0, before=None, after=None),
        ),
        "older page": (
            _page_sql(scope, before=key, after=None),
            _page_params(scope, limit=51, offset=0, before=key, after=None),
        ),
        "newer page": (
            _page_sql(scope, before=None, after=key),
            _page_params(scope, limit=51, offset=0, before=None, after=key),
        ),
        "written since": (_WRITTEN_SINCE_SQL, {"rowid": 1, "jail": scope.jail}),
    }
    count_params = {"jail": scope.jail, "lo": 0, "hi": 0, "lower": 0, "max_bantime": 0, "q": ""}
    queries["count, pass"] = (_count_sql(scope, walk=False), count_params)
    if scope.table == BANS:
        queries["count, walk"] = (_count_sql(scope, walk=True), count_params)
    conn = _connect(db_path)
    try:
        return {
            name: [str(row[3]) for row in _fetch(conn, f"EXPLAIN QUERY PLAN {sql}", params)]
            for name, (sql, params) in queries.items()
        }
    finally:
        conn.close()


# -- the history archive's reads ----------------------------------------------------------

# fail2ban's schema version that every query here is written for.
SCHEMA_VERSION = 4
# Rows in one read of ``bans`` for the archive: ~50 ms each.
MAX_CHUNK = 10_000

BanRowTuple = tuple[int, str, int, int, int, str | None]


def schema(db_path: str) -> tuple[int | None, list[str]]:
    """fail2ban's schema version (None if there is none) and the jails its DB knows
    (none unless the version is ``SCHEMA_VERSION``)."""
    conn = _connect(db_path)
    try:
        rows = _fetch(conn, "SELECT version FROM fail2banDb", ())
        version = int(rows[0][0]) if rows else None
        if version != SCHEMA_VERSION:  # another schema: its tables may differ
            return version, []
        jails = [str(r[0]) for r in _fetch(conn, "SELECT name FROM jails", ())]
    finally:
        conn.close()
    return version, jails


def _data_text(data: object) -> str | None:
    """The ``data`` column (JSON; stored as bytes by some versions) as text."""
    if data is None:
        return None
    if isinstance(data, bytes):
        return data.decode("utf-8", "replace")
    return str(data)


def bans_chunk(
    db_path: str, jail: str, *, after_time: int, after_rowid: int, limit: int
) -> list[BanRowTuple]:
    """Up to ``limit`` rows of ``bans`` for ``jail`` after (time, rowid), oldest first:
    (rowid, ip, timeofban, bantime, bancount, data)."""
    conn = _connect(db_path)
    try:
        rows = _fetch(
            conn,
            "SELECT rowid, ip, timeofban, bantime, bancount, data FROM bans "
            "WHERE jail = ? AND (timeofban > ? OR (timeofban = ? AND rowid > ?)) "
            "ORDER BY timeofban, rowid LIMIT ?",
            (jail, after_time, after_time, after_rowid, min(limit, MAX_CHUNK)),
        )
    finally:
        conn.close()
    return [
        (int(r[0]), str(r[1]), int(r[2]), int(r[3]), int(r[4] or 1), _data_text(r[5])) for r in rows
    ]


def bans_of_ip(db_path: str, ip: str) -> list[tuple[str, str, int, int, int, str | None]]:
    """Every row of ``bans`` for one address: (jail, ip, timeofban, bantime, bancount, data)."""
    conn = _connect(db_path)
    try:
        rows = _fetch(
            conn,
            "SELECT jail, ip, timeofban, bantime, bancount, data FROM bans WHERE ip = ? LIMIT ?",
            (ip, MAX_CHUNK),
        )
    finally:
        conn.close()
    return [
        (str(r[0]), str(r[1]), int(r[2]), int(r[3]), int(r[4] or 1), _data_text(r[5])) for r in rows
    ]
