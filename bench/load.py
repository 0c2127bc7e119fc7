"""Many clients at once against BanGUI under gunicorn, as in production (issue 16).

- **Server**: ``gunicorn -c gunicorn.conf.py bangui.wsgi`` (one worker, 8
  threads), the bench's private data dir (0700, static files collected, set up
  with ``setup_complete``), a private fail2ban-server of its own (jails
  ``alpha``, ``beta``, ``gamma`` holding 500, 200 and 50 bans) and the archive of
  the ``dashboard`` bench: 10,000 bans in the last 23 hours, rolled up.
  A stand-in for the job cluster's ``health_check`` refreshes the status
  snapshot every 30 s, as in production.
- **Clients**: ``bench.loadclient``, one thread, one kept connection and one
  login session (``POST /login/`` with its CSRF token) per client; the
  sessions belong to four users (two viewers, an operator, the admin) in turn.
  Each client asks for the pages below round-robin, each from its own offset,
  as fast as it can, for ``SECONDS`` after ``WARMUP``.
- **Levels**: 1, 8 and 32 clients over the mixed pages; then the same with the
  background work of ``bench.load_background`` running (history syncs every
  5 s and blocklist imports of 100,000 addresses back to back).
- **Client capacity**: the same client on ``/health/live`` (no database), and
  the client's CPU time per request, show it is not what limits the figures.
- **In-process**: the median server time of the dashboard and history pages
  through Django's test client, next to ``/health/live`` as the framework floor.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from functools import partial

from bangui.demo.lab import Fail2banLab

from .core import BenchContext, Row, Stats, fmt_ratio, fmt_seconds, interleaved, percentile
from .django_env import PASSWORD, DjangoEnv, django_env
from .labtools import address_blocks, lab_jail, load_bans
from .loadclient import HttpSession, LevelResult, run_level
from .loadserver import Background, Gunicorn, cpu_seconds, machine_busy

PAGES = ("/", "/jails/", "/jails/alpha/", "/history/", "/map/", "/audit/")
LEVELS = (1, 8, 32)
# Per level, in ROUNDS windows that alternate the levels: a machine shared with other
# work drifts, and the ratios compare levels measured side by side.
SECONDS = 20.0
ROUNDS = 4
WARMUP = 1.0
JAIL_BANS = {"alpha": 500, "beta": 200, "gamma": 50}
ARCHIVE = 10_000
USERS = (
    ("admin", "admin"),
    ("viewer1", "viewer"),
    ("operator1", "operator"),
    ("viewer2", "viewer"),
)
SCALING_TARGET = 0.9
BACKGROUND_TARGET = 0.7
P99_GOAL = 1.0
INPROCESS_GOAL = 0.015
HEALTH_EVERY = 30.0


def _loadavg() -> str:
    with open("/proc/loadavg") as fh:
        return " ".join(fh.read().split()[:3])


def _users() -> None:
    from django.contrib.auth import get_user_model

    from bangui.models import UserProfile

    user_model = get_user_model()
    for name, role in USERS[1:]:
        user = user_model.objects.create_user(username=name, password=PASSWORD)
        UserProfile.objects.create(user=user, role=role)


def _audit_rows(count: int = 300) -> None:
    from jails.audit.services import Actor, audit_record

    actor = Actor.system("bench")
    for n in range(count):
        ips = [f"203.0.113.{n % 250}"]
        audit_record(actor=actor, action="ban", target="alpha", params={"ips": ips},
                     result=f"banned 1 address in alpha ({n})")  # fmt: skip


def _prepare(ctx: BenchContext, env: DjangoEnv) -> Fail2banLab:
    from jails.history.rollup import rollup_fill

    from .dashboard import fill
    from .history import _empty_archive

    lab = ctx.start_lab([lab_jail(name) for name in JAIL_BANS])
    blocks = address_blocks(list(JAIL_BANS.values()), first="198.18.0.0")
    load_bans(lab, dict(zip(JAIL_BANS, blocks, strict=True)))
    env.point_at(lab)
    _empty_archive(keep_state=True)
    fill(ARCHIVE, timedelta(hours=23))
    rollup_fill()
    _users()
    _audit_rows()
    return lab


class HealthJob(threading.Thread):
    """What the job cluster's health_check does every 30 s: a fresh status snapshot."""

    def __init__(self, env: DjangoEnv) -> None:
        super().__init__(name="bench-health", daemon=True)
        self.env = env
        self.stopped = threading.Event()

    def run(self) -> None:
        from django.db import connection

        while not self.stopped.wait(HEALTH_EVERY):
            try:
                self.env.refresh_status()
            except RuntimeError as exc:  # offline: the pages probe themselves, as without it
                print(f"    health job: {exc}", file=sys.stderr)
            finally:
                connection.close()


def _sessions(server: Gunicorn, count: int) -> list[HttpSession]:
    sessions = []
    for n in range(count):
        session = HttpSession("127.0.0.1", server.port)
        session.login(USERS[n % len(USERS)][0], PASSWORD)
        sessions.append(session)
    return sessions


class CpuShares:
    """How many cores each process used from now until ``text()``, and the whole machine."""

    def __init__(self, procs: dict[str, Callable[[], float]]) -> None:
        self.procs = procs
        self.before = {name: fn() for name, fn in procs.items()}
        self.machine = machine_busy()
        self.started = time.monotonic()

    def text(self) -> str:
        wall = time.monotonic() - self.started
        busy, total = (b - a for a, b in zip(self.machine, machine_busy(), strict=True))
        cores = total / wall
        used = ", ".join(
            f"{name} {(fn() - self.before[name]) / wall:.2f}" for name, fn in self.procs.items()
        )
        return f"{busy / wall:.2f} of {cores:.0f} cores busy over {wall:.0f} s ({used})"


def _levels(
    sessions: list[HttpSession], server: Gunicorn, label: str, procs: dict[str, Callable[[], float]]
) -> tuple[list[LevelResult], str]:
    """Every level of LEVELS, in ROUNDS alternating windows; one result per level, and
    the CPU the processes used meanwhile."""
    print(f"    {label}: {LEVELS} clients, {ROUNDS} rounds, load {_loadavg()}", file=sys.stderr)
    shares = CpuShares(procs)
    results = {n: LevelResult(clients=n, seconds=0.0) for n in LEVELS}
    for r in range(ROUNDS):
        for n in LEVELS if r % 2 == 0 else LEVELS[::-1]:
            window = run_level(
                sessions[:n],
                PAGES,
                seconds=SECONDS / ROUNDS,
                warmup=WARMUP,
                server_cpu=server.worker_cpu,
            )
            results[n].add(window)
    for result in results.values():
        all_ = result.stats()
        print(
            f"      {result.clients} client(s): {result.rate:.1f} req/s, p50 "
            f"{fmt_seconds(all_.median)}, p99 {fmt_seconds(percentile(all_.samples, 99))}, "
            f"{result.error_count} errors {result.error_samples}, CPU per request: server "
            f"{result.server_cpu_ms:.1f} ms, client {result.client_cpu_ms:.2f} ms",
            file=sys.stderr,
        )
    cpu = shares.text()
    print(f"    CPU: {cpu}; load {_loadavg()}", file=sys.stderr)
    return list(results.values()), f"{label}: {cpu}"


def _pcts(stats: Stats) -> str:
    p = [percentile(stats.samples, q) * 1e3 for q in (50, 95, 99)]
    return f"{p[0]:.0f}/{p[1]:.0f}/{p[2]:.0f}"


def _level_row(label: str, result: LevelResult, one: LevelResult, target: float) -> Row:
    stats = result.stats()
    p99 = percentile(stats.samples, 99)
    return Row(
        name=f"load{label}: mixed pages, {result.clients} client(s)",
        ours=f"{result.rate:.1f} req/s; p50/p95/p99 {_pcts(stats)} ms; "
        f"{result.error_count} errors; server CPU {result.server_cpu_ms:.1f} ms/req "
        f"({result.done}×)",
        baseline=f"{one.rate:.1f} req/s at 1 client",
        ratio=result.rate / one.rate,
        target=target if result.clients > 1 else None,
        goal=f"p99 ≤ {P99_GOAL:g} s, 0 errors",
        goal_met=p99 <= P99_GOAL and result.error_count == 0,
    )


def _page_rows(label: str, results: list[LevelResult]) -> list[Row]:
    rows = []
    for page in PAGES:
        parts = [f"{r.clients}: {_pcts(r.stats(page))}" for r in results]
        rows.append(
            Row(
                name=f"load{label}: {page} p50/p95/p99 ms by clients",
                ours=" · ".join(parts),
                baseline="-",
            )  # fmt: skip
        )
    return rows


def _in_process(env: DjangoEnv) -> list[Row]:
    calls: list[tuple[Callable[[], object], int]] = [
        (lambda: env.get("/"), 30),
        (lambda: env.get("/history/"), 30),
        (lambda: env.get("/health/live"), 30),
    ]
    dash, hist, live = interleaved(calls, rounds=10)
    return [
        Row(
            name=f"in-process {name} ({ARCHIVE:,} archived) vs /health/live",
            ours=stats.summary(median=True),
            baseline=live.summary(median=True),
            goal=f"median ≤ {INPROCESS_GOAL * 1e3:.0f} ms",
            goal_met=stats.median <= INPROCESS_GOAL,
        )
        for name, stats in (("GET / (dashboard)", dash), ("GET /history/", hist))
    ]


def run(ctx: BenchContext) -> list[Row]:
    env = django_env(ctx)
    lab = _prepare(ctx, env)
    rows = _in_process(env)
    health = HealthJob(env)
    health.start()
    server = Gunicorn(env.data_dir)
    ctx.add_cleanup(server.stop)
    background = Background(env.data_dir, server.env)
    ctx.add_cleanup(background.stop)
    try:
        server.start()
        sessions = _sessions(server, max(LEVELS))
        live = run_level(sessions[:8], ["/health/live"], seconds=5.0, warmup=1.0)
        assert lab.proc is not None
        procs: dict[str, Callable[[], float]] = {
            "gunicorn worker": server.worker_cpu,
            "fail2ban": partial(cpu_seconds, lab.proc.pid, children=True),
            "load client": time.process_time,
        }
        quiet, quiet_cpu = _levels(sessions, server, "quiet", procs)
        background.start()
        assert background.proc is not None
        procs["background"] = partial(cpu_seconds, background.proc.pid)
        busy, busy_cpu = _levels(sessions, server, "with sync and imports", procs)
        ctx.notes += [f"load CPU, {quiet_cpu}", f"load CPU, {busy_cpu}"]
        ctx.notes.append(background.stop())
        ctx.notes.append(f"load: worker pid {server.worker_pid()}, load average {_loadavg()}")
    finally:
        health.stopped.set()
        background.stop()
        server.stop()
    one = quiet[0]
    rows.append(
        Row(
            name="load: client capacity, /health/live, 8 clients",
            ours=f"{live.rate:,.0f} req/s; client CPU {live.client_cpu_ms:.2f} ms/req",
            baseline=f"mixed pages: client CPU {quiet[1].client_cpu_ms:.2f} ms/req",
            goal="≥ 5× the mixed pages' best",
            goal_met=live.rate >= 5 * max(r.rate for r in quiet + busy),
        )
    )
    rows += [_level_row("", r, one, SCALING_TARGET) for r in quiet]
    rows += [_level_row(" + sync/import", r, one, BACKGROUND_TARGET) for r in busy[1:]]
    rows += _page_rows("", quiet) + _page_rows(" + sync/import", busy)
    ctx.notes.append(
        f"load: bg 1 client {busy[0].rate:.1f} req/s; ratios to it "
        + ", ".join(f"{r.clients}: {fmt_ratio(r.rate / busy[0].rate)}×" for r in busy[1:])
        + f"; CPU count {os.cpu_count()}; {time.strftime('%Y-%m-%d %H:%M')}"
    )
    return rows
