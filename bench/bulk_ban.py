"""Banning 10,000 addresses: BanGUI's ban service against raw socket commands.

Ours: ``jails.live.services.ban_create`` (validates every address, bans in
batches through ``Fail2banClient.ban``, clears the ban-list cache, writes one
audit row) into the empty jail ``bulk-ours``.
Baseline: ``set bulk-raw banip`` with 1,000 addresses per command, sent with
``Fail2banClient._send`` (no validation, nothing else) into the empty jail
``bulk-raw``, other addresses.

Both go through a default client (one connection per command). The two are
timed alternately, one ban of 10k per side per round, the order swapped every
round. After each, the bench waits until fail2ban has written the bans to its
DB (a background thread that would otherwise slow the next one down), then
lifts them (``unban --all``) and waits for the DB to be empty again.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from bangui.demo.lab import Fail2banLab

from .core import BenchContext, Row, Stats
from .django_env import django_env
from .labtools import ipv4_block, lab_jail, wait_db_bans

OURS_JAIL = "bulk-ours"
RAW_JAIL = "bulk-raw"
COUNT = 10_000
RAW_BATCH = 1_000
ROUNDS = 6  # the first is a warm-up and not counted
TARGET = 0.8  # our rate / raw rate


def _rate(stats: Stats) -> float:
    return COUNT * stats.calls / stats.total


def _summary(stats: Stats) -> str:
    med = stats.median
    return f"{_rate(stats):,.0f} IP/s (median {med:.2f} s per 10k; {stats.calls}×)"


def run(ctx: BenchContext) -> list[Row]:
    env = django_env(ctx)
    from jails.audit.services import Actor  # needs Django set up
    from jails.live.services import ban_create

    lab: Fail2banLab = ctx.start_lab([lab_jail(OURS_JAIL), lab_jail(RAW_JAIL)])
    try:
        env.point_at(lab)
        client = lab.client(timeout=60.0)
        ours_ips = ipv4_block("10.1.0.0", COUNT)
        raw_ips = ipv4_block("10.2.0.0", COUNT)
        actor = Actor.system("bench")

        def ours() -> None:
            result = ban_create(actor=actor, client=client, jail=OURS_JAIL, ips=ours_ips)
            if not result.ok or result.banned != COUNT:
                raise RuntimeError(f"ban_create: {result}")

        def raw() -> None:
            done = 0
            for start in range(0, COUNT, RAW_BATCH):
                batch = raw_ips[start : start + RAW_BATCH]
                done += int(client._send(["set", RAW_JAIL, "banip", *batch]))
            if done != COUNT:
                raise RuntimeError(f"raw banip: {done} of {COUNT} banned")

        def timed(fn: Callable[[], None], jail: str) -> float:
            started = time.perf_counter()
            fn()
            elapsed = time.perf_counter() - started
            wait_db_bans(lab, COUNT, jail=jail)
            client.unban_all()
            wait_db_bans(lab, 0)
            return elapsed

        samples: dict[str, list[float]] = {OURS_JAIL: [], RAW_JAIL: []}
        sides = [(ours, OURS_JAIL), (raw, RAW_JAIL)]
        for n in range(ROUNDS):
            for fn, jail in sides if n % 2 else sides[::-1]:
                elapsed = timed(fn, jail)
                if n:
                    samples[jail].append(elapsed)
    finally:
        lab.cleanup()
    ours_stats, raw_stats = Stats(tuple(samples[OURS_JAIL])), Stats(tuple(samples[RAW_JAIL]))
    return [
        Row(
            name=f"bulk ban {COUNT:,}: ban_create vs raw banip ×{RAW_BATCH:,}",
            ours=_summary(ours_stats),
            baseline=_summary(raw_stats),
            ratio=_rate(ours_stats) / _rate(raw_stats),
            target=TARGET,
        )
    ]
