"""A private, real fail2ban-server for tests, benchmarks and the demo.

It runs ``/usr/bin/fail2ban-server`` with its own config dir, socket, DB and
logs under a short temporary path (a Unix socket path holds at most 107
bytes), with jails that watch log files we append to and no firewall action.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from bangui.fail2ban.client import Fail2banClient
from bangui.fail2ban.errors import Fail2banError

SYSTEM_CONFIG = Path("/etc/fail2ban")

LAB_FILTER = """\
[Definition]
# fail2ban strips the timestamp first and leaves a leading blank, hence \\s*.
failregex = ^\\s*lab: auth failure from <HOST>(?: user <F-USER>\\S+</F-USER>)?\\s*$
ignoreregex =
"""


@dataclass(frozen=True)
class LabJail:
    """One jail of the lab: a filter and the log line that trips it."""

    name: str
    filter: str = "bangui-lab"
    # Formatted with now (a datetime), ip and n (a running number).
    line: str = "{now:%Y-%m-%d %H:%M:%S} lab: auth failure from {ip} user root"
    options: dict[str, str] = field(default_factory=dict)


TEST_JAILS: tuple[LabJail, ...] = (
    LabJail("alpha"),
    LabJail("beta", options={"maxretry": "2", "bantime": "3600"}),
    LabJail(
        "sshd",
        filter="sshd",
        line="{now:%b %d %H:%M:%S} lab sshd[{n}]: Failed password for root from {ip} port 22 ssh2",
        options={"bantime.increment": "true", "bantime.factor": "2", "bantime.maxtime": "1w"},
    ),
)


def _which(name: str) -> str:
    path = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None)
    if path is None:
        raise FileNotFoundError(
            f"{name} not found: install Debian's fail2ban package (apt-get install fail2ban)"
        )
    return path


class Fail2banLab:
    """Owns one fail2ban-server process and its files."""

    def __init__(
        self,
        jails: Sequence[LabJail] = TEST_JAILS,
        *,
        base: str | None = None,
        dbpurgeage: str = "1d",
    ) -> None:
        self.jails = tuple(jails)
        self.base = Path(base or tempfile.mkdtemp(prefix="f2b-"))
        self.conf_dir = self.base / "conf"
        self.run_dir = self.base / "run"
        self.log_dir = self.base / "logs"
        self.socket_path = str(self.run_dir / "s")
        self.db_path = str(self.run_dir / "f2b.sqlite3")
        self.server_log = str(self.run_dir / "fail2ban.log")
        self.dbpurgeage = dbpurgeage
        self.proc: subprocess.Popen[bytes] | None = None
        self._counter = 0
        if len(self.socket_path) > 100:
            raise ValueError(f"socket path too long for AF_UNIX: {self.socket_path}")
        self.write_config()

    # -- files -----------------------------------------------------------------

    def write_config(self) -> None:
        for d in (self.conf_dir, self.run_dir, self.log_dir):
            d.mkdir(parents=True, exist_ok=True)
        for sub in ("filter.d", "action.d"):
            src = SYSTEM_CONFIG / sub
            if src.is_dir() and not (self.conf_dir / sub).exists():
                shutil.copytree(src, self.conf_dir / sub)
            (self.conf_dir / sub).mkdir(exist_ok=True)
        (self.conf_dir / "jail.d").mkdir(exist_ok=True)
        (self.conf_dir / "filter.d" / "bangui-lab.conf").write_text(LAB_FILTER)
        (self.conf_dir / "fail2ban.conf").write_text(
            "[Definition]\n"
            "loglevel = INFO\n"
            f"logtarget = {self.server_log}\n"
            "syslogsocket = auto\n"
            f"socket = {self.socket_path}\n"
            f"pidfile = {self.run_dir / 'pid'}\n"
            f"dbfile = {self.db_path}\n"
            f"dbpurgeage = {self.dbpurgeage}\n"
            "dbmaxmatches = 10\n"
            "allowipv6 = auto\n"
            "[Thread]\n"
        )
        parts = [
            "[DEFAULT]\n"
            "ignoreself = false\n"
            "ignoreip = 127.0.0.1/8 ::1\n"
            "bantime = 600\n"
            "findtime = 600\n"
            "maxretry = 3\n"
            "backend = auto\n"
            "usedns = no\n"
            "logencoding = utf-8\n"
            # No firewall: bans live only inside fail2ban.
            "action =\n"
        ]
        for jail in self.jails:
            self.log_path(jail.name).touch()
            opts = "".join(f"{k} = {v}\n" for k, v in jail.options.items())
            parts.append(
                f"\n[{jail.name}]\nenabled = true\nfilter = {jail.filter}\n"
                f"logpath = {self.log_path(jail.name)}\n{opts}"
            )
        (self.conf_dir / "jail.conf").write_text("".join(parts))

    def log_path(self, jail: str) -> Path:
        return self.log_dir / f"{jail}.log"

    def add_failures(self, jail: str, ip: str, count: int = 1) -> None:
        """Append ``count`` failure lines for ``ip`` with the current time."""
        spec = next(j for j in self.jails if j.name == jail)
        lines = []
        for _ in range(count):
            self._counter += 1
            lines.append(spec.line.format(now=datetime.now(), ip=ip, n=1000 + self._counter) + "\n")
        with self.log_path(jail).open("a") as fh:
            fh.write("".join(lines))

    # -- process -----------------------------------------------------------------

    def client(self, timeout: float = 5.0, *, persistent: bool = False) -> Fail2banClient:
        return Fail2banClient(self.socket_path, timeout=timeout, persistent=persistent)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout: float = 20.0, *, keep_db: bool = False) -> None:
        """Start the server; by default with an empty DB, so no old bans come back.

        fail2ban restores bans from its DB a moment *after* it answers, which
        would race with whatever a test does next.
        """
        if self.running:
            return
        if not keep_db:
            Path(self.db_path).unlink(missing_ok=True)
        stderr = open(self.run_dir / "stderr", "ab")  # noqa: SIM115 - handed to the child
        self.proc = subprocess.Popen(
            [
                _which("fail2ban-server"),
                "-f",
                "-x",
                "-c",
                str(self.conf_dir),
                "-s",
                self.socket_path,
                "-p",
                str(self.run_dir / "pid"),
                "start",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            start_new_session=True,
        )
        stderr.close()
        try:
            self.wait_ready(timeout)
        except BaseException:
            self.stop()  # never leave a half-started server behind
            raise

    def wait_ready(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        client = self.client(timeout=1.0)
        expected = {j.name for j in self.jails}
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"fail2ban-server exited: {self.tail_log()}")
            try:
                if set(client.jails()) >= expected:
                    return
            except Fail2banError:
                pass
            time.sleep(0.05)
        raise TimeoutError(f"fail2ban-server not ready in {timeout} s: {self.tail_log()}")

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def reload(self) -> None:
        """Full reload through fail2ban-client: config values back, stopped jails back."""
        subprocess.run(
            [_which("fail2ban-client"), "-c", str(self.conf_dir), "-s", self.socket_path, "reload"],
            check=True,
            capture_output=True,
            timeout=60,
        )

    def cli(self, *args: str) -> str:
        """Run ``fail2ban-client -s SOCK ARGS…`` and return what it printed (for tests)."""
        return subprocess.run(
            [_which("fail2ban-client"), "-s", self.socket_path, *args],
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout

    def truncate_logs(self) -> None:
        for jail in self.jails:
            self.log_path(jail.name).write_text("")

    def reset(self) -> None:
        """Bring the server back to its configured state with no bans (between tests)."""
        # Old failure lines would be read again after a restart and ban again.
        self.truncate_logs()
        if not self.running:
            self.start()
        client = self.client()
        client.unban_all()
        if set(client.jails()) != {j.name for j in self.jails}:
            self.reload()
            self.wait_ready()

    def tail_log(self, lines: int = 20) -> str:
        out = []
        for name in (self.server_log, str(self.run_dir / "stderr")):
            with contextlib.suppress(OSError):
                out.extend(Path(name).read_text(errors="replace").splitlines()[-lines:])
        return "\n".join(out)

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)

    def __enter__(self) -> Fail2banLab:
        try:
            self.start()
        except BaseException:
            self.cleanup()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.cleanup()

    def env(self) -> dict[str, str]:
        """Environment that points BanGUI at this server."""
        return {
            "BANGUI_FAIL2BAN_SOCKET": self.socket_path,
            "BANGUI_FAIL2BAN_CONFIG_DIR": str(self.conf_dir),
        }
