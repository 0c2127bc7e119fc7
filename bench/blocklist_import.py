"""Importing a 100,000-address blocklist served from 127.0.0.1 into a real fail2ban.

- **Ours**: ``blocklists.services.import_run`` end to end, as the job cluster
  runs it: download from a local HTTP server, parse, filter (ignore list,
  reserved ranges, own addresses), ban in batches of 1,000 into the
  ``blocklist-import`` jail it creates, write the run, queue a history sync
  for the job cluster (which archives the bans and looks their countries up).
- **Baseline 1**, fail2ban's raw batch rate: the same 100,000 addresses already
  in memory, ``set bl-raw banip`` × 1,000 per command, nothing else.
- **Baseline 2**, per-address ``fail2ban-client set bl-cli banip IP`` (what a
  shell loop over a list does): 200 calls timed, extrapolated to 100,000.

Rounds alternate ours and raw; after each, the bench waits until fail2ban has
written the bans to its DB, lifts them and waits for the DB to empty, so no
round pays for the previous one's background writes.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from bangui.demo.lab import Fail2banLab

from .core import BenchContext, Row, Stats
from .django_env import django_env
from .labtools import lab_jail, wait_db_bans

COUNT = 100_000
RAW_JAIL = "bl-raw"
CLI_JAIL = "bl-cli"
CLI_CALLS = 200
BATCH = 1_000
ROUNDS = 4  # the first is a warm-up and not counted
RAW_TARGET = 0.8  # our rate / raw batch rate
CLI_TARGET = 100.0  # our rate / per-address fail2ban-client rate


def _public(count: int, first_octet: int) -> list[str]:
    """``count`` distinct addresses in public space (documentation ranges are reserved)."""
    return [
        f"{first_octet}.{n // 254 >> 8 & 255}.{n // 254 & 255}.{n % 254 + 1}" for n in range(count)
    ]


def _rate(stats: Stats, count: int = COUNT) -> float:
    return count * stats.calls / stats.total


def import_vs_raw(
    lab: Fail2banLab, *, ours_ips: list[str], raw_ips: list[str], raw_jail: str, rounds: int
) -> tuple[Stats, Stats, Any]:
    """A blocklist import of ``ours_ips`` (from a 127.0.0.1 server, ``import_run`` end to
    end, through whatever client BanGUI's settings give) against raw batch ``banip`` of
    ``raw_ips`` into ``raw_jail`` on the direct socket; rounds alternate, the first is a
    warm-up. After each side, fail2ban's DB must hold the bans, then everything is lifted.
    Returns our times, raw times and our last ``ImportRun``.
    """
    from blocklists.models import BlocklistSource, ImportRun
    from blocklists.services import import_run, runs_queue
    from blocklists.tests.httpserver import LocalServer, respond
    from jails.audit.services import Actor

    body = ("# bench list\n" + "\n".join(ours_ips) + "\n").encode()
    client = lab.client(timeout=120.0)
    with LocalServer() as server:
        server.route("/list.txt", respond(body))
        url = server.url("/list.txt")
        source, _ = BlocklistSource.objects.update_or_create(name="bench", defaults={"url": url})

        runs: list[ImportRun] = []

        def ours() -> str:
            (run,) = runs_queue([source], actor=Actor.system("bench"), trigger="command")
            run = import_run(run)
            if run.status != ImportRun.Status.OK or run.newly_banned != len(ours_ips):
                raise RuntimeError(f"import: {run.status} {run.newly_banned} {run.error}")
            runs.append(run)
            return run.jail

        def raw() -> str:
            done = 0
            for start in range(0, len(raw_ips), BATCH):
                batch = raw_ips[start : start + BATCH]
                done += int(client._send(["set", raw_jail, "banip", *batch]))
            if done != len(raw_ips):
                raise RuntimeError(f"raw banip: {done} of {len(raw_ips)}")
            return raw_jail

        def timed(fn: Callable[[], str], n: int) -> float:
            started = time.perf_counter()
            jail = fn()
            elapsed = time.perf_counter() - started
            wait_db_bans(lab, n, jail=jail, timeout=300)
            client.unban_all()
            wait_db_bans(lab, 0, timeout=300)
            return elapsed

        samples: dict[str, list[float]] = {"ours": [], "raw": []}
        sides = [("ours", ours, len(ours_ips)), ("raw", raw, len(raw_ips))]
        for r in range(rounds):
            for name, fn, n in sides if r % 2 else sides[::-1]:
                elapsed = timed(fn, n)
                print(f"    {name} round {r}: {elapsed:.2f} s", file=sys.stderr)
                if r:
                    samples[name].append(elapsed)
    return Stats(tuple(samples["ours"])), Stats(tuple(samples["raw"])), runs[-1]


def run(ctx: BenchContext) -> list[Row]:
    env = django_env(ctx)
    lab: Fail2banLab = ctx.start_lab([lab_jail(RAW_JAIL), lab_jail(CLI_JAIL)])
    ours_ips = sorted(set(_public(COUNT, 41)))
    raw_ips = sorted(set(_public(COUNT, 42)))
    try:
        env.point_at(lab)
        ours_s, raw_s, last = import_vs_raw(
            lab, ours_ips=ours_ips, raw_ips=raw_ips, raw_jail=RAW_JAIL, rounds=ROUNDS
        )
        cli = [_cli_ban(lab, f"43.0.{n // 250}.{n % 250 + 1}") for n in range(CLI_CALLS)]
    finally:
        lab.cleanup()
    cli_s = Stats(tuple(cli))
    cli_rate = 1 / cli_s.mean
    ours_rate = _rate(ours_s, len(ours_ips))
    raw_rate = _rate(raw_s, len(raw_ips))
    size = sum(len(ip) + 1 for ip in ours_ips)
    ctx.notes.append(
        f"blocklist: one import of {len(ours_ips):,} addresses ({size / 1e6:.1f} MB) took "
        f"{ours_s.median:.1f} s wall (median); its log:\n" + last.log.rstrip()
    )
    return [
        Row(
            name=f"blocklist import {len(ours_ips):,} IPs vs raw banip ×{BATCH:,}",
            ours=f"{ours_rate:,.0f} IP/s ({ours_s.median:.1f} s wall; {ours_s.calls}×)",
            baseline=f"{raw_rate:,.0f} IP/s ({raw_s.median:.1f} s; {raw_s.calls}×)",
            ratio=ours_rate / raw_rate,
            target=RAW_TARGET,
        ),
        Row(
            name="blocklist import vs per-IP fail2ban-client banip (200 calls, extrapolated)",
            ours=f"{ours_rate:,.0f} IP/s",
            baseline=f"{cli_rate:,.1f} IP/s ({cli_s.mean * 1e3:.0f} ms per call; "
            f"100k ≈ {COUNT / cli_rate / 60:.0f} min)",
            ratio=ours_rate / cli_rate,
            target=CLI_TARGET,
        ),
    ]


def _cli_ban(lab: Fail2banLab, ip: str) -> float:
    started = time.perf_counter()
    subprocess.run(
        ["fail2ban-client", "-s", lab.socket_path, "set", CLI_JAIL, "banip", ip],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return time.perf_counter() - started
