"""The jails page with 50 jails holding 65,000 bans, against the naive way.

Ours: ``GET /jails/`` through Django's test client (middleware, session, the
view, ``jail_overview`` with ``status JAIL short`` per jail, the template).
Baseline: the same request with ``jail_overview`` swapped for
``naive_overview``, which is the same code but asks ``status JAIL`` (the
basic flavour, which carries every banned IP) for each jail, as a page that
uses fail2ban-client's usual command would. Only the fail2ban side differs;
both answers must render the same jail table.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from unittest import mock

from bangui.demo.lab import Fail2banLab
from bangui.fail2ban import Fail2banClient

from .core import BenchContext, Row, interleaved
from .django_env import DjangoEnv, django_env
from .labtools import address_blocks, lab_jail, load_bans

JAIL_COUNT = 50
TOTAL_BANS = 65_000
CALLS = 20
ROUNDS = 10
GOAL_SECONDS = 0.300
PATH = "/jails/"


def ban_counts() -> dict[str, int]:
    """65,000 bans over j01..j50, uneven: 30k, then 5k..2k, 1.5k..700, then 200..590."""
    counts = [30_000, 5_000, 4_000, 3_000, 2_000, 1_500, 1_200, 1_000, 800, 700]
    counts += [200 + 10 * i for i in range(JAIL_COUNT - len(counts))]
    if sum(counts) != TOTAL_BANS or len(counts) != JAIL_COUNT:
        raise AssertionError("the ban plan does not add up")
    return {f"j{i:02d}": n for i, n in enumerate(counts, start=1)}


def naive_overview(
    *, client: Fail2banClient, config_dir: str, q: str = "", sort: str = "name"
) -> object:
    """``jails.live.selectors.jail_overview`` with ``status JAIL`` (basic) instead of ``short``."""
    from jails.live.selectors import jail_overview

    return jail_overview(client=client, config_dir=config_dir, q=q, sort=sort, flavour="basic")


_TBODY = re.compile(rb"<tbody>.*?</tbody>", re.S)


def _table(html: bytes) -> bytes:
    m = _TBODY.search(html)
    if m is None:
        raise RuntimeError("the jails page has no table")
    return m.group(0)


def _check(env: DjangoEnv, counts: dict[str, int], naive_get: Callable[[], bytes]) -> None:
    """Both ways must render the same table, listing every jail with its count."""
    ours = _table(env.get(PATH))
    naive = _table(naive_get())
    if ours != naive:
        raise RuntimeError("the naive jails page renders a different table than ours")
    for jail, count in counts.items():
        if f">{jail}</b>".encode() not in ours or f">{count}</td>".encode() not in ours:
            raise RuntimeError(f"the jails page does not show {jail} with {count} bans")


def run(ctx: BenchContext) -> list[Row]:
    counts = ban_counts()
    env = django_env(ctx)
    from jails.live import jail_views  # needs Django set up

    lab: Fail2banLab = ctx.start_lab([lab_jail(name) for name in counts])
    try:
        plan = dict(zip(counts, address_blocks(list(counts.values())), strict=True))
        load_bans(lab, plan)
        env.point_at(lab)
        client = lab.client()
        banned = sum(client.jail_status(j).currently_banned for j in client.jails())
        if banned != TOTAL_BANS or len(client.jails()) != JAIL_COUNT:
            raise RuntimeError(f"the lab holds {banned} bans, expected {TOTAL_BANS}")

        def ours() -> bytes:
            return env.get(PATH)

        def naive() -> bytes:
            with mock.patch.object(jail_views, "jail_overview", naive_overview):
                return env.get(PATH)

        _check(env, counts, naive)
        ours_stats, naive_stats = interleaved([(ours, CALLS), (naive, CALLS)], rounds=ROUNDS)
    finally:
        lab.cleanup()
    return [
        Row(
            name=f"jails page: {JAIL_COUNT} jails, {TOTAL_BANS:,} bans (vs status JAIL basic)",
            ours=ours_stats.summary(median=True),
            baseline=naive_stats.summary(median=True),
            ratio=naive_stats.median / ours_stats.median,
            goal=f"p95 ≤ {GOAL_SECONDS * 1e3:.0f} ms",
            goal_met=ours_stats.p95 <= GOAL_SECONDS,
        )
    ]
