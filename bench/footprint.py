"""What BanGUI costs a small server at rest: memory and idle CPU of the web app and job cluster.

Everything runs as in production, next to a real private fail2ban-server with
a few hundred bans and a blocklist served on 127.0.0.1:

- per instance a private 0700 data dir (SQLite), ``migrate``, ``collectstatic``,
  ``sync_schedules``, setup (``bangui.setup.services.setup_complete``) and one
  hourly blocklist source, then ``manage.py qcluster`` and
  ``gunicorn -c gunicorn.conf.py bangui.wsgi`` on a free 127.0.0.1 port;
- a crawl: ``POST /login/`` with the CSRF token, then every page without
  arguments and the pages of a jail, an IP, a config file …, three times;
- the jobs settle: on a fresh database ``sync_schedules`` makes every schedule
  due at once, so the bench waits until every periodic job (the daily ones
  too) has run once and the queue is empty;
- then nothing but the jobs for ``--footprint-idle`` seconds (default 180: the
  30-second and one-minute jobs run several times): CPU time is the delta of
  ``utime+stime`` (plus the reaped children's) of every process in
  ``/proc/PID/stat`` over that window; memory is read at its end from
  ``/proc/PID/smaps_rollup``.

**RSS and PSS.** RSS counts every page a process maps, so pages that forked
processes share (Django, loaded once before the fork) are counted once per
process, and the RSS sum overstates what the machine loses. PSS divides each
shared page among the processes that map it; the PSS sum is the memory the
instance really takes. The target (≤ 200 MiB) is on PSS; both are reported.

The baseline is the same measurement of BanGUI as it was before this
benchmark's changes (``git archive`` of ``--footprint-baseline``, default
``BASELINE_REV``, run with this venv), side by side in the same run: both
instances are started and crawled one after the other, then idle together.
``--footprint-baseline none`` measures the working tree alone.
"""

from __future__ import annotations

import contextlib
import http.cookiejar
import ipaddress
import itertools
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO

from bangui.demo.blocklist import serve_blocklist
from bangui.demo.lab import TEST_JAILS, Fail2banLab

from .core import BenchContext, Row

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
# BanGUI before this benchmark's changes (issue 16 item 4): django-q2's stock
# process model with two workers, as a reviewer measured it.
BASELINE_REV = "040992a"
IDLE_SECONDS = 180
SETTLE_TIMEOUT = 240.0
CRAWL_ROUNDS = 3
PSS_GOAL_MIB = 200.0
CPU_GOAL_PCT = 1.0
PASSWORD = "footprint-bench-password-1234"  # noqa: S105 - a throwaway admin in a temp DB
# What a reviewer measured on 2026-12-01 after a crawl and a few minutes of idle jobs.
REVIEWER = "reviewer: web 66 MiB, total 399 MiB RSS, 1.4 % CPU"

# Prints the paths to crawl: every named URL, with sample arguments. Runs in
# each instance's own code tree (``manage.py shell``), so it lists its pages.
CRAWL_PATHS = r"""
from django.urls import URLResolver, get_resolver, reverse
SAMPLES = {"name": ("alpha", "sshd"), "subdir": ("filter.d",), "pk": ("1",),
           "ip": ("203.0.113.7",)}
SKIP = {"logout", "login", "login_code", "setup", "admin_login"}
def names(entries):
    for e in entries:
        if isinstance(e, URLResolver):
            if e.app_name != "admin":
                yield from names(e.url_patterns)
        elif e.name:
            yield e.name
resolver = get_resolver()
for name in sorted(set(names(resolver.url_patterns)) - SKIP):
    params = sorted(resolver.reverse_dict.getlist(name)[0][0][0][1])
    if "subdir" in params:
        values = {"subdir": "filter.d", "name": "sshd.conf"}
    else:
        values = {p: SAMPLES.get(p, ("x",))[0] for p in params}
    try:
        print(reverse(name, kwargs={p: values[p] for p in params}))
    except Exception:
        pass
print(reverse("admin:index"))
"""

SETUP = r"""
import os
from django.utils import timezone
from bangui.setup.services import setup_complete
from blocklists.models import BlocklistSource
env = os.environ
setup_complete(password=env["FP_PASSWORD"], fail2ban_socket=env["FP_SOCKET"],
               fail2ban_config_dir=env["FP_CONF"], timezone_name="UTC", session_minutes=480)
BlocklistSource.objects.create(name="footprint list", url=env["FP_LIST"], schedule="hourly",
                               next_run_at=timezone.now())
"""

# django-q2 logs each helper process's pid when it starts.
ROLE_LINES = (
    (re.compile(r"ready for work at (\d+)"), "worker"),
    (re.compile(r"monitoring at (\d+)"), "monitor"),
    (re.compile(r"pushing tasks at (\d+)"), "pusher"),
)


@dataclass
class Instance:
    """One BanGUI: web + job cluster from one code tree, with its own data dir and port."""

    label: str
    code_dir: Path
    data_dir: Path
    port: int
    env: dict[str, str]
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    logs: dict[str, Path] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def manage(self, *args: str, env: dict[str, str] | None = None) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=self.code_dir,
            env=self.env | (env or {}),
            capture_output=True,
            text=True,
            timeout=180,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{self.label}: manage.py {args[0]} failed:\n{done.stderr[-2000:]}")
        return done.stdout

    def start(self, name: str, argv: list[str]) -> None:
        log = self.data_dir / f"{name}.log"
        self.logs[name] = log
        with log.open("wb") as fh:
            # Own session: a Ctrl-C of the bench reaches only the bench, which stops these.
            self.procs[name] = subprocess.Popen(
                argv,
                cwd=self.code_dir,
                env=self.env,
                stdout=fh,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def stop(self) -> None:
        """SIGTERM to each main process only (django-q2 stops its own helpers), then the group."""
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(40)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(5)

    def check_alive(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                tail = self.logs[name].read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{self.label}: {name} exited ({proc.returncode}):\n{tail}")

    def roles(self) -> dict[int, str]:
        """pid → role, for every live process of this instance."""
        roles: dict[int, str] = {}
        web = self.procs["web"].pid
        roles[web] = "web: gunicorn master"
        for pid in _children(web):
            roles[pid] = "web: gunicorn worker"
        main = self.procs["cluster"].pid
        named: dict[int, list[str]] = {}
        text = self.logs["cluster"].read_text(errors="replace")
        for pattern, role in ROLE_LINES:
            for match in pattern.finditer(text):
                named.setdefault(int(match.group(1)), []).append(role)
        for pid in _tree(main):
            if pid == main:
                base = "cluster: main"
            elif pid in named and named[pid] == ["worker"]:
                base = "cluster: worker"
            elif pid in named:
                base = "cluster: " + "+".join(sorted(set(named[pid])))
            else:
                base = "cluster: sentinel"
            extra = sorted(set(named.get(pid, ()))) if pid == main else []
            roles[pid] = base + (f" (+{', '.join(extra)} threads)" if extra else "")
        return roles


# -- /proc -------------------------------------------------------------------------


def _stat_fields(pid: int) -> list[str]:
    text = Path(f"/proc/{pid}/stat").read_text()
    return text.rsplit(")", 1)[1].split()  # after "(comm)": state is field 0


def _parents() -> dict[int, int]:
    """pid → parent pid of every process (this kernel has no /proc/PID/task/TID/children)."""
    out: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError, IndexError):
                out[int(entry)] = int(_stat_fields(int(entry))[1])
    return out


def _children(pid: int) -> list[int]:
    return sorted(p for p, parent in _parents().items() if parent == pid)


def _tree(pid: int) -> list[int]:
    """pid and all its descendants that are alive now."""
    parents = _parents()
    if pid not in parents:
        return []
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        todo += sorted(p for p, parent in parents.items() if parent == current)
    return out


def cpu_ticks(pid: int) -> int:
    """utime + stime of the process (all threads) and of its reaped children."""
    try:
        fields = _stat_fields(pid)
    except OSError:
        return 0
    return sum(int(fields[i]) for i in (11, 12, 13, 14))


def memory_kib(pid: int) -> tuple[int, int, int]:
    """(RSS, PSS, PSS of file-backed pages) in KiB from smaps_rollup.

    File-backed pages are code and mapped files (the GeoIP database is read
    through mmap): page cache the kernel can drop and read again, unlike the
    anonymous rest.
    """
    fields: dict[str, int] = {}
    with contextlib.suppress(OSError), open(f"/proc/{pid}/smaps_rollup") as fh:
        for line in fh:
            key, _, value = line.partition(":")
            if key in ("Rss", "Pss", "Pss_File"):
                fields[key] = int(value.split()[0])
    return fields.get("Rss", 0), fields.get("Pss", 0), fields.get("Pss_File", 0)


def threads(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/task"))
    except OSError:
        return 0


# -- setting up ---------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _clean_env() -> dict[str, str]:
    """This environment without BanGUI's or Django's settings (they would point elsewhere)."""
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("BANGUI_", "DJANGO_", "GUNICORN_")) and k != "WEB_CONCURRENCY"
    }


def _export(ctx: BenchContext, rev: str) -> Path:
    """The tree of ``rev`` in a temporary directory (``git archive``)."""
    tree = Path(tempfile.mkdtemp(prefix="bangui-fp-base-"))
    ctx.add_cleanup(lambda: shutil.rmtree(tree, ignore_errors=True))
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", rev],
        capture_output=True,
        check=True,
        timeout=120,
    ).stdout
    tar_path = tree / ".tar"
    tar_path.write_bytes(archive)
    with tarfile.open(tar_path) as tar:
        tar.extractall(tree, filter="data")
    tar_path.unlink()
    return tree


def _instance(ctx: BenchContext, label: str, code_dir: Path, extra: dict[str, str]) -> Instance:
    data_dir = Path(tempfile.mkdtemp(prefix="bangui-fp-"))  # mkdtemp: 0700
    ctx.add_cleanup(lambda: shutil.rmtree(data_dir, ignore_errors=True))
    port = _free_port()
    env = _clean_env() | {
        "BANGUI_DATA_DIR": str(data_dir),
        "BANGUI_STATIC_ROOT": str(data_dir / "static"),
        "BANGUI_SECURE_COOKIES": "false",
        "BANGUI_BIND": f"127.0.0.1:{port}",
        "BANGUI_BLOCKLIST_ALLOW_HOSTS": "127.0.0.1",
        "PATH": f"{VENV_BIN}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        **extra,
    }
    return Instance(label, code_dir, data_dir, port, env)


def _boot(ctx: BenchContext, inst: Instance, lab: Fail2banLab, list_url: str) -> None:
    started = time.monotonic()
    inst.manage("migrate", "--noinput")
    inst.manage("collectstatic", "--noinput")
    inst.manage("sync_schedules")
    setup = {
        "FP_PASSWORD": PASSWORD,
        "FP_SOCKET": lab.socket_path,
        "FP_CONF": str(lab.conf_dir),
        "FP_LIST": list_url,
    }
    inst.manage("shell", "-c", SETUP, env=setup)
    where = inst.manage("shell", "-c", "import bangui; print(bangui.__file__)").split()[-1]
    if not where.startswith(str(inst.code_dir)):
        raise RuntimeError(f"{inst.label}: runs {where}, not the code in {inst.code_dir}")
    ctx.add_cleanup(inst.stop)
    inst.start("cluster", [sys.executable, "manage.py", "qcluster"])
    inst.start("web", [str(VENV_BIN / "gunicorn"), "-c", "gunicorn.conf.py", "bangui.wsgi"])
    deadline = time.monotonic() + 60
    while True:
        inst.check_alive()
        try:
            with urllib.request.urlopen(inst.url + "/health/live", timeout=2):  # noqa: S310
                break
        except (OSError, urllib.error.URLError):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{inst.label}: gunicorn not answering after 60 s") from None
            time.sleep(0.3)
    print(
        f"    {inst.label}: up on {inst.url} in {time.monotonic() - started:.1f} s", file=sys.stderr
    )


# -- the crawl -----------------------------------------------------------------------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def _login(inst: Instance) -> urllib.request.OpenerDirector:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), _NoRedirect)
    page = opener.open(inst.url + "/login/", timeout=30).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    if token is None:
        raise RuntimeError(f"{inst.label}: no CSRF token on the login page")
    form = {"username": "admin", "password": PASSWORD, "csrfmiddlewaretoken": token.group(1)}
    request = urllib.request.Request(
        inst.url + "/login/",
        data=urllib.parse.urlencode(form).encode(),
        headers={"Referer": inst.url + "/login/"},
    )
    try:
        opener.open(request, timeout=30)
        raise RuntimeError(f"{inst.label}: login did not redirect (wrong password?)")
    except urllib.error.HTTPError as exc:
        if exc.code != 302:
            raise RuntimeError(f"{inst.label}: login answered HTTP {exc.code}") from None
    return opener


def _crawl(inst: Instance) -> tuple[int, list[str]]:
    paths = [p for p in inst.manage("shell", "-c", CRAWL_PATHS).split() if p.startswith("/")]
    opener = _login(inst)
    count = 0
    errors: list[str] = []
    started = time.monotonic()
    for _ in range(CRAWL_ROUNDS):
        for path in paths:
            where = ""
            try:
                with opener.open(inst.url + path, timeout=60) as response:
                    response.read()
                    status = response.status
            except urllib.error.HTTPError as exc:
                status, where = exc.code, exc.headers.get("Location", "")
            count += 1
            # A redirect elsewhere is a page's answer (/config/ → its first tab);
            # one to the login page means the crawl lost its session.
            if status >= 500 or "/login/" in where:
                errors.append(f"{status} {path}")
    print(
        f"    {inst.label}: crawled {len(paths)} pages × {CRAWL_ROUNDS} "
        f"in {time.monotonic() - started:.1f} s",
        file=sys.stderr,
    )
    return count, sorted(set(errors))


# -- waiting for the jobs ------------------------------------------------------------


def _jobs_pending(inst: Instance) -> list[str]:
    """Schedules whose job has not run to the end yet, and tasks still queued."""
    db = inst.data_dir / "bangui.sqlite3"
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        pending = [
            name
            for (name,) in conn.execute(
                "SELECT s.name FROM django_q_schedule s LEFT JOIN django_q_task t "
                "ON t.id = s.task WHERE t.id IS NULL ORDER BY s.name"
            )
        ]
        queued = conn.execute("SELECT count(*) FROM django_q_ormq").fetchone()[0]
    finally:
        conn.close()
    return pending + ([f"{queued} queued task(s)"] if queued else [])


def _failed_jobs(inst: Instance) -> list[str]:
    db = inst.data_dir / "bangui.sqlite3"
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        rows = conn.execute(
            "SELECT DISTINCT func FROM django_q_task WHERE NOT success ORDER BY func"
        ).fetchall()
    finally:
        conn.close()
    return [func for (func,) in rows]


def _health_gap(inst: Instance) -> float:
    """The longest time between two health checks' starts, in seconds.

    Scheduled every 30 s; a longer gap means the job waited for a free worker
    (on a fresh database every job is due at once, the hourly and daily ones too).
    """
    db = inst.data_dir / "bangui.sqlite3"
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        rows = conn.execute(
            "SELECT started FROM django_q_task WHERE func = 'bangui.tasks.health_check' "
            "ORDER BY started"
        ).fetchall()
    finally:
        conn.close()
    times = [datetime.fromisoformat(started) for (started,) in rows]
    return max(((b - a).total_seconds() for a, b in itertools.pairwise(times)), default=0.0)


def _settle(instances: Iterable[Instance]) -> None:
    started = time.monotonic()
    waiting = list(instances)
    while waiting:
        for inst in list(waiting):
            inst.check_alive()
            with contextlib.suppress(sqlite3.OperationalError):
                if not _jobs_pending(inst):
                    waiting.remove(inst)
                    print(
                        f"    {inst.label}: every job has run once "
                        f"({time.monotonic() - started:.0f} s)",
                        file=sys.stderr,
                    )
        if waiting and time.monotonic() - started > SETTLE_TIMEOUT:
            left = {i.label: _jobs_pending(i) for i in waiting}
            raise RuntimeError(f"jobs still pending after {SETTLE_TIMEOUT:.0f} s: {left}")
        time.sleep(1)


# -- measuring -------------------------------------------------------------------------


@dataclass(frozen=True)
class ProcFigures:
    role: str
    pid: int
    rss_kib: int
    pss_kib: int
    pss_file_kib: int
    threads: int
    cpu_pct: float


@dataclass(frozen=True)
class Figures:
    label: str
    procs: tuple[ProcFigures, ...]
    cpu_pct: float  # the whole instance, incl. processes that came and went
    health_gap: float = 0.0  # seconds, see _health_gap

    @property
    def rss_mib(self) -> float:
        return sum(p.rss_kib for p in self.procs) / 1024

    @property
    def pss_mib(self) -> float:
        return sum(p.pss_kib for p in self.procs) / 1024

    def part(self, prefix: str) -> tuple[float, float]:
        chosen = [p for p in self.procs if p.role.startswith(prefix)]
        return sum(p.rss_kib for p in chosen) / 1024, sum(p.pss_kib for p in chosen) / 1024


def _idle(instances: list[Instance], seconds: float) -> list[Figures]:
    tck = os.sysconf("SC_CLK_TCK")
    roots = {i.label: [i.procs["web"].pid, i.procs["cluster"].pid] for i in instances}

    def totals() -> dict[str, int]:
        return {
            label: sum(cpu_ticks(p) for root in pids for p in _tree(root))
            for label, pids in roots.items()
        }

    per_start = {p: cpu_ticks(p) for pids in roots.values() for r in pids for p in _tree(r)}
    start_total = totals()
    load_start = os.getloadavg()
    t0 = time.monotonic()
    print(f"    idle for {seconds:.0f} s (load {_load(load_start)})", file=sys.stderr)
    while time.monotonic() - t0 < seconds:
        for inst in instances:
            inst.check_alive()
        time.sleep(min(5.0, max(0.0, seconds - (time.monotonic() - t0))))
    elapsed = time.monotonic() - t0
    end_total = totals()
    load_end = os.getloadavg()
    out = []
    for inst in instances:
        procs = []
        for pid, role in sorted(inst.roles().items(), key=lambda kv: (kv[1], kv[0])):
            rss, pss, pss_file = memory_kib(pid)
            ticks = cpu_ticks(pid) - per_start.get(pid, 0)
            cpu = 100 * ticks / tck / elapsed
            procs.append(ProcFigures(role, pid, rss, pss, pss_file, threads(pid), cpu))
        ticks = end_total[inst.label] - start_total[inst.label]
        cpu = 100 * ticks / tck / elapsed
        out.append(Figures(inst.label, tuple(procs), cpu, _health_gap(inst)))
    print(
        f"    idle window {elapsed:.0f} s; load average at start {_load(load_start)}, "
        f"at end {_load(load_end)}",
        file=sys.stderr,
    )
    return out


def _load(avg: tuple[float, float, float]) -> str:
    return " ".join(f"{x:.2f}" for x in avg)


def _detail(figures: Figures, out: IO[str]) -> None:
    print(f"    {figures.label}:", file=out)
    head = f"{'process':52} {'pid':>7} {'RSS':>7} {'PSS':>7} {'file':>6} thr  CPU %"
    print(f"      {head}  (MiB; file: PSS of file-backed pages)", file=out)
    for p in figures.procs:
        print(
            f"      {p.role:52} {p.pid:>7} {p.rss_kib / 1024:7.1f} {p.pss_kib / 1024:7.1f} "
            f"{p.pss_file_kib / 1024:6.1f} {p.threads:3} {p.cpu_pct:6.2f}",
            file=out,
        )
    pss_file = sum(p.pss_file_kib for p in figures.procs) / 1024
    print(
        f"      {'total':52} {'':7} {figures.rss_mib:7.1f} {figures.pss_mib:7.1f} "
        f"{pss_file:6.1f}     {figures.cpu_pct:6.2f}",
        file=out,
    )


# -- rows -------------------------------------------------------------------------------


def _mem(rss: float, pss: float) -> str:
    return f"PSS {pss:,.1f} MiB (RSS {rss:,.1f})"


def _rows(ours: Figures, base: Figures | None) -> list[Row]:
    tag = "" if ours.label == "now" else f" [{ours.label}]"

    def pair(prefix: str) -> tuple[str, str, float | None]:
        o = ours.part(prefix)
        if base is None:
            return _mem(*o), REVIEWER, None
        b = base.part(prefix)
        return _mem(*o), _mem(*b), (b[1] / o[1] if o[1] else None)

    rows: list[Row] = []
    roles = sorted({p.role for p in ours.procs} | {p.role for p in (base.procs if base else ())})
    for role in roles:
        mine = [p for p in ours.procs if p.role == role]
        theirs = [p for p in base.procs if p.role == role] if base else []

        def cell(procs: list[ProcFigures]) -> str:
            if not procs:
                return "-"
            rss = sum(p.rss_kib for p in procs) / 1024
            pss = sum(p.pss_kib for p in procs) / 1024
            n = f"{len(procs)}× " if len(procs) > 1 else ""
            return n + _mem(rss, pss)

        rows.append(Row(f"footprint{tag}: {role}", cell(mine), cell(theirs) if base else "-"))
    web_o, web_b, web_ratio = pair("web:")
    rows.append(Row(f"footprint{tag}: web (gunicorn, 1 worker)", web_o, web_b, web_ratio))
    cl_o, cl_b, cl_ratio = pair("cluster:")
    rows.append(Row(f"footprint{tag}: job cluster (qcluster)", cl_o, cl_b, cl_ratio))
    total_b = _mem(base.rss_mib, base.pss_mib) if base else REVIEWER
    rows.append(
        Row(
            f"footprint{tag}: web + job cluster, after crawl and idle jobs",
            _mem(ours.rss_mib, ours.pss_mib),
            total_b,
            base.pss_mib / ours.pss_mib if base else None,
            goal=f"PSS ≤ {PSS_GOAL_MIB:.0f} MiB",
            goal_met=ours.pss_mib <= PSS_GOAL_MIB,
        )
    )
    rows.append(
        Row(
            f"footprint{tag}: idle CPU (jobs only), % of one core",
            f"{ours.cpu_pct:.2f} %",
            f"{base.cpu_pct:.2f} %" if base else "1.4 % (reviewer)",
            base.cpu_pct / ours.cpu_pct if base and ours.cpu_pct else None,
            goal=f"≤ {CPU_GOAL_PCT:g} %",
            goal_met=ours.cpu_pct <= CPU_GOAL_PCT,
        )
    )
    rows.append(
        Row(
            f"footprint{tag}: longest gap between two health checks (every 30 s)",
            f"{ours.health_gap:.0f} s",
            f"{base.health_gap:.0f} s" if base else "-",
        )
    )
    return rows


# -- the benchmark ----------------------------------------------------------------------


def _lab_bans(lab: Fail2banLab) -> None:
    """A few hundred bans on public addresses, so pages, history and geo have work."""
    rng = random.Random(16)
    ips: list[str] = []
    while len(ips) < 450:
        ip = ipaddress.IPv4Address(rng.getrandbits(32))
        if ip.is_global and not ip.is_multicast:
            ips.append(str(ip))
    client = lab.client(timeout=30)
    for n, jail in enumerate(j.name for j in TEST_JAILS):
        client.ban(jail, ips[n * 150 : (n + 1) * 150])


def run(ctx: BenchContext) -> list[Row]:
    idle = float(ctx.options.get("footprint_idle", IDLE_SECONDS))
    rev = ctx.options.get("footprint_baseline", BASELINE_REV)
    lab = ctx.start_lab(TEST_JAILS)
    server, list_url = serve_blocklist(seed=16)
    ctx.add_cleanup(server.shutdown)
    instances: list[Instance] = []
    try:
        _lab_bans(lab)
        if rev.lower() != "none":
            label = f"before ({rev})"
            instances.append(_instance(ctx, label, _export(ctx, rev), {}))
        instances.append(_instance(ctx, "now", ROOT, {}))
        for spec in filter(None, ctx.options.get("footprint_also", "").split(";")):
            extra = dict(item.split("=", 1) for item in spec.split(","))
            instances.append(_instance(ctx, f"now ({spec})", ROOT, extra))
        for inst in instances:
            _boot(ctx, inst, lab, list_url)
            requests, errors = _crawl(inst)
            if errors:
                ctx.notes.append(f"footprint {inst.label}: crawl errors: {', '.join(errors)}")
        _settle(instances)
        figures = _idle(instances, idle)
        for inst in instances:
            failed = _failed_jobs(inst)
            if failed:
                ctx.notes.append(f"footprint {inst.label}: failed jobs: {', '.join(failed)}")
        for fig in figures:
            _detail(fig, sys.stderr)
        base = figures[0] if rev.lower() != "none" else None
        rows = []
        for ours in figures[1:] if base else figures:
            rows += _rows(ours, base)
        return rows
    finally:
        for inst in reversed(instances):
            inst.stop()
        server.shutdown()
        lab.cleanup()
