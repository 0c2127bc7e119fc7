"""Try a candidate config on a throwaway fail2ban-server before the live one reloads it.

``fail2ban-client -t`` only parses the files into a command stream; the values
are evaluated (``bantime`` goes through ``eval()``) and the regexes compiled by
the server when it receives them. A reload that fails there has already
stopped the jails and flushed their bans (measured: 8 s without an answer,
then 0 jails and 0 bans until the rollback). So before the live server is
touched, the stream that ``fail2ban-client -d`` prints for the candidate is
sent to a private server: its own socket, pid file, log and an in-memory DB,
started from an empty config. The first command it refuses is what the live
reload would have hit.

Nothing of the stream may act on the host: no ``start`` (a jail that never
starts reads no log and runs no action; ``ignorecommand`` only runs on a
failure), no actions (``addaction`` loads an action, a ``.py`` one as code),
and no server setting that names a file (a log file, the database, sockets).
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import protocol
from .errors import Fail2banUnavailable

START_TIMEOUT = 10.0
COMMAND_TIMEOUT = 10.0
# Server settings the private server tries (on a full reload): the rest name files.
_SERVER_SETTINGS = frozenset(
    {"loglevel", "allowipv6", "syslogsocket", "dbpurgeage", "dbmaxmatches", "logtarget"}
)
# Jail settings left out: they attach actions (code) to the jail.
_ACTION_SETTINGS = frozenset({"addaction", "delaction", "action"})
_MESSAGE_MAX = 300


@dataclass(frozen=True)
class Refusal:
    """The first command of the stream the server refused, and why."""

    jail: str
    setting: str
    value: str
    error: str

    def __str__(self) -> str:
        where = f"jail {self.jail}, {self.setting}" if self.jail else self.setting
        return f"fail2ban refuses {where} = {self.value}: {self.error}"


def _jail_of(command: list[Any]) -> str:
    """The jail a stream command is about ("" for server-level commands)."""
    if command[0] == "add" and len(command) > 1:
        return str(command[1])
    # ["set", "loglevel", "INFO"] is the server's; ["set", "sshd", "bantime", "600"] a jail's.
    if command[0] in ("set", "multi-set") and len(command) > 3:
        return str(command[1])
    return ""


def commands_to_try(stream: Iterable[list[Any]], jails: Iterable[str] | None) -> list[list[Any]]:
    """The stream without what could act on the host, for ``jails`` only (None: all)."""
    wanted = None if jails is None else set(jails)
    kept = []
    for command in stream:
        if not command or command[0] not in ("add", "set", "multi-set"):
            continue  # "start" and anything unknown
        jail = _jail_of(command)
        if not jail:
            # A full reload sends these first; one that fails leaves fail2ban without jails.
            if wanted is None and _server_setting_to_try(command):
                kept.append(command)
            continue
        if wanted is not None and jail not in wanted:
            continue
        if command[0] != "add" and str(command[2]) in _ACTION_SETTINGS:
            continue
        kept.append(command)
    return kept


def _server_setting_to_try(command: list[Any]) -> bool:
    if command[0] != "set" or len(command) != 3 or command[1] not in _SERVER_SETTINGS:
        return False
    # A log file is not tried: the private server would create it. SYSLOG or
    # SYSTEMD-JOURNAL are, since they fail where there is no syslog or journal.
    return command[1] != "logtarget" or not str(command[2]).startswith("/")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:79] + "…"


def _error_text(value: Any) -> str:
    if isinstance(value, BaseException):
        name = getattr(value, "remote_class", type(value).__name__).rpartition(".")[2]
        detail = str(value.args[0]) if value.args else ""
        text = f"{name}: {detail}" if detail else name
    else:
        text = str(value)
    text = " ".join(text.split())
    return text if len(text) <= _MESSAGE_MAX else text[: _MESSAGE_MAX - 1] + "…"


class _Server:
    """A private fail2ban-server with an empty config; stopped and removed on exit."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="f2b-dry-"))  # short: sun_path is 107 bytes
        self.socket_path = str(self.dir / "s")
        self.proc: subprocess.Popen[bytes] | None = None
        self.sock: socket.socket | None = None

    def start(self) -> None:
        conf = self.dir / "conf"
        conf.mkdir()
        (conf / "fail2ban.conf").write_text(
            "[Definition]\nloglevel = INFO\n"
            f"logtarget = {self.dir / 'log'}\nsocket = {self.socket_path}\n"
            f"pidfile = {self.dir / 'pid'}\ndbfile = :memory:\n"
        )
        (conf / "jail.conf").write_text("[DEFAULT]\n")
        binary = shutil.which("fail2ban-server") or "/usr/bin/fail2ban-server"
        self.proc = subprocess.Popen(
            [binary, "-f", "-x", "-c", str(conf), "-s", self.socket_path,
             "-p", str(self.dir / "pid"), "start"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                sock.settimeout(COMMAND_TIMEOUT)
                sock.connect(self.socket_path)
            except OSError:
                sock.close()
                time.sleep(0.02)
                continue
            self.sock = sock
            if self.send(["ping"]) == (0, "pong"):
                return
        raise Fail2banUnavailable("the private fail2ban-server for the config check did not start")

    def send(self, command: list[Any]) -> Any:
        assert self.sock is not None
        self.sock.sendall(protocol.encode_config_command(command))
        data = b""
        while not data.endswith(protocol.END):
            chunk = self.sock.recv(65536)
            if not chunk:
                raise Fail2banUnavailable("the private fail2ban-server closed the connection")
            data += chunk
        return protocol.decode_reply(data)

    def stop(self) -> None:
        if self.sock is not None:
            with contextlib.suppress(OSError, Fail2banUnavailable):
                self.send(["stop"])
            self.sock.close()
        if self.proc is not None:
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


@contextlib.contextmanager
def _server() -> Iterator[_Server]:
    server = _Server()
    try:
        server.start()
        yield server
    finally:
        server.stop()


def _refusal(command: list[Any], error: Any) -> Refusal:
    jail = _jail_of(command)
    if command[0] == "add":  # ["add", jail, backend]
        setting, shown = "backend", command[2:]
    elif jail:  # ["set", jail, setting, value…]
        setting, shown = str(command[2]), command[3:]
    else:  # ["set", setting, value]
        setting, shown = str(command[1]), command[2:]
    value = shown[0] if len(shown) == 1 else shown
    return Refusal(jail=jail, setting=setting, value=_short(value), error=_error_text(error))


def stream_check(stream: Iterable[list[Any]], *, jails: Iterable[str] | None) -> Refusal | None:
    """Send the stream's settings of ``jails`` (None: every jail) to a private server.

    Returns the first refusal, or None when the server took every command.
    Raises Fail2banUnavailable when the private server cannot be started.
    """
    commands = commands_to_try(stream, jails)
    if not commands:
        return None
    with _server() as server:
        for command in commands:
            try:
                code, value = server.send(command)
            except (OSError, ValueError) as exc:
                raise Fail2banUnavailable(f"the config check failed: {exc}") from None
            if code != 0:
                return _refusal(command, value)
    return None
