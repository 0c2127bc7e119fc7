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
from collections.abc import Callable
from pathlib import Path

from bangui.broker.client import BrokerClient, wait_ready
from bangui.demo.lab import Fail2banLab
from bangui.fail2ban.client import Fail2banClient

from .blocklist_import import BATCH, COUNT, _public, _rate
from .client_vs_cli import CLI_CALLS, JAIL, _cli_call
from .core import BenchContext, Row, Stats, fmt_seconds, interleaved
from .django_env import django_env
from .labtools import lab_jail, wait_db_bans

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

    from blocklists.models import BlocklistSource, ImportRun
    from blocklists.services import import_run, runs_queue
    from blocklists.tests.httpserver import LocalServer, respond
    from jails.audit.services import Actor

    lab: Fail2banLab = ctx.start_lab([lab_jail(RAW_JAIL)])
    run_dir = Path(tempfile.mkdtemp(prefix="bgb-bench-", dir="/tmp"))
    proc, sock, _ = _start(lab, run_dir)
    ours_ips = sorted(set(_public(COUNT, 44)))
    raw_ips = sorted(set(_public(COUNT, 45)))
    body = ("# bench list\n" + "\n".join(ours_ips) + "\n").encode()
    before = settings.BANGUI_BROKER_SOCKET
    samples: dict[str, list[float]] = {"ours": [], "raw": []}
    rss = float("nan")
    try:
        env.point_at(lab)
        settings.BANGUI_BROKER_SOCKET = sock
        client = lab.client(timeout=120.0)
        with LocalServer() as server:
            server.route("/list.txt", respond(body))
            url = server.url("/list.txt")
            source = BlocklistSource.objects.create(name="bench-broker", url=url)

            def ours() -> str:
                (run,) = runs_queue([source], actor=Actor.system("bench"), trigger="command")
                run = import_run(run)
                if run.status != ImportRun.Status.OK or run.newly_banned != len(ours_ips):
                    raise RuntimeError(f"import: {run.status} {run.newly_banned} {run.error}")
                return run.jail

            def raw() -> str:
                done = 0
                for start in range(0, len(raw_ips), BATCH):
                    batch = raw_ips[start : start + BATCH]
                    done += int(client._send(["set", RAW_JAIL, "banip", *batch]))
                if done != len(raw_ips):
                    raise RuntimeError(f"raw banip: {done} of {len(raw_ips)}")
                return RAW_JAIL

            def timed(fn: Callable[[], str], n: int) -> float:
                started = time.perf_counter()
                jail = fn()
                elapsed = time.perf_counter() - started
                wait_db_bans(lab, n, jail=jail, timeout=300)
                client.unban_all()
                wait_db_bans(lab, 0, timeout=300)
                return elapsed

            sides = [("ours", ours, len(ours_ips)), ("raw", raw, len(raw_ips))]
            for r in range(ROUNDS):
                for name, fn, n in sides if r % 2 else sides[::-1]:
                    elapsed = timed(fn, n)
                    print(f"    broker import {name} round {r}: {elapsed:.2f} s", file=sys.stderr)
                    if r:
                        samples[name].append(elapsed)
            rss = _rss_mib(proc.pid)
    finally:
        settings.BANGUI_BROKER_SOCKET = before
        _stop(proc)
        lab.cleanup()
    ours_s, raw_s = Stats(tuple(samples["ours"])), Stats(tuple(samples["raw"]))
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
