"""One page of a jail's current bans, read from fail2ban's database in O(page).

The jail page used to fetch the whole banned list (``get JAIL banip``) for
every first view: ~150 ms at 65,000 bans, seconds at a million. Now the rows
come from fail2ban's SQLite DB (``bangui.fail2ban.db.current_bans``: an index
walk, newest first, a keyset per page) and the total from ``status JAIL``.

The DB is only believed while it holds what fail2ban holds. fail2ban answers a
ban at once and writes it to its DB afterwards, from its observer thread (a
single ban ~1 ms later; a 65,000-address batch ~1.5 s after the last command,
a million ~70 s), so the newest bans can be missing for a while. Hence:

1. A count of the jail's current bans in the DB that matches fail2ban's
   "Currently banned" vouches for the DB (``BanCount``, within the second or
   two fail2ban takes to lift expired bans). It reads the jail's rows or all
   of ``bips``, whichever is less (~100 ms per million rows), so it is
   remembered for ``VOUCH_SECONDS`` as (fail2ban's "Total banned", the
   highest ``bans`` rowid).
2. After that, each view asks only whether fail2ban wrote one ``bans`` row for
   every ban it made since (``bans_written_since``: a rowid range, as cheap as
   the new bans are few), waiting up to 0.1 s for a few pending writes.
   Unbans need nothing: fail2ban deletes their rows before it answers.
3. Whenever that does not add up (a batch still being written, a restart, a
   ban the DB lost), the count runs again; if it still disagrees, the page is
   built the old way, from fail2ban's list, which is always right.

Without a readable DB (none, ``:memory:``, locked for 2 s, another schema, a
read cut off after 1 s) the page is built the old way too.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from django.core.cache import cache
from django.core.paginator import Paginator

from bangui.fail2ban import Fail2banClient
from bangui.fail2ban.client import JailStatus
from bangui.fail2ban.configured import purge_age
from bangui.fail2ban.db import (
    BIPS,
    READ_BUDGET_SECONDS,
    BanScope,
    BanTime,
    CurrentBan,
    Keyset,
    ReadTooLong,
)
from bangui.fail2ban.dbreader import DbReader
from bangui.fail2ban.host import fail2ban_db
from bangui.web import page_of
from jails.live.selectors import (
    PER_PAGE,
    WITH_TIME_LIMIT,
    BanRow,
    ban_row,
    banned_ips_cached,
    parse_with_time,
)

# How long a full count vouches for fail2ban's DB before it is counted again
# (a ban the DB never got, say after "database is locked", is caught by then).
VOUCH_SECONDS = 300
# fail2ban lifts expired bans about once a second; a count this far either
# side of now still agrees with it.
EXPIRY_SLACK_SECONDS = 2
# Pending writes worth waiting for, and for how long: fail2ban wrote a single
# ban 1 ms (p95 7 ms) after its answer here, the last of 1,000 about 20 ms after.
LAG_WAIT_MAX_PENDING = 1000
LAG_WAIT_SECONDS = 0.1
# Walking ``bips_timeofban`` passes every other jail's newer rows; up to this
# many bans, fail2ban's own list is the cheaper read (a few ms).
SMALL_JAIL = 2000

# What an address or a network (CIDR) is written with, lower case.
_ADDRESS_CHARS = frozenset("0123456789abcdef.:/")

DB = "database"
FAIL2BAN = "fail2ban"


@dataclass
class Pager:
    """Page links; ``newer``/``older`` are query strings (None: no such page)."""

    number: int
    num_pages: int
    newer: str | None = None
    older: str | None = None


@dataclass
class BanPage:
    rows: list[BanRow]
    pager: Pager
    total: int
    matching: int
    times_missing: int = 0
    notes: list[str] = field(default_factory=list)
    source: str = FAIL2BAN  # where the rows came from: DB or FAIL2BAN


def jail_bans_page(
    *,
    client: Fail2banClient,
    jail: str,
    q: str = "",
    page: int | str = 1,
    db_path: str | None,
    before: str = "",
    after: str = "",
) -> BanPage:
    """One page of a jail's current bans, newest first, filtered on the server.

    ``before``/``after`` are the keysets the page links carry (``Keyset``);
    ``page`` is the page's number, and where to start when there is none.
    """
    needle = q.strip().lower()
    if not set(needle) <= _ADDRESS_CHARS:
        # No address or network contains it ("-1", a quote): the answer is none, the
        # same whether the list comes from fail2ban or its DB (whose reader, the broker,
        # takes only address characters).
        total = client.jail_status(jail).currently_banned
        return BanPage(rows=[], pager=Pager(number=1, num_pages=1), total=total, matching=0)
    notes: list[str] = []
    db = fail2ban_db(client, db_path)
    if db is not None:
        status = client.jail_status(jail)
        try:
            scope = _scope(client, jail, needle)
            if _db_fits(scope, status) and _db_vouched(client, db, scope, status):
                total = status.currently_banned
                return _db_page(db, scope, total=total, page=page, before=before, after=after)
        except sqlite3.Error as exc:  # locked, unreadable, not fail2ban's schema, too slow
            notes.append(_db_note(exc))
    return _live_page(client=client, jail=jail, needle=needle, page=page, db=db, notes=notes)


def _db_note(exc: sqlite3.Error) -> str:
    if isinstance(exc, ReadTooLong):
        return (
            f"Reading fail2ban's database took over {READ_BUDGET_SECONDS:g} s, "
            "so this list comes from fail2ban itself."
        )
    return f"fail2ban's database could not be read ({exc})."


# -- from fail2ban's database ---------------------------------------------------------------


def _scope(client: Fail2banClient, jail: str, needle: str) -> BanScope:
    # fail2ban's Jail.getMaxBanTime: the cap it applies to bans restored from its DB.
    if client.get(jail, "bantime.increment"):
        maxtime = client.get(jail, "bantime.maxtime")
        longest = int(maxtime) if maxtime not in (None, "") else -1
    else:
        longest = int(client.get(jail, "bantime"))
    return BanScope(
        jail=jail,
        now=int(time.time()),
        max_bantime=longest,
        purge_age=purge_age(client),
        q=needle,
    )


def _db_fits(scope: BanScope, status: JailStatus) -> bool:
    if status.currently_banned == 0:
        return False  # nothing to read; the old way costs nothing here
    # Walking bips_timeofban for a small jail can pass millions of other rows.
    return scope.table != BIPS or status.currently_banned > SMALL_JAIL


def _vouch_key(socket_path: str, jail: str) -> str:
    return f"bangui:bansdb:{socket_path}:{jail}"


def db_vouch_forget(socket_path: str, *jails: str) -> None:
    """Count the DB again on the next view of these jails (the benchmark's first views)."""
    cache.delete_many([_vouch_key(socket_path, jail) for jail in jails])


def _db_vouched(client: Fail2banClient, db: DbReader, scope: BanScope, status: JailStatus) -> bool:
    """Whether fail2ban's DB holds this jail's current bans (see the module docstring)."""
    key = _vouch_key(client.socket_path, scope.jail)
    vouch: dict[str, Any] | None = cache.get(key)
    now = time.time()
    if vouch is not None and vouch["db"] == db.key and vouch["total"] <= status.total_banned:
        wanted = status.total_banned - vouch["total"]
        top = _written(db, scope.jail, after=vouch["rowid"], wanted=wanted)
        if top is not None:
            vouch.update(total=status.total_banned, rowid=top)
            cache.set(key, vouch, max(1, int(vouch["until"] - now)))
            return True
    whole = BanScope(scope.jail, scope.now, scope.max_bantime, scope.purge_age)  # without q
    count = db.current_ban_count(
        whole, jail_size=status.currently_banned, slack=EXPIRY_SLACK_SECONDS
    )
    if not count.at_least <= status.currently_banned <= count.at_most:
        cache.delete(key)
        return False
    vouch = {
        "db": db.key,
        "total": status.total_banned,
        "rowid": count.bans_rowid,
        "until": now + VOUCH_SECONDS,
    }
    cache.set(key, vouch, VOUCH_SECONDS)
    return True


def _written(db: DbReader, jail: str, *, after: int, wanted: int) -> int | None:
    """The highest ``bans`` rowid once fail2ban wrote ``wanted`` bans after row
    ``after``, or None if it has not.

    A few pending writes are waited for (up to ``LAG_WAIT_SECONDS``): a single
    ban is written about a millisecond after fail2ban answered, and a view
    right after a ban should not cost the whole list.
    """
    deadline = time.monotonic() + LAG_WAIT_SECONDS
    while True:
        written, top = db.bans_written_since(jail, after)
        if written >= wanted:
            return top
        if wanted - written > LAG_WAIT_MAX_PENDING or time.monotonic() >= deadline:
            return None
        time.sleep(0.005)


def _db_page(
    db: DbReader, scope: BanScope, *, total: int, page: int | str, before: str, after: str
) -> BanPage:
    matching = total
    if scope.q:
        matching = db.current_ban_count(scope, jail_size=total).at_least
    last = max(1, -(-matching // PER_PAGE))
    number, shown, has_newer, has_older = _db_rows(
        db, scope, number=_page_number(page, last), last=last, before=before, after=after
    )
    links = {"q": scope.q}
    pager = Pager(
        number=number,
        num_pages=max(last, number + 1) if has_older else number,
        newer=_link(links, number - 1, after=shown[0].key) if has_newer and shown else None,
        older=_link(links, number + 1, before=shown[-1].key) if has_older else None,
    )
    return BanPage(
        rows=[_db_row(ban) for ban in shown],
        pager=pager,
        total=total,
        matching=matching,
        source=DB,
    )


def _db_rows(
    db: DbReader, scope: BanScope, *, number: int, last: int, before: str, after: str
) -> tuple[int, list[CurrentBan], bool, bool]:
    """The rows of one page: (page number, rows, has a newer page, has an older page).

    A page link carries the keyset of its neighbour's edge row, so following
    links costs one page however deep; a bare ``?page=N`` skips rows instead.
    One row more than a page says whether another page follows.
    """
    newer_than = Keyset.parse(after) if after else None
    older_than = Keyset.parse(before) if before else None
    if newer_than is not None and newer_than.table == scope.table:
        found = db.current_bans(scope, limit=PER_PAGE + 1, after=newer_than)
        if len(found) > PER_PAGE:
            return max(2, number), found[1:], True, True
        number = 1  # nothing newer than a page: that is the first page
    elif older_than is not None and older_than.table == scope.table:
        found = db.current_bans(scope, limit=PER_PAGE + 1, before=older_than)
        if found:
            return max(2, number), found[:PER_PAGE], True, len(found) > PER_PAGE
        number = last  # everything older is gone (unbanned, expired)
    found = db.current_bans(scope, limit=PER_PAGE + 1, offset=(number - 1) * PER_PAGE)
    return number, found[:PER_PAGE], number > 1, len(found) > PER_PAGE


def _page_number(page: int | str, last: int) -> int:
    try:
        number = int(page)
    except (TypeError, ValueError):
        return 1
    return min(max(1, number), last)


def _link(
    base: dict[str, str], number: int, *, after: Keyset | None = None, before: Keyset | None = None
) -> str:
    params: dict[str, str | int] = {**base}
    if number > 1:  # page 1 is always the newest bans, without a keyset
        params["page"] = number
        if after is not None:
            params["after"] = str(after)
        if before is not None:
            params["before"] = str(before)
    return urlencode(params)


def _db_row(ban: CurrentBan) -> BanRow:
    start = datetime.fromtimestamp(ban.timeofban, tz=UTC)
    permanent = ban.bantime < 0
    end = None if permanent else datetime.fromtimestamp(ban.timeofban + ban.bantime, tz=UTC)
    return BanRow(ip=ban.ip, start=start, end=end, permanent=permanent, bancount=ban.bancount)


# -- from fail2ban's list (small jails, no DB, the DB behind) ---------------------------------


def _live_page(
    *,
    client: Fail2banClient,
    jail: str,
    needle: str,
    page: int | str,
    db: DbReader | None,
    notes: list[str],
) -> BanPage:
    ips = banned_ips_cached(client, jail)
    total = len(ips)
    newest_first = list(reversed(ips))
    if needle:
        newest_first = [ip for ip in newest_first if needle in ip]
    django_page, _ = page_of(Paginator(newest_first, PER_PAGE), str(page))
    page_ips = list(django_page.object_list)
    times: dict[str, BanTime] = {}
    if db is not None and not notes:
        try:
            times = db.ban_times(jail, page_ips)
        except sqlite3.Error as exc:
            notes.append(_db_note(exc))
    missing = [ip for ip in page_ips if ip not in times]
    if missing and total <= WITH_TIME_LIMIT:
        times.update(parse_with_time(client.banned_with_time(jail)))
    rows = [ban_row(ip, times.get(ip)) for ip in page_ips]
    number = django_page.number
    links = {"q": needle}
    pager = Pager(
        number=number,
        num_pages=django_page.paginator.num_pages,
        newer=_link(links, number - 1) if django_page.has_previous() else None,
        older=_link(links, number + 1) if django_page.has_next() else None,
    )
    return BanPage(
        rows=rows,
        pager=pager,
        total=total,
        matching=len(newest_first),
        times_missing=sum(1 for r in rows if r.start is None),
        notes=notes,
    )
