"""``BrokerClient``: the web's and the jobs' way to fail2ban when a root broker runs.

It has ``Fail2banClient``'s methods and raises the same errors, so views and
services do not know which one they hold. Values are validated here first (for
the message next to a form field) and again inside the broker (which trusts no
caller). When the broker itself cannot be reached the error is
``BrokerUnavailable``, a ``Fail2banUnavailable`` that pages name distinctly.
"""

from __future__ import annotations

import contextlib
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from bangui.fail2ban.client import BAN_BATCH, Fail2banClient, JailStatus
from bangui.fail2ban.db import ReadTooLong
from bangui.fail2ban.errors import (
    Fail2banBusy,
    Fail2banCommandError,
    Fail2banProtocolError,
    Fail2banUnavailable,
)
from bangui.fail2ban.invalid import ValidationError
from bangui.fail2ban.policy import PolicyRefused
from bangui.fail2ban.validation import clean_address, clean_jail, clean_network

from . import wire

# The broker's own answer time on top of fail2ban's.
SLACK = 2.0


# Every BrokerUnavailable's text starts so: the status bar tells "the broker is down"
# (fail2ban's state unknown) from "fail2ban is down" by it, also in the stored snapshot.
BROKER_DOWN = "BanGUI's broker: "


class BrokerUnavailable(Fail2banUnavailable):
    """The broker's socket is missing, refuses, or does not let this user in."""

    def __init__(self, message: str) -> None:
        super().__init__(message if message.startswith(BROKER_DOWN) else BROKER_DOWN + message)


def _raise(err: dict[str, Any]) -> None:
    kind = str(err.get("kind", ""))
    message = str(err.get("message", "the broker refused the request"))
    if kind == wire.INVALID:
        raise ValidationError(message)
    if kind == wire.REFUSED:
        raise PolicyRefused(message)
    if kind == wire.FORBIDDEN:
        raise BrokerUnavailable(message)
    if kind == wire.BUSY:
        raise Fail2banBusy(message)
    if kind == wire.UNAVAILABLE:
        raise Fail2banUnavailable(message)
    if kind == wire.DB:
        if err.get("remote_class") == "ReadTooLong":
            raise ReadTooLong(message)
        raise sqlite3.OperationalError(message)
    if kind == wire.COMMAND:
        raise Fail2banCommandError(message, str(err.get("remote_class", "")))
    raise Fail2banProtocolError(f"broker: {message}")


class _Stream:
    """A connected socket with buffered reads (frames arrive in pieces)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.rfile = sock.makefile("rb")

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.rfile.close()
            self.sock.close()


class BrokerClient(Fail2banClient):
    """``Fail2banClient``'s interface over the broker's socket.

    ``socket_path`` is the broker's socket. With ``persistent=True`` one
    connection is kept for all calls (thread-safe) and re-opened once if the
    broker was restarted between calls.
    """

    def __init__(self, socket_path: str, *, timeout: float = 5.0, persistent: bool = False):
        super().__init__(socket_path, timeout=timeout, persistent=persistent)
        self._stream: _Stream | None = None
        self._call_lock = threading.Lock()

    # -- transport -----------------------------------------------------------

    def _open(self) -> _Stream:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout + SLACK)
        try:
            sock.connect(self.socket_path)
        except (FileNotFoundError, ConnectionRefusedError):
            sock.close()
            raise BrokerUnavailable(f"not running (no answer at {self.socket_path})") from None
        except PermissionError:
            sock.close()
            raise BrokerUnavailable(
                f"permission denied on its socket {self.socket_path}: BanGUI must run "
                "as a user the broker allows (its group, usually bangui)"
            ) from None
        except OSError as exc:
            sock.close()
            raise BrokerUnavailable(f"cannot be reached: {exc.strerror or exc}") from None
        return _Stream(sock)

    def _exchange(self, stream: _Stream, frame: bytes) -> dict[str, Any]:
        stream.sock.settimeout(self.timeout + SLACK)
        try:
            stream.sock.sendall(frame)
        except (BrokenPipeError, ConnectionResetError):
            # The broker may have answered (a refusal of this user) and closed
            # before reading the request: that answer is the one to report.
            try:
                return wire.read_frame(stream.rfile, wire.MAX_REPLY)
            except (EOFError, wire.WireError, OSError):
                raise BrokenPipeError("the broker closed the connection") from None
        return wire.read_frame(stream.rfile, wire.MAX_REPLY)

    def call(self, op: str, **args: Any) -> Any:
        """Run one broker operation; its result, or the matching fail2ban error."""
        frame = wire.encode_frame({**wire.request(op, args), "timeout": self.timeout})
        try:
            with self._call_lock:
                reply = self._call(frame)
        except TimeoutError:
            raise Fail2banBusy(f"the broker did not answer within {self.timeout:g} s") from None
        except EOFError:
            raise BrokerUnavailable("it closed the connection") from None
        except (ConnectionError, BrokenPipeError) as exc:
            raise BrokerUnavailable(f"it dropped the connection: {exc}") from None
        except wire.WireError as exc:
            raise Fail2banProtocolError(f"unreadable broker reply: {exc}") from None
        if reply.get("ok") is True:
            return reply.get("result")
        err = reply.get("error")
        _raise(err if isinstance(err, dict) else {})
        raise AssertionError("unreachable")

    def _call(self, frame: bytes) -> dict[str, Any]:
        if not self.persistent:
            stream = self._open()
            try:
                return self._exchange(stream, frame)
            finally:
                stream.close()
        for attempt in (1, 2):
            fresh = self._stream is None
            if self._stream is None:
                self._stream = self._open()
            try:
                return self._exchange(self._stream, frame)
            except (EOFError, BrokenPipeError, ConnectionResetError):
                self._stream.close()
                self._stream = None
                # A kept connection the broker closed (restart) fails before any reply:
                # one retry on a fresh connection is safe only then.
                if fresh or attempt == 2:
                    raise
            except BaseException:
                self._stream.close()
                self._stream = None
                raise
        raise AssertionError("unreachable")

    def _send(self, args: list[str]) -> Any:  # pragma: no cover - a guard
        raise Fail2banProtocolError("raw fail2ban commands do not go through the broker")

    def close(self) -> None:
        with self._call_lock:
            if self._stream is not None:
                self._stream.close()
                self._stream = None

    # -- typed API (Fail2banClient's) ----------------------------------------------

    def ping(self) -> bool:
        return bool(self.call("ping"))

    def version(self) -> str:
        return str(self.call("version"))

    def jails(self) -> list[str]:
        return [str(j) for j in self.call("jails")]

    def jail_status(self, jail: str, *, flavour: str = "short") -> JailStatus:
        d = self.call("jail_status", jail=clean_jail(jail), flavour=flavour)
        banned = d.get("banned")
        return JailStatus(
            name=str(d["name"]),
            currently_failed=int(d["currently_failed"]),
            total_failed=int(d["total_failed"]),
            currently_banned=int(d["currently_banned"]),
            total_banned=int(d["total_banned"]),
            files=tuple(str(f) for f in d.get("files") or ()),
            banned=tuple(str(ip) for ip in banned) if banned is not None else None,
        )

    def banned(self) -> dict[str, list[str]]:
        reply = self.call("banned")
        return {str(j): [str(ip) for ip in ips] for j, ips in reply.items()}

    def jails_banning(self, ips: Iterable[str]) -> dict[str, list[str]]:
        clean = [clean_address(ip) for ip in ips]
        if not clean:
            return {}
        reply = self.call("jails_banning", ips=clean)
        return {str(ip): [str(j) for j in jails] for ip, jails in reply.items()}

    def ban_batches(
        self,
        jail: str,
        ips: Sequence[str],
        *,
        before_send: Callable[[list[str]], None] | None = None,
    ) -> Iterator[tuple[list[str], int]]:
        jail = clean_jail(jail)
        clean = [clean_network(ip) for ip in ips]
        for start in range(0, len(clean), BAN_BATCH):
            batch = clean[start : start + BAN_BATCH]
            if before_send is not None:
                before_send(batch)
            yield batch, int(self.call("ban", jail=jail, ips=batch))

    def unban(self, jail: str, ips: Sequence[str]) -> int:
        jail = clean_jail(jail)
        clean = [clean_network(ip) for ip in ips]
        return sum(
            int(self.call("unban", jail=jail, ips=clean[i : i + BAN_BATCH]))
            for i in range(0, len(clean), BAN_BATCH)
        )

    def unban_everywhere(self, ips: Sequence[str]) -> int:
        clean = [clean_network(ip) for ip in ips]
        return sum(
            int(self.call("unban_everywhere", ips=clean[i : i + BAN_BATCH]))
            for i in range(0, len(clean), BAN_BATCH)
        )

    def unban_all(self) -> int:
        return int(self.call("unban_all"))

    def get(self, jail: str, name: str) -> Any:
        return self.call("get", jail=clean_jail(jail), name=name)

    def set(self, jail: str, name: str, value: object) -> Any:
        if not isinstance(value, str | int | bool):
            value = str(value)
        return self.call("set", jail=clean_jail(jail), name=name, value=value)

    def add_ignore(self, jail: str, entries: Sequence[str]) -> Any:
        clean = [clean_network(e) for e in entries]
        return self.call("add_ignore", jail=clean_jail(jail), entries=clean)

    def banned_ips(self, jail: str) -> list[str]:
        return [str(ip) for ip in self.call("banned_ips", jail=clean_jail(jail))]

    def banned_with_time(self, jail: str) -> list[str]:
        return [str(line) for line in self.call("banned_with_time", jail=clean_jail(jail))]

    def stop_jail(self, jail: str) -> Any:
        return self.call("stop_jail", jail=clean_jail(jail))

    def get_server(self, name: str) -> Any:
        return self.call("get_server", name=name)

    def stop_server(self) -> Any:
        raise PolicyRefused("stopping fail2ban is done on the server, not through BanGUI")


def wait_ready(path: str, timeout: float = 10.0) -> None:
    """Block until a broker answers at ``path`` (fail2ban may still be down)."""
    deadline = time.monotonic() + timeout
    client = BrokerClient(path, timeout=1.0)
    while True:
        try:
            client.call("hello")
            return
        except BrokerUnavailable:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
