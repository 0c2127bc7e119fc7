"""The root broker (issue 17) next to the direct socket, side by side in one run.

- **Start and memory**: ``python -m bangui.broker`` started as in production,
  timed until it answers ``hello``; its resident memory then, after the status
  calls and after the import.
- **status alpha short**: a kept ``BrokerClient`` against a kept direct
  ``Fail2banClient`` (target: at most 2x its time) and against
  ``fail2ban-client`` run as a subprocess (target: at least 300x faster).
- **100,000-address blocklist import through the broker** (web and jobs as an
  unprivileged user would run it) against fail2ban's raw batch ``banip`` on
  the direct socket, rounds alternating (target: at least 0.8x its rate).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bangui.broker.client import BrokerClient, wait_ready
from bangui.demo.lab import Fail2banLab
from bangui.fail2ban.client import Fail2banClient

from .blocklist_import import COUNT, _public, _rate, import_vs_raw
from .client_vs_cli import CLI_CALLS, JAIL, _cli_call
from .core import BenchContext, Row, fmt_seconds, interleaved
from .django_env import django_env
from .labtools import lab_jail

CALLS = 1000
RATIO_LIMIT = 2.0  # broker time / direct time
CLI_TARGET = 300.0
IMPORT_TARGET = 0.8
ROUNDS = 3  # the first is a warm-up
RAW_JAIL = "bl-raw"


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _start(lab: Fail2banLab, run_dir: Path) -> tuple[subprocess.Popen[bytes], str, float]:
    sock = str(run_dir / "broker.sock")
    started = time.perf_counter()
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "bangui.broker", "--socket", sock,
            "--fail2ban-socket", lab.socket_path, "--config-dir", str(lab.conf_dir),
            "--state-dir", str(run_dir / "state"), "--log-level", "WARNING",
        ]
    )  # fmt: skip
    wait_ready(sock, timeout=30)
    return proc, sock, time.perf_counter() - started


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


def run(ctx: BenchContext) -> list[Row]:
    rows = _status_rows(ctx)
    rows += _import_rows(ctx)
    rows += _page_rows(ctx)
    return rows


PAGE_CALLS = 20
PAGE_GOAL = 0.300


def _page_rows(ctx: BenchContext) -> list[Row]:
    """The jails page (50 jails, 65,000 bans) and a 65,000-ban jail's page, through the
    broker (fail2ban's socket and DB read by it) and direct, side by side."""
    env = django_env(ctx)
    from django.conf import settings

    from jails.live.selectors import banlist_invalidate

    from .jails_page import ban_counts
    from .labtools import address_blocks, load_bans

    counts = ban_counts()
    setups = [("jails page: 50 jails, 65,000 bans", counts, "/jails/")]
    setups.append(("jail detail: 65,000 bans, page 1", {"big": 65_000}, "/jails/big/"))
    rows: list[Row] = []
    before = settings.BANGUI_BROKER_SOCKET
    for name, plan_counts, path in setups:
        lab: Fail2banLab = ctx.start_lab([lab_jail(j) for j in plan_counts])
        run_dir = Path(tempfile.mkdtemp(prefix="bgb-bench-", dir="/tmp"))
        proc, sock, _ = _start(lab, run_dir)
        try:
            plan = dict(zip(plan_counts, address_blocks(list(plan_counts.values())), strict=True))
            load_bans(lab, plan)
            env.point_at(lab)

            def get(via_broker: bool, sock: str = sock, path: str = path) -> bytes:
                settings.BANGUI_BROKER_SOCKET = sock if via_broker else ""
                banlist_invalidate("big")
                return env.get(path)

            if get(True).count(b"<tr") != get(False).count(b"<tr"):
                raise RuntimeError(f"{path}: the broker's page differs from the direct one")
            ours, base = interleaved(
                [(lambda: get(True), PAGE_CALLS), (lambda: get(False), PAGE_CALLS)], rounds=10
            )
        finally:
            settings.BANGUI_BROKER_SOCKET = before
            _stop(proc)
            lab.cleanup()
        rows.append(
            Row(
                name=f"{name}, via the broker (vs direct)",
                ours=ours.summary(median=True),
                baseline=base.summary(median=True),
                ratio=base.median / ours.median,
                goal=f"p95 ≤ {PAGE_GOAL * 1e3:.0f} ms",
                goal_met=ours.p95 <= PAGE_GOAL,
            )
        )
    return rows


def _status_rows(ctx: BenchContext) -> list[Row]:
    lab = ctx.lab
    run_dir = Path(tempfile.mkdtemp(prefix="bgb-bench-", dir="/tmp"))
    proc, sock, start_s = _start(lab, run_dir)
    rss_start = _rss_mib(proc.pid)
    via = BrokerClient(sock, persistent=True)
    direct = Fail2banClient(lab.socket_path, persistent=True)
    cli = _cli_call(lab.socket_path)
    try:
        if via.jail_status(JAIL) != direct.jail_status(JAIL):
            raise RuntimeError("the broker and the direct socket disagree")
        ours, base, cli_s = interleaved(
            [
                (lambda: via.jail_status(JAIL), CALLS),
                (lambda: direct.jail_status(JAIL), CALLS),
                (cli, CLI_CALLS),
            ]
        )
        rss_after = _rss_mib(proc.pid)
    finally:
        via.close()
        direct.close()
        _stop(proc)
    ratio = ours.mean / base.mean
    return [
        Row(
            name="status alpha short: broker vs direct socket",
            ours=ours.summary(),
            baseline=base.summary(),
            goal=f"≤ {RATIO_LIMIT:g}× direct (is {ratio:.2f}×)",
            goal_met=ratio <= RATIO_LIMIT,
        ),
        Row(
            name="status alpha short: broker vs fail2ban-client",
            ours=ours.summary(),
            baseline=cli_s.summary(),
            ratio=cli_s.mean / ours.mean,
            target=CLI_TARGET,
        ),
        Row(
            name="broker: start until it answers, resident memory",
            ours=f"start {fmt_seconds(start_s)}; RSS {rss_start:.1f} MiB, "
            f"{rss_after:.1f} MiB after {CALLS:,} calls",
            baseline="",
        ),
    ]


def _import_rows(ctx: BenchContext) -> list[Row]:
    env = django_env(ctx)
    from django.conf import settings

    lab: Fail2banLab = ctx.start_lab([lab_jail(RAW_JAIL)])
    run_dir = Path(tempfile.mkdtemp(prefix="bgb-bench-", dir="/tmp"))
    proc, sock, _ = _start(lab, run_dir)
    ours_ips = sorted(set(_public(COUNT, 44)))
    raw_ips = sorted(set(_public(COUNT, 45)))
    before = settings.BANGUI_BROKER_SOCKET
    try:
        env.point_at(lab)
        settings.BANGUI_BROKER_SOCKET = sock  # the import's bans go web → broker → fail2ban
        ours_s, raw_s, _ = import_vs_raw(
            lab, ours_ips=ours_ips, raw_ips=raw_ips, raw_jail=RAW_JAIL, rounds=ROUNDS
        )
        rss = _rss_mib(proc.pid)
    finally:
        settings.BANGUI_BROKER_SOCKET = before
        _stop(proc)
        lab.cleanup()
    ours_rate, raw_rate = _rate(ours_s, len(ours_ips)), _rate(raw_s, len(raw_ips))
    return [
        Row(
            name=f"blocklist import {len(ours_ips):,} IPs via the broker vs raw banip",
            ours=f"{ours_rate:,.0f} IP/s ({ours_s.median:.1f} s; {ours_s.calls}×)",
            baseline=f"{raw_rate:,.0f} IP/s ({raw_s.median:.1f} s; {raw_s.calls}×)",
            ratio=ours_rate / raw_rate,
            target=IMPORT_TARGET,
        ),
        Row(
            name="broker: resident memory after the imports",
            ours=f"RSS {rss:.1f} MiB",
            baseline="",
        ),
    ]
