"""A small typed client for fail2ban's Unix socket.

Every app talks to fail2ban through this class (``configured.get_client()``). Inputs
are validated before anything is sent; see ``validation.py``.
"""

from __future__ import annotations

import contextlib
import errno
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from . import protocol
from .errors import (
    Fail2banBusy,
    Fail2banCommandError,
    Fail2banProtocolError,
    Fail2banUnavailable,
)
from .invalid import ValidationError
from .validation import (
    clean_address,
    clean_count,
    clean_jail,
    clean_network,
    clean_seconds,
)

# A reply bigger than this is not something fail2ban sends for sane input;
# refuse it rather than grow without bound.
MAX_REPLY_BYTES = 256 * 1024 * 1024
# fail2ban handles one command at a time; large bans are sent in batches so
# one command does not hold the socket for seconds.
BAN_BATCH = 1000

_BOOL_WORDS = {True: "true", False: "false"}


def _bool_word(value: object) -> str:
    if isinstance(value, bool):
        return _BOOL_WORDS[value]
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower()
    raise ValidationError("Expected true or false.")


def _idle_word(value: object) -> str:
    if value in (True, "on"):
        return "on"
    if value in (False, "off"):
        return "off"
    raise ValidationError("Expected on or off.")


# The jail parameters this client will set, each with its validator. Anything
# else (bantime.formula, action commands, regexes) is not settable over the
# socket from BanGUI: those are config-file changes that go through a reload.
_SETTERS: dict[str, Callable[[object], str]] = {
    "bantime": clean_seconds,
    "findtime": clean_seconds,
    "maxretry": lambda v: clean_count(v, maximum=10_000),
    "maxlines": lambda v: clean_count(v, maximum=1_000),
    "maxmatches": lambda v: clean_count(v, minimum=0, maximum=10_000),
    "ignoreself": _bool_word,
    "idle": _idle_word,
    "delignoreip": clean_network,
    "bantime.increment": _bool_word,
    "bantime.maxtime": clean_seconds,
    "bantime.rndtime": clean_seconds,
    "bantime.overalljails": _bool_word,
}

_GETTERS = frozenset(
    {
        "bantime",
        "findtime",
        "maxretry",
        "maxlines",
        "maxmatches",
        "logpath",
        "logencoding",
        "journalmatch",
        "ignoreip",
        "ignoreself",
        "ignorecommand",
        "failregex",
        "ignoreregex",
        "prefregex",
        "datepattern",
        "usedns",
        "actions",
        "bantime.increment",
        "bantime.factor",
        "bantime.formula",
        "bantime.multipliers",
        "bantime.maxtime",
        "bantime.rndtime",
        "bantime.overalljails",
    }
)

_SERVER_GETTERS = frozenset(
    {"loglevel", "logtarget", "syslogsocket", "dbfile", "dbpurgeage", "dbmaxmatches"}
)


class _StaleConnection(ConnectionResetError):
    """The server closed a connection before sending any reply byte."""


@dataclass(frozen=True)
class JailStatus:
    """Counters of one jail (``status JAIL short``)."""

    name: str
    currently_failed: int
    total_failed: int
    currently_banned: int
    total_banned: int
    files: tuple[str, ...] = ()
    banned: tuple[str, ...] | None = None  # only with the "basic" flavour


def _pairs(value: Any) -> dict[str, Any]:
    """fail2ban answers status as nested lists of (label, value) pairs."""
    try:
        return {str(k): v for k, v in value}
    except (TypeError, ValueError):
        raise Fail2banProtocolError(f"unexpected status reply: {value!r:.200}") from None


class Fail2banClient:
    """Talks fail2ban's socket protocol directly.

    ``timeout`` bounds each call (connect, send and reply together).
    With ``persistent=True`` one connection is kept and reused by all calls
    (thread-safe; it reconnects once if the server dropped it).
    """

    def __init__(self, socket_path: str, *, timeout: float = 5.0, persistent: bool = False):
        self.socket_path = socket_path
        self.timeout = timeout
        self.persistent = persistent
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()

    # -- transport -----------------------------------------------------------

    def _connect(self, deadline: float) -> socket.socket:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        while True:
            try:
                sock.connect(self.socket_path)
                return sock
            except BlockingIOError:
                # The server listens with a backlog of one; a full backlog gives
                # EAGAIN at once on a socket with a timeout. Try again shortly.
                if time.monotonic() > deadline:
                    sock.close()
                    raise Fail2banBusy("fail2ban socket is busy (timed out)") from None
                time.sleep(0.001)
            except FileNotFoundError:
                sock.close()
                raise Fail2banUnavailable(f"no fail2ban socket at {self.socket_path}") from None
            except ConnectionRefusedError:
                sock.close()
                raise Fail2banUnavailable(
                    f"fail2ban is not running (connection refused at {self.socket_path})"
                ) from None
            except PermissionError:
                sock.close()
                raise Fail2banUnavailable(
                    f"permission denied on {self.socket_path}: BanGUI must run as the "
                    "user that runs fail2ban (usually root)"
                ) from None
            except OSError as exc:
                sock.close()
                if exc.errno == errno.EAGAIN and time.monotonic() <= deadline:
                    time.sleep(0.001)
                    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                    sock.settimeout(self.timeout)
                    continue
                raise Fail2banUnavailable(f"cannot reach fail2ban: {exc.strerror or exc}") from None

    def _roundtrip(self, sock: socket.socket, payload: bytes, deadline: float) -> bytes:
        sock.sendall(payload)
        chunks: list[bytes] = []
        size = 0
        tail = b""
        while True:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            chunk = sock.recv(65536)
            if not chunk:
                if not chunks:
                    raise _StaleConnection("fail2ban closed the connection")
                raise ConnectionResetError("fail2ban closed the connection mid-reply")
            chunks.append(chunk)
            size += len(chunk)
            if size > MAX_REPLY_BYTES:
                raise Fail2banProtocolError("fail2ban reply is too large")
            tail = (tail + chunk)[-64:]
            if tail.endswith(protocol.END):
                return b"".join(chunks)

    def _send(self, args: list[str]) -> Any:
        payload = protocol.encode_request(args)
        deadline = time.monotonic() + self.timeout
        try:
            if self.persistent:
                raw = self._send_persistent(payload, deadline)
            else:
                sock = self._connect(deadline)
                try:
                    raw = self._roundtrip(sock, payload, deadline)
                    with contextlib.suppress(OSError):
                        sock.sendall(protocol.CLOSE + protocol.END)
                finally:
                    sock.close()
        except TimeoutError:
            raise Fail2banBusy(f"fail2ban did not answer within {self.timeout:g} s") from None
        except (ConnectionError, BrokenPipeError) as exc:
            raise Fail2banUnavailable(f"fail2ban dropped the connection: {exc}") from None
        return self._unwrap(raw)

    def _send_persistent(self, payload: bytes, deadline: float) -> bytes:
        with self._lock:
            for attempt in (1, 2):
                fresh = self._sock is None
                if self._sock is None:
                    self._sock = self._connect(deadline)
                try:
                    return self._roundtrip(self._sock, payload, deadline)
                except (_StaleConnection, BrokenPipeError):
                    self._drop()
                    # A kept connection closed by a server restart fails before
                    # any reply byte arrives; only then is one retry safe.
                    if fresh or attempt == 2:
                        raise
                except BaseException:
                    self._drop()
                    raise
            raise AssertionError("unreachable")

    def _drop(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            finally:
                self._sock = None

    def close(self) -> None:
        with self._lock:
            if self._sock is not None:
                with contextlib.suppress(OSError):
                    self._sock.sendall(protocol.CLOSE + protocol.END)
                self._drop()

    @staticmethod
    def _unwrap(raw: bytes) -> Any:
        try:
            reply = protocol.decode_reply(raw)
        except Exception as exc:
            raise Fail2banProtocolError(f"unreadable fail2ban reply: {exc}") from None
        if isinstance(reply, str):  # the server could not read our request
            raise Fail2banCommandError(reply)
        if not (isinstance(reply, tuple) and len(reply) == 2):
            raise Fail2banProtocolError(f"unexpected fail2ban reply: {reply!r:.200}")
        code, value = reply
        if code == 0:
            return value
        if isinstance(value, BaseException):
            message = str(value.args[0]) if value.args else type(value).__name__
            remote = getattr(value, "remote_class", type(value).__name__)
            if remote.endswith("UnknownJailException"):
                message = f"fail2ban has no jail named “{message}”"
            raise Fail2banCommandError(message, remote)
        raise Fail2banCommandError(str(value))

    # -- typed API -------------------------------------------------------------

    def ping(self) -> bool:
        return bool(self._send(["ping"]) == "pong")

    def version(self) -> str:
        return str(self._send(["version"]))

    def jails(self) -> list[str]:
        info = _pairs(self._send(["status"]))
        names = str(info.get("Jail list", "")).strip()
        return [n for n in (s.strip() for s in names.split(",")) if n]

    def jail_status(self, jail: str, *, flavour: str = "short") -> JailStatus:
        if flavour not in ("short", "basic"):
            raise ValueError("flavour is short or basic")
        jail = clean_jail(jail)
        info = _pairs(self._send(["status", jail, flavour]))
        filt = _pairs(info.get("Filter", []))
        acts = _pairs(info.get("Actions", []))
        banned = acts.get("Banned IP list")
        return JailStatus(
            name=jail,
            currently_failed=int(filt.get("Currently failed", 0)),
            total_failed=int(filt.get("Total failed", 0)),
            currently_banned=int(acts.get("Currently banned", 0)),
            total_banned=int(acts.get("Total banned", 0)),
            files=tuple(str(f) for f in filt.get("File list", []) or []),
            banned=tuple(str(ip) for ip in banned) if banned is not None else None,
        )

    def banned(self) -> dict[str, list[str]]:
        """Every jail with its currently banned IPs (``banned``)."""
        reply = self._send(["banned"])
        result: dict[str, list[str]] = {}
        for entry in reply:
            for jail, ips in dict(entry).items():
                result[str(jail)] = [str(ip) for ip in ips]
        return result

    def jails_banning(self, ips: Iterable[str]) -> dict[str, list[str]]:
        """For each IP, the jails where it is banned now (``banned IP…``)."""
        clean = [clean_address(ip) for ip in ips]
        if not clean:
            return {}
        reply = self._send(["banned", *clean])
        return {ip: [str(j) for j in jails] for ip, jails in zip(clean, reply, strict=True)}

    def ban(self, jail: str, ips: Sequence[str]) -> int:
        """Ban addresses (or networks) in a jail; returns how many were newly banned.

        Every entry is validated before the first command is sent.
        """
        return sum(newly for _, newly in self.ban_batches(jail, ips))

    def ban_batches(
        self,
        jail: str,
        ips: Sequence[str],
        *,
        before_send: Callable[[list[str]], None] | None = None,
    ) -> Iterator[tuple[list[str], int]]:
        """Validate every entry, then ban batch by batch, yielding (batch, newly banned).

        A caller that sees an error half-way knows exactly which batches went in;
        ``before_send`` hears of each batch before it goes out (to note it in flight).
        """
        jail = clean_jail(jail)
        clean = [clean_network(ip) for ip in ips]
        for start in range(0, len(clean), BAN_BATCH):
            batch = clean[start : start + BAN_BATCH]
            if before_send is not None:
                before_send(batch)
            yield batch, int(self._send(["set", jail, "banip", *batch]))

    def unban(self, jail: str, ips: Sequence[str]) -> int:
        jail = clean_jail(jail)
        clean = [clean_network(ip) for ip in ips]
        done = 0
        for start in range(0, len(clean), BAN_BATCH):
            done += int(self._send(["set", jail, "unbanip", *clean[start : start + BAN_BATCH]]))
        return done

    def unban_everywhere(self, ips: Sequence[str]) -> int:
        """Unban addresses from every jail (``unban IP…``)."""
        clean = [clean_network(ip) for ip in ips]
        return int(self._send(["unban", *clean])) if clean else 0

    def unban_all(self) -> int:
        """Lift every ban in every jail (``unban --all``); returns the count."""
        return int(self._send(["unban", "--all"]))

    def get(self, jail: str, name: str) -> Any:
        if name not in _GETTERS:
            raise ValueError(f"not a readable jail parameter: {name!r}")
        return self._send(["get", clean_jail(jail), name])

    def set(self, jail: str, name: str, value: object) -> Any:
        cleaner = _SETTERS.get(name)
        if cleaner is None:
            raise ValueError(f"not a settable jail parameter: {name!r}")
        return self._send(["set", clean_jail(jail), name, cleaner(value)])

    def add_ignore(self, jail: str, entries: Sequence[str]) -> Any:
        clean = [clean_network(e) for e in entries]
        return self._send(["set", clean_jail(jail), "addignoreip", *clean])

    def banned_ips(self, jail: str) -> list[str]:
        """The IPs banned in a jail now, oldest ban first (``get JAIL banip``)."""
        return [str(ip) for ip in self._send(["get", clean_jail(jail), "banip"])]

    def banned_with_time(self, jail: str) -> list[str]:
        """``get JAIL banip --with-time``: "IP \tSTART + SECONDS = END" in fail2ban's local time."""
        return [str(line) for line in self._send(["get", clean_jail(jail), "banip", "--with-time"])]

    def stop_server(self) -> Any:
        return self._send(["stop"])

    def get_server(self, name: str) -> Any:
        if name not in _SERVER_GETTERS:
            raise ValueError(f"not a readable server setting: {name!r}")
        return self._send(["get", name])

    def stop_jail(self, jail: str) -> Any:
        return self._send(["stop", clean_jail(jail)])
