"""``python -m bangui.demo``: the lab, the attack generator, the history and the blocklist."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from bangui.demo.attacks import AttackGenerator, build_pool, status_line, total_failed
from bangui.demo.blocklist import serve_blocklist
from bangui.demo.history import seed_history
from bangui.demo.jails import DEMO_JAILS, DemoJail
from bangui.demo.lab import Fail2banLab
from bangui.fail2ban.errors import Fail2banError

# -- the lab around it ------------------------------------------------------------


def answers(lab: Fail2banLab) -> bool:
    """Whether a fail2ban-server answers on the lab's socket."""
    try:
        return lab.client(timeout=2.0).ping()
    except Fail2banError:
        return False


def read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def cmdline(pid: int) -> str:
    """The command line of a process; empty if it is gone or a zombie."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def demo_alive(pid: int | None) -> bool:
    """Whether ``pid`` is a live demo (not ourselves, not a reused pid)."""
    return pid is not None and pid != os.getpid() and "bangui.demo" in cmdline(pid)


def owner_file(lab: Fail2banLab) -> Path:
    """Holds the pid of the demo that runs this lab."""
    return lab.base / "demo.pid"


def env_file(lab: Fail2banLab) -> Path:
    """``KEY=value`` lines for BanGUI, written once the server is ready (scripts/demo waits)."""
    return lab.base / "lab.env"


def stop_orphan(lab: Fail2banLab) -> None:
    """Stop a fail2ban-server left on this base by a demo that died (kill -9)."""
    pid = read_pid(lab.run_dir / "pid")
    if pid is None or "fail2ban-server" not in cmdline(pid) or lab.socket_path not in cmdline(pid):
        raise SystemExit(
            f"error: a fail2ban-server answers on {lab.socket_path} but is not ours; stop it first"
        )
    print(f"stopping the fail2ban-server (pid {pid}) left behind by an earlier demo", flush=True)
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    while cmdline(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if cmdline(pid):
        os.kill(pid, signal.SIGKILL)


MAX_LOG_BYTES = 20 * 1024 * 1024


def trim_logs(lab: Fail2banLab, jails: Sequence[DemoJail]) -> None:
    """Empty jail logs an earlier long demo left big (before the server reads them)."""
    for jail in jails:
        path = lab.log_path(jail.name)
        if path.exists() and path.stat().st_size > MAX_LOG_BYTES:
            path.write_text("")


def announce(lab: Fail2banLab, extra: dict[str, str] | None = None) -> None:
    """Print where the lab is and leave the same as ``lab.env`` for scripts."""
    env = "".join(f"{key}={value}\n" for key, value in {**lab.env(), **(extra or {})}.items())
    print(
        f"fail2ban-server is running (pid {lab.proc.pid if lab.proc else '?'})\n"
        f"  socket:     {lab.socket_path}\n"
        f"  config dir: {lab.conf_dir}\n"
        f"  jail logs:  {lab.log_dir}\n"
        f"  server log: {lab.server_log}\n" + env,
        end="",
        flush=True,
    )
    tmp = env_file(lab).with_suffix(".tmp")
    tmp.write_text(env)
    tmp.replace(env_file(lab))


def start_lab(lab: Fail2banLab, jails: Sequence[DemoJail]) -> None:
    """Take the base over (stale socket, orphaned server) and start fail2ban-server.

    Refuses if another live demo owns the base.
    """
    owner = read_pid(owner_file(lab))
    if demo_alive(owner):
        raise SystemExit(f"error: another demo (pid {owner}) is running on {lab.base}")
    env_file(lab).unlink(missing_ok=True)
    if answers(lab):
        stop_orphan(lab)
    owner_file(lab).write_text(f"{os.getpid()}\n")
    trim_logs(lab, jails)
    # Fail2banLab passes -x: fail2ban-server removes a stale socket file itself.
    lab.start()


def release_lab(lab: Fail2banLab, *, remove: bool) -> None:
    """Stop our fail2ban-server (only if this process started it); remove a temporary base."""
    if read_pid(owner_file(lab)) == os.getpid():
        lab.stop()
        env_file(lab).unlink(missing_ok=True)
        owner_file(lab).unlink(missing_ok=True)
    if remove:
        lab.cleanup()


def demo_running(lab: Fail2banLab) -> bool:
    """Whether another live demo owns this lab and its server answers."""
    return demo_alive(read_pid(owner_file(lab))) and answers(lab)


def wait_counted(
    lab: Fail2banLab, jails: Sequence[DemoJail], target: int, stop: threading.Event
) -> bool:
    """Wait (up to 30 s) until fail2ban has counted ``target`` failures in all."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not stop.is_set():
        if total_failed(lab, jails) >= target:
            return True
        stop.wait(0.2)
    return False


# -- entry point ------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bangui.demo",
        description="Run a private fail2ban-server with three demo jails and feed it attacks.",
    )
    parser.add_argument(
        "--base",
        metavar="DIR",
        help="keep the lab (config, socket, DB, logs) in DIR and reuse it on the next run "
        "(DIR/run/s must stay under 100 bytes); default: a temporary dir, removed on exit",
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=2.0,
        help="mean failure lines per second across all jails (default: 2)",
    )
    parser.add_argument(
        "--once",
        type=int,
        metavar="N",
        help="append N failures and exit; if no demo runs on --base, start fail2ban, "
        "wait until it has counted them, print the counters and stop it",
    )
    parser.add_argument("--seed", type=int, default=2024, help="seed of the attacker pool")
    parser.add_argument(
        "--history-days",
        type=int,
        default=0,
        metavar="N",
        help="first write expired bans of the last N days into the lab's fail2ban DB, "
        "so the dashboard has weeks to show (default: 0, none)",
    )
    args = parser.parse_args(argv)
    if args.rate <= 0:
        parser.error("--rate must be positive")
    if args.once is not None and args.once < 1:
        parser.error("--once needs a positive count")
    if not 0 <= args.history_days <= 400:
        parser.error("--history-days must be from 0 to 400")
    return args


def make_lab(base: str | None) -> tuple[Fail2banLab, bool]:
    """The lab on ``base`` (or a fresh temporary dir), and whether to remove it at the end."""
    temporary = base is None
    path = base or tempfile.mkdtemp(prefix="bangui-demo-")
    try:
        return Fail2banLab([j.lab for j in DEMO_JAILS], base=path), temporary
    except ValueError as exc:  # socket path too long
        raise SystemExit(f"error: {exc}; choose a shorter --base") from None


def install_signal_handlers(stop: threading.Event) -> None:
    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, handler)


def run_once(lab: Fail2banLab, gen: AttackGenerator, count: int, stop: threading.Event) -> int:
    """``--once``: start fail2ban, append, wait until all failures are counted."""
    start_lab(lab, DEMO_JAILS)
    before = total_failed(lab, DEMO_JAILS)
    gen.emit(count)
    counted = wait_counted(lab, DEMO_JAILS, before + count, stop)
    print(status_line(lab, DEMO_JAILS))
    if not counted:
        print(f"error: fail2ban did not count all {count} failures", file=sys.stderr)
        return 1
    return 0


def run_forever(
    lab: Fail2banLab, gen: AttackGenerator, stop: threading.Event, history_days: int = 0
) -> int:
    start_lab(lab, DEMO_JAILS)
    if history_days:
        pool = gen.heavy + gen.crowd
        added = seed_history(lab.db_path, DEMO_JAILS, pool, days=history_days, seed=gen.seed)
        print(f"wrote {added:,} expired bans of the last {history_days} days", flush=True)
    _server, list_url = serve_blocklist(gen.seed)
    announce(lab, {"BANGUI_DEMO_BLOCKLIST_URL": list_url})
    print(f"attacking at about {gen.rate:g} failures/s; Ctrl-C stops", flush=True)
    try:
        gen.run(stop)
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print("stopping fail2ban-server", flush=True)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    stop = threading.Event()
    install_signal_handlers(stop)
    lab, temporary = make_lab(args.base)
    gen = AttackGenerator(lab, DEMO_JAILS, build_pool(args.seed), rate=args.rate, seed=args.seed)
    if args.once is not None and demo_running(lab):
        # Feed the running demo's lab; its own process owns the server.
        gen.emit(args.once)
        print(f"appended {args.once} failures to the running demo in {lab.base}")
        return 0
    try:
        if args.once is not None:
            return run_once(lab, gen, args.once, stop)
        return run_forever(lab, gen, stop, args.history_days)
    except (RuntimeError, TimeoutError, FileNotFoundError, Fail2banError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        release_lab(lab, remove=temporary)


if __name__ == "__main__":
    sys.exit(main())
