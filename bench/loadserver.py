"""The processes ``bench.load`` runs: gunicorn as in production, and the background work.

- ``Gunicorn``: ``gunicorn -c gunicorn.conf.py bangui.wsgi`` from the repository
  root, one worker of 8 threads as ``gunicorn.conf.py`` says, on a free
  127.0.0.1 port, with the bench's data dir (private, static files collected).
- ``Background``: ``python -m bench.load_background`` (history syncs and
  blocklist imports, see there) in a process of its own, as the job cluster
  would run them, so they take neither the web process's nor the load client's GIL.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def cpu_seconds(pid: int, *, children: bool = False) -> float:
    """CPU seconds (user + system) process ``pid`` has used; with ``children``, also
    those of its children that have ended (a fail2ban action, a finished worker)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])
    if children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / os.sysconf("SC_CLK_TCK")


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, all cores (/proc/stat)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    ticks = os.sysconf("SC_CLK_TCK")
    return (sum(values) - idle) / ticks, sum(values) / ticks


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _stop(proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    """SIGTERM, time to finish, then the whole process group."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)  # its own session: only its children
    proc.wait()


def _tail(path: Path, lines: int) -> str:
    """The last lines of a log file ("" if there is none yet)."""
    try:
        return "\n".join(path.read_text().splitlines()[-lines:])
    except OSError:
        return ""


class Gunicorn:
    """BanGUI under gunicorn, started exactly as scripts/demo starts it."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.log_path = data_dir / "gunicorn.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.pop("BANGUI_GUNICORN_WORKERS", None)
        env.update(
            {
                # Plain HTTP on loopback, as the demo: browsers drop Secure cookies there.
                "BANGUI_SECURE_COOKIES": "false",
                "BANGUI_BIND": f"127.0.0.1:{self.port}",
                "BANGUI_ALLOWED_HOSTS": "127.0.0.1,localhost",
                "BANGUI_BLOCKLIST_ALLOW_HOSTS": "127.0.0.1",
            }
        )
        return env

    def start(self, timeout: float = 60.0) -> None:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "bangui.wsgi"],
                cwd=ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        url = f"http://127.0.0.1:{self.port}/health/live"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited; see {self.log_path}:\n{self.tail()}")
            try:
                with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise TimeoutError(f"gunicorn did not answer {url} in {timeout:g} s:\n{self.tail()}")

    def worker_pid(self) -> int:
        """The one worker (the master's only child)."""
        assert self.proc is not None
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
        (pid,) = children.split()
        return int(pid)

    def worker_cpu(self) -> float:
        """CPU seconds (user + system) the worker has used so far."""
        return cpu_seconds(self.worker_pid())

    def tail(self, lines: int = 30) -> str:
        return _tail(self.log_path, lines)

    def stop(self) -> None:
        if self.proc is not None:
            _stop(self.proc)
            self.proc = None


class Background:
    """``python -m bench.load_background`` with the same settings as the web process."""

    def __init__(self, data_dir: Path, env: dict[str, str]) -> None:
        self.log_path = data_dir / "background.log"
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, ready_timeout: float = 120.0) -> None:
        """Start it and wait until its first import is banning."""
        marker = self.log_path.with_suffix(".ready")
        marker.unlink(missing_ok=True)
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bench.load_background", str(marker)],
                cwd=ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + ready_timeout
        while not marker.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the background work did not start:\n{self.tail()}")
            time.sleep(0.2)

    def tail(self, lines: int = 30) -> str:
        return _tail(self.log_path, lines)

    def stop(self) -> str:
        """Stop it; its summary line (what it did while it ran)."""
        if self.proc is not None:
            _stop(self.proc)
            self.proc = None
        found = [ln for ln in self.tail(200).splitlines() if ln.startswith("background:")]
        return found[-1] if found else "background: no summary"
