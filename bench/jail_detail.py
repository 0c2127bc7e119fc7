"""One jail's page with 65,000 bans, first page, against the naive way.

Ours: ``GET /jails/big/`` through Django's test client: ``jail_detail`` plus
``jail_bans_page`` (``get big banip`` for the list, fail2ban's DB for the 50
rows shown). The 5-second cache of the IP list is emptied before every call,
so each request pays what the first visitor pays.
Baseline: the same request with ``jail_bans_page`` swapped for
``naive_bans_page``, which builds the page from ``get big banip --with-time``:
the whole list with times, parsed, then paginated. Both must show the same
50 addresses with their ban times.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from unittest import mock

from bangui.demo.lab import Fail2banLab
from bangui.fail2ban import Fail2banClient

from .core import BenchContext, Row, interleaved
from .django_env import DjangoEnv, django_env
from .labtools import ipv4_block, lab_jail, load_bans

JAIL = "big"
BANS = 65_000
CALLS = 20
ROUNDS = 10
GOAL_SECONDS = 0.300
PATH = f"/jails/{JAIL}/"


def naive_bans_page(
    *, client: Fail2banClient, jail: str, q: str = "", page: int | str = 1, db_path: str | None
) -> object:
    """``jails.live.selectors.jail_bans_page`` built from ``get JAIL banip --with-time`` alone."""
    from django.core.paginator import Paginator

    from jails.live.selectors import PER_PAGE, BanPage, _parse_with_time, _row

    times = _parse_with_time(client.banned_with_time(jail))  # in fail2ban's order
    total = len(times)
    newest_first = list(reversed(times))
    if q:
        needle = q.strip().lower()
        newest_first = [ip for ip in newest_first if needle in ip]
    pager = Paginator(newest_first, PER_PAGE).get_page(page)
    rows = [_row(ip, times.get(ip)) for ip in pager.object_list]
    return BanPage(
        rows=rows,
        page=pager,
        total=total,
        matching=len(newest_first),
        times_missing=sum(1 for r in rows if r.start is None),
    )


# An address cell and the two time cells after it.
# IP, then the country cell (markup of its own), then start and end.
_ROW = re.compile(
    rb'<td class="mono"><a [^>]*>([^<]+)</a></td>\s*<td>(?:(?!</td>).)*</td>'
    rb"\s*<td>([^<]*)</td>\s*<td>([^<]*)</td>",
    re.S,
)


def _rows(html: bytes) -> list[tuple[bytes, ...]]:
    return [m.groups() for m in _ROW.finditer(html)]


def _check(env: DjangoEnv, expected: list[str], naive_get: Callable[[], bytes]) -> None:
    """Both ways show the newest 50 bans, each with its start and end time.

    The times may differ by a second: fail2ban's DB rounds the ban time, the
    ``--with-time`` text truncates it.
    """
    ours, naive = _rows(env.get(PATH)), _rows(naive_get())
    for side, rows in (("our", ours), ("the naive", naive)):
        shown = [r[0].decode() for r in rows]
        if shown != expected:
            raise RuntimeError(f"{side} page shows {shown[:3]}…, expected {expected[:3]}…")
        if any(not start.strip() or not end.strip() for _, start, end in rows):
            raise RuntimeError(f"{side} page shows bans without their times")


def run(ctx: BenchContext) -> list[Row]:
    from jails.live.selectors import PER_PAGE

    env = django_env(ctx)
    from jails.live import jail_views  # needs Django set up
    from jails.live.selectors import banlist_invalidate

    lab: Fail2banLab = ctx.start_lab([lab_jail(JAIL)])
    try:
        ips = ipv4_block("10.0.0.0", BANS)
        load_bans(lab, {JAIL: ips})
        env.point_at(lab)

        def ours() -> bytes:
            banlist_invalidate(JAIL)  # cold: the IP list is fetched on every call
            return env.get(PATH)

        def naive() -> bytes:
            with mock.patch.object(jail_views, "jail_bans_page", naive_bans_page):
                return env.get(PATH)

        _check(env, list(reversed(ips))[:PER_PAGE], naive)
        ours_stats, naive_stats = interleaved([(ours, CALLS), (naive, CALLS)], rounds=ROUNDS)
    finally:
        lab.cleanup()
    return [
        Row(
            name=f"jail detail: {BANS:,} bans, page 1 (vs banip --with-time)",
            ours=ours_stats.summary(median=True),
            baseline=naive_stats.summary(median=True),
            ratio=naive_stats.median / ours_stats.median,
            goal=f"p95 ≤ {GOAL_SECONDS * 1e3:.0f} ms",
            goal_met=ours_stats.p95 <= GOAL_SECONDS,
        )
    ]
