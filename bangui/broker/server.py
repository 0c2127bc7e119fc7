"""The broker's socket server: peer checks, one thread per connection, dispatch.

A peer is accepted when its uid or primary gid (``SO_PEERCRED``, given by the
kernel, not by the peer) is in the configured sets; root is always accepted,
since root can reach fail2ban without the broker anyway. Each connection is
served in its own thread, one request after the other.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import socketserver
import sqlite3
import stat
import struct
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bangui.fail2ban.db import ReadTooLong
from bangui.fail2ban.errors import (
    Fail2banBusy,
    Fail2banCommandError,
    Fail2banProtocolError,
    Fail2banUnavailable,
)
from bangui.fail2ban.invalid import ValidationError
from bangui.fail2ban.policy import PolicyRefused

from . import (
    ops_config,  # noqa: F401 - registers the config operations
    ops_db,  # noqa: F401 - registers the database reads
    wire,
)
from .ops import OPS, BadArgs, Context

log = logging.getLogger("bangui.broker")

MAX_TIMEOUT = 120.0
IDLE_TIMEOUT = 600.0
# Operations that change something: logged at INFO with the peer.
CHANGES = frozenset(
    {"ban", "unban", "unban_everywhere", "unban_all", "set", "add_ignore", "stop_jail"}
)


@dataclass(frozen=True)
class Peer:
    pid: int
    uid: int
    gid: int

    def __str__(self) -> str:
        return f"pid={self.pid} uid={self.uid} gid={self.gid}"


def peer_of(sock: socket.socket) -> Peer:
    """The connecting process's credentials, as the kernel recorded them at connect()."""
    raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    pid, uid, gid = struct.unpack("3i", raw)
    return Peer(pid, uid, gid)


@dataclass(frozen=True)
class Policy:
    """Who may connect: these uids or primary gids, and root."""

    uids: frozenset[int] = field(default_factory=frozenset)
    gids: frozenset[int] = field(default_factory=frozenset)

    def allows(self, peer: Peer) -> bool:
        return peer.uid == 0 or peer.uid in self.uids or peer.gid in self.gids


@dataclass(frozen=True)
class Settings:
    fail2ban_socket: str
    config_dir: str
    timeout: float = 5.0
    state_dir: Path = Path("/var/lib/bangui-broker")
    start_command: str = ""

    def context(self) -> Context:
        return Context(
            self.fail2ban_socket, self.config_dir, self.timeout, self.state_dir, self.start_command
        )


def dispatch(ctx: Context, request: dict[str, Any], peer: str = "stdio") -> dict[str, Any]:
    """One request to one reply; never raises."""
    if request.get("v") != wire.VERSION:
        return wire.error(wire.INVALID, f"unsupported protocol version {request.get('v')!r:.20}")
    name = request.get("op")
    handler = OPS.get(name) if isinstance(name, str) else None
    timeout = request.get("timeout")
    if isinstance(timeout, int | float) and not isinstance(timeout, bool):
        # The caller's patience for this call, within sane bounds.
        ctx.timeout = min(max(float(timeout), 0.5), MAX_TIMEOUT)
    if handler is None:
        log.warning("refused unknown operation %r from %s", str(name)[:64], peer)
        return wire.error(wire.UNKNOWN_OP, f"unknown operation {str(name)[:64]!r}")
    try:
        result = handler(ctx, request.get("args", {}))
    except PolicyRefused as exc:
        log.warning("refused %s from %s: %s", name, peer, exc)
        return wire.error(wire.REFUSED, str(exc))
    except BadArgs as exc:
        log.warning("refused %s from %s: %s", name, peer, exc)
        return wire.error(wire.INVALID, f"{name}: {exc}")
    except ValidationError as exc:
        log.warning("refused %s from %s: %s", name, peer, exc.messages[0])
        return wire.error(wire.INVALID, str(exc.messages[0]))
    except ValueError as exc:  # the client's allow-lists of parameter names
        log.warning("refused %s from %s: %s", name, peer, exc)
        return wire.error(wire.INVALID, str(exc))
    except Fail2banBusy as exc:
        return wire.error(wire.BUSY, str(exc))
    except Fail2banUnavailable as exc:
        return wire.error(wire.UNAVAILABLE, str(exc))
    except Fail2banCommandError as exc:
        return wire.error(wire.COMMAND, exc.message, exc.remote_class)
    except Fail2banProtocolError as exc:
        return wire.error(wire.PROTOCOL, str(exc))
    except sqlite3.Error as exc:  # fail2ban's DB: locked, missing, a read cut off
        kind = "ReadTooLong" if isinstance(exc, ReadTooLong) else ""
        return wire.error(wire.DB, f"{exc}"[:500], kind)
    except OSError as exc:  # a config file that cannot be read or written
        log.warning("%s from %s: %s", name, peer, exc)
        return wire.error(wire.COMMAND, f"{name}: {exc.strerror or exc}")
    except Exception:
        log.exception("%s from %s failed", name, peer)
        return wire.error(wire.INTERNAL, f"{name} failed inside the broker; see its log")
    if name in CHANGES:
        log.info("%s by %s", name, peer)
    return wire.ok(result)


def serve_stream(ctx: Context, rfile: wire.Reader, wfile: wire.Writer, peer: str) -> None:
    """Answer requests until the peer closes; a broken frame ends the connection."""
    try:
        while True:
            try:
                request = wire.read_frame(rfile, wire.MAX_REQUEST)
            except (EOFError, TimeoutError, ConnectionError):
                return
            except wire.WireError as exc:
                log.warning("closed the connection of %s: %s", peer, exc)
                with contextlib.suppress(OSError):
                    wire.write_frame(wfile, wire.error(wire.INVALID, str(exc)))
                return
            wire.write_frame(wfile, dispatch(ctx, request, peer))
    finally:
        ctx.close()


class _Handler(socketserver.StreamRequestHandler):
    server: BrokerServer
    # A peer that stops mid-frame or stays silent this long loses its thread.
    timeout = IDLE_TIMEOUT

    def handle(self) -> None:
        peer = peer_of(self.request)
        if not self.server.policy.allows(peer):
            log.warning("refused a connection from %s: not an allowed user or group", peer)
            with contextlib.suppress(OSError):
                wire.write_frame(
                    self.wfile,
                    wire.error(wire.FORBIDDEN, f"uid {peer.uid} may not use the BanGUI broker"),
                )
            return
        serve_stream(self.server.settings.context(), self.rfile, self.wfile, str(peer))


class BrokerServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    # Room for a web worker's threads and the job cluster connecting at once.
    request_queue_size = 64

    def __init__(self, path: str, settings: Settings, policy: Policy, group: int | None) -> None:
        self.settings = settings
        self.policy = policy
        _remove_stale(path)
        # Created 0660 from the start (no window with a wider mode).
        old = os.umask(0o117)
        try:
            super().__init__(path, _Handler)
        finally:
            os.umask(old)
        if group is not None:
            os.chown(path, -1, group)
        os.chmod(path, 0o660)
        self.path = path


def _remove_stale(path: str) -> None:
    """Remove a socket left by a broker that died; refuse to remove anything else."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise SystemExit(f"bangui-broker: {path} exists and is not a socket; not touching it")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(path)
    except OSError:
        os.unlink(path)
    else:
        raise SystemExit(f"bangui-broker: another broker is listening on {path}")
    finally:
        probe.close()


def serve(path: str, settings: Settings, policy: Policy, group: int | None) -> BrokerServer:
    """Start serving in a background thread; ``shutdown()`` and ``server_close()`` stop it."""
    server = BrokerServer(path, settings, policy, group)
    threading.Thread(target=server.serve_forever, name="broker", daemon=True).start()
    return server
