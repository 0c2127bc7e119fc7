"""One jail's page: 65,000 bans against the naive way; 10,000 against 1,000,000.

Ours: ``GET /jails/JAIL/`` through Django's test client: ``jail_detail`` plus
``jail_bans_page``, which reads the 50 rows from fail2ban's DB (an index walk
per page) once a count of the DB has vouched for it (``jails.live.bans_page``).
Two kinds of view are timed:

- page 1: the DB was vouched for by an earlier view (the vouch lasts 5 min);
  each view only checks that fail2ban wrote every ban it made since;
- first view: the vouch is forgotten before every request, so each one also
  counts the jail's bans in the DB (once per jail every 5 min in real use).

The 5-second cache of the old way's IP list is emptied before every request.
Baseline: the same request with ``jail_bans_page`` swapped for
``naive_bans_page``, built from ``get JAIL banip --with-time`` alone: the whole
list with times, parsed, then paginated. Both must show the same 50 addresses
with their ban times.

All jails share one fail2ban-server (one DB), as on a real server. The jail
with 1,000,000 bans takes about two minutes to load through fail2ban's socket
and another ~70 s for fail2ban to write it to its DB, so it is opt-in:
``BANGUI_BENCH_MILLION=1 python -m bench jail-detail``.
"""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Callable
from unittest import mock

from bangui.demo.lab import Fail2banLab
from bangui.fail2ban import Fail2banClient

from .core import BenchContext, Row, Stats, interleaved
from .django_env import django_env
from .labtools import BIG_JAIL_OPTIONS, address_blocks, lab_jail, wait_db_bans

BIG, TEN, MILLION = "big", "ten", "million"
SIZES = {BIG: 65_000, TEN: 10_000, MILLION: 1_000_000}
MILLION_FLAG = "BANGUI_BENCH_MILLION"
CALLS = 20
ROUNDS = 10
SEARCH_CALLS = 10
GOAL_SECONDS = 0.300
RATIO_TARGET = 20.0
# "Within 2x of the 10,000-ban jail": its median / ours >= 0.5.
SIZE_TARGET = 0.5
SEARCH = {BIG: "10.0.11.", MILLION: "10.3.1."}
DEEP_PAGE = 10_000


def naive_bans_page(
    *,
    client: Fail2banClient,
    jail: str,
    q: str = "",
    page: int | str = 1,
    db_path: str | None,
    before: str = "",
    after: str = "",
) -> object:
    """``jails.live.bans_page.jail_bans_page`` built from ``get JAIL banip --with-time`` alone."""
    from django.core.paginator import Paginator

    from jails.live.bans_page import BanPage, Pager
    from jails.live.selectors import PER_PAGE, ban_row, parse_with_time

    times = parse_with_time(client.banned_with_time(jail))  # in fail2ban's order
    total = len(times)
    newest_first = list(reversed(times))
    if q:
        needle = q.strip().lower()
        newest_first = [ip for ip in newest_first if needle in ip]
    pager = Paginator(newest_first, PER_PAGE).get_page(page)
    rows = [ban_row(ip, times.get(ip)) for ip in pager.object_list]
    return BanPage(
        rows=rows,
        pager=Pager(number=pager.number, num_pages=pager.paginator.num_pages),
        total=total,
        matching=len(newest_first),
        times_missing=sum(1 for r in rows if r.start is None),
    )


# An address cell, the country cell (markup of its own), then start and end.
_ROW = re.compile(
    rb'<td class="mono"><a [^>]*>([^<]+)</a></td>\s*<td>(?:(?!</td>).)*</td>'
    rb"\s*<td>([^<]*)</td>\s*<td>([^<]*)</td>",
    re.S,
)
_OLDER = re.compile(rb'<a href="\?([^"]+)"[^>]*>Older')


def _rows(html: bytes) -> list[tuple[bytes, ...]]:
    return [m.groups() for m in _ROW.finditer(html)]


def _check(side: str, html: bytes, expected: list[str]) -> None:
    """The page shows the newest bans, each with its start and end time.

    The times of the two ways may differ by a second: fail2ban's DB rounds the
    ban time, the ``--with-time`` text truncates it.
    """
    rows = _rows(html)
    shown = [r[0].decode() for r in rows]
    if shown != expected:
        raise RuntimeError(f"{side} page shows {shown[:3]}…, expected {expected[:3]}…")
    if any(not start.strip() or not end.strip() for _, start, end in rows):
        raise RuntimeError(f"{side} page shows bans without their times")


def _load(lab: Fail2banLab, plan: dict[str, list[str]]) -> None:
    """Ban through the socket (1,000 per command), then wait for fail2ban's DB."""
    client = lab.client(timeout=120.0)
    total = sum(len(ips) for ips in plan.values())
    started = time.perf_counter()
    for jail, ips in plan.items():
        if client.ban(jail, ips) != len(ips):
            raise RuntimeError(f"{jail}: fail2ban did not ban all {len(ips):,} addresses")
    banned = time.perf_counter() - started
    waited = wait_db_bans(lab, total, timeout=900.0)
    print(
        f"    banned {total:,} addresses in {banned:.1f} s through the socket; "
        f"fail2ban's DB held them all {waited:.1f} s later",
        file=sys.stderr,
    )


def run(ctx: BenchContext) -> list[Row]:
    env = django_env(ctx)
    from jails.live import jail_views  # needs Django set up
    from jails.live.bans_page import DB, db_vouch_forget, jail_bans_page
    from jails.live.selectors import PER_PAGE, banlist_invalidate

    million = os.environ.get(MILLION_FLAG, "") not in ("", "0")
    jails = [BIG, TEN, MILLION] if million else [BIG, TEN]  # BIG from 10.0.0.0: SEARCH
    lab: Fail2banLab = ctx.start_lab([lab_jail(j) for j in jails])
    try:
        plan = dict(zip(jails, address_blocks([SIZES[j] for j in jails]), strict=True))
        _load(lab, plan)
        env.point_at(lab)
        client = lab.client(timeout=120.0)

        def view(jail: str, query: str = "", *, first: bool = False) -> Callable[[], bytes]:
            def call() -> bytes:
                banlist_invalidate(jail)  # the old way's list: never a head start
                if first:
                    db_vouch_forget(lab.socket_path, jail)
                return env.get(f"/jails/{jail}/{query}")

            return call

        def naive(jail: str, query: str = "") -> Callable[[], bytes]:
            def call() -> bytes:
                with mock.patch.object(jail_views, "jail_bans_page", naive_bans_page):
                    return env.get(f"/jails/{jail}/{query}")

            return call

        for jail in jails:
            expected = list(reversed(plan[jail]))[:PER_PAGE]
            page = jail_bans_page(client=client, jail=jail, db_path=lab.db_path)
            if page.source != DB:
                raise RuntimeError(f"{jail}: the page was not read from fail2ban's DB")
            _check("our", view(jail, first=True)(), expected)
            if jail != MILLION:  # the naive way takes seconds per call there
                _check("the naive", naive(jail)(), expected)
        query = f"?q={SEARCH[BIG]}"
        found = [r[0] for r in _rows(view(BIG, query)())]
        if not found or found != [r[0] for r in _rows(naive(BIG, query)())]:
            raise RuntimeError("the two ways find different bans")

        rows = _big_rows(view, naive)
        rows += _sized_rows(view, naive, lab, million=million)
    finally:
        lab.cleanup()
    return rows


View = Callable[..., Callable[[], bytes]]


def _big_rows(view: View, naive: View) -> list[Row]:
    """65,000 bans against the naive way: page 1, first view, a search."""
    warm, cold, base = interleaved(
        [(view(BIG), CALLS), (view(BIG, first=True), CALLS), (naive(BIG), CALLS)],
        rounds=ROUNDS,
    )
    query = f"?q={SEARCH[BIG]}"
    found, found_base = interleaved(
        [(view(BIG, query), SEARCH_CALLS), (naive(BIG, query), SEARCH_CALLS)], rounds=ROUNDS
    )
    n = f"{SIZES[BIG]:,} bans"
    search = f'{n}, search "{SEARCH[BIG]}" (vs banip --with-time)'
    return [
        _vs(f"{n}, page 1 (vs banip --with-time)", warm, base),
        _vs(f"{n}, first view (vs banip --with-time)", cold, base, ratio_target=None),
        _vs(search, found, found_base, ratio_target=None),
    ]


def _sized_rows(view: View, naive: View, lab: Fail2banLab, *, million: bool) -> list[Row]:
    """10,000 bans against the naive way; with the flag, 1,000,000 against 10,000.

    The two sizes are timed in the same rounds, so that a busy moment of the
    machine hits both alike.
    """
    ten_n, mil_n = f"{SIZES[TEN]:,} bans", f"{SIZES[MILLION]:,} bans"
    if not million:
        ten, ten_base = interleaved([(view(TEN), CALLS), (naive(TEN), CALLS)], rounds=ROUNDS)
        return [_vs(f"{ten_n}, page 1 (vs banip --with-time)", ten, ten_base, ratio_target=None)]
    from jails.live.selectors import PER_PAGE

    deep = f"?page={DEEP_PAGE}&before={_keyset_at(lab, (DEEP_PAGE - 1) * PER_PAGE - 1)}"
    ten, ten_cold, mil, mil_cold, mil_deep, ten_base = interleaved(
        [
            (view(TEN), CALLS),
            (view(TEN, first=True), CALLS),
            (view(MILLION), CALLS),
            (view(MILLION, first=True), CALLS),
            (view(MILLION, deep), CALLS),
            (naive(TEN), CALLS),
        ],
        rounds=ROUNDS,
    )
    # Alone: a search reads the whole jail and would weigh on the rounds above.
    (found,) = interleaved([(view(MILLION, f"?q={SEARCH[MILLION]}"), SEARCH_CALLS)], rounds=ROUNDS)
    deep_page = f"{mil_n}, page {DEEP_PAGE:,} by its link (vs page 1)"
    search = f'{mil_n}, search "{SEARCH[MILLION]}" (vs page 1)'
    return [
        _vs(f"{ten_n}, page 1 (vs banip --with-time)", ten, ten_base, ratio_target=None),
        _vs(f"{mil_n}, page 1 (vs {ten_n})", mil, ten, ratio_target=SIZE_TARGET),
        _vs(f"{mil_n}, first view (vs {ten_n})", mil_cold, ten_cold, ratio_target=None),
        _vs(deep_page, mil_deep, mil, ratio_target=SIZE_TARGET),
        _vs(search, found, mil, ratio_target=None, goal=False),
    ]


def _keyset_at(lab: Fail2banLab, offset: int) -> str:
    """The keyset of the row at ``offset`` (newest first), as page links carry it."""
    from bangui.fail2ban.db import BanScope, current_bans

    bantime = int(BIG_JAIL_OPTIONS["bantime"])
    scope = BanScope(MILLION, int(time.time()), max_bantime=bantime, purge_age=86400)
    (row,) = current_bans(lab.db_path, scope, limit=1, offset=offset)
    return str(row.key)


def _vs(
    what: str,
    ours: Stats,
    baseline: Stats,
    *,
    ratio_target: float | None = RATIO_TARGET,
    goal: bool = True,
) -> Row:
    return Row(
        name=f"jail detail: {what}",
        ours=ours.summary(median=True),
        baseline=baseline.summary(median=True),
        ratio=baseline.median / ours.median,
        target=ratio_target,
        goal=f"p95 ≤ {GOAL_SECONDS * 1e3:.0f} ms" if goal else "",
        goal_met=ours.p95 <= GOAL_SECONDS if goal else None,
    )
