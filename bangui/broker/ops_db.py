"""The broker's reads of fail2ban's database: fixed queries, short, read-only.

The DB is the one fail2ban names (``get dbfile``), never a path the caller
sends; the queries are those of ``bangui.fail2ban.db`` (each cut off after
1 s), with every argument checked and every size bounded here.
"""

from __future__ import annotations

import sqlite3
import time
from typing import Any

from bangui.fail2ban import db
from bangui.fail2ban.errors import Fail2banError
from bangui.fail2ban.validation import clean_address, clean_jail, clean_network

from .ops import Args, BadArgs, Context, op

MAX_PAGE = 201  # rows of one page of a jail's bans (the page shows 50)
MAX_OFFSET = 1_000_000
MAX_INT = 2**62
# The DB fail2ban named last, and when: a page makes two or three reads, and each would
# otherwise ask fail2ban for its dbfile first. Also read while fail2ban is down (the
# history sync's catch-up).
DBFILE_SECONDS = 5.0
_last_dbfile: dict[str, tuple[str, float]] = {}


def _db_path(ctx: Context) -> str:
    now = time.monotonic()
    path, asked = _last_dbfile.get(ctx.fail2ban_socket, ("", -1e9))
    if now - asked >= DBFILE_SECONDS:
        try:
            path = str(ctx.client.get_server("dbfile") or "")
            _last_dbfile[ctx.fail2ban_socket] = (path, now)
        except Fail2banError:
            pass  # down: the last name it gave
    if not path or path == ":memory:" or path == "None":
        raise sqlite3.OperationalError("fail2ban keeps no database file")
    return path


def _int(a: Args, key: str, *, low: int = -MAX_INT, high: int = MAX_INT) -> int:
    value = a.raw.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise BadArgs(f"{key} must be a whole number from {low} to {high}")
    return value


def _scope(raw: Any) -> db.BanScope:
    a = Args(raw, {"jail", "now", "max_bantime", "purge_age", "q"})
    q = a.text("q", default="", limit=64)
    if q and not all(c.isascii() and (c.isalnum() or c in ".:/") for c in q):
        raise BadArgs("q may hold only the characters of an address")
    purge = a.raw.get("purge_age")
    return db.BanScope(
        jail=clean_jail(a.text("jail")),
        now=_int(a, "now", low=0),
        max_bantime=_int(a, "max_bantime", low=-1),
        purge_age=None if purge is None else _int(a, "purge_age", low=0),
        q=q.lower(),
    )


def _keyset(a: Args, key: str) -> db.Keyset | None:
    text = a.text(key, default="", limit=64)
    if not text:
        return None
    keyset = db.Keyset.parse(text)
    if keyset is None:
        raise BadArgs(f"{key} is not a page position")
    return keyset


@op("db_ban_times")
def _ban_times(ctx: Context, raw: Any) -> dict[str, list[int]]:
    a = Args(raw, {"jail", "ips"})
    jail = clean_jail(a.text("jail"))
    ips = [clean_network(ip) for ip in a.texts("ips", limit=db.MAX_LOOKUP)]
    found = db.ban_times(_db_path(ctx), jail, ips)
    return {ip: [t.timeofban, t.bantime, t.bancount] for ip, t in found.items()}


@op("db_current_bans")
def _current_bans(ctx: Context, raw: Any) -> list[list[Any]]:
    a = Args(raw, {"scope", "limit", "before", "after", "offset"})
    bans = db.current_bans(
        _db_path(ctx),
        _scope(a.raw.get("scope")),
        limit=_int(a, "limit", low=1, high=MAX_PAGE),
        before=_keyset(a, "before"),
        after=_keyset(a, "after"),
        offset=_int(a, "offset", low=0, high=MAX_OFFSET),
    )
    return [[b.ip, b.timeofban, b.bantime, b.bancount, str(b.key)] for b in bans]


@op("db_current_ban_count")
def _current_ban_count(ctx: Context, raw: Any) -> list[int]:
    a = Args(raw, {"scope", "jail_size", "slack"})
    count = db.current_ban_count(
        _db_path(ctx),
        _scope(a.raw.get("scope")),
        jail_size=_int(a, "jail_size", low=0),
        slack=_int(a, "slack", low=0, high=3600),
    )
    return [count.at_least, count.at_most, count.bans_rowid]


@op("db_bans_written_since")
def _bans_written_since(ctx: Context, raw: Any) -> list[int]:
    a = Args(raw, {"jail", "rowid"})
    count, top = db.bans_written_since(
        _db_path(ctx), clean_jail(a.text("jail")), _int(a, "rowid", low=0)
    )
    return [count, top]


@op("db_schema")
def _schema(ctx: Context, raw: Any) -> list[Any]:
    Args(raw, set())
    version, jails = db.schema(_db_path(ctx))
    return [version, jails]


@op("db_bans_chunk")
def _bans_chunk(ctx: Context, raw: Any) -> list[list[Any]]:
    a = Args(raw, {"jail", "after_time", "after_rowid", "limit"})
    rows = db.bans_chunk(
        _db_path(ctx),
        clean_jail(a.text("jail")),
        after_time=_int(a, "after_time"),
        after_rowid=_int(a, "after_rowid", low=-1),
        limit=_int(a, "limit", low=1, high=db.MAX_CHUNK),
    )
    return [list(r) for r in rows]


@op("db_bans_of_ip")
def _bans_of_ip(ctx: Context, raw: Any) -> list[list[Any]]:
    a = Args(raw, {"ip"})
    text = a.text("ip", limit=64)
    ip = clean_network(text) if "/" in text else clean_address(text)
    return [list(r) for r in db.bans_of_ip(_db_path(ctx), ip)]
