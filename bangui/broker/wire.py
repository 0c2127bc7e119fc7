"""The broker's wire format: length-prefixed JSON frames, free of local assumptions.

A frame is a 4-byte big-endian length and that many bytes of UTF-8 JSON. A
request is ``{"v": 1, "op": NAME, "args": {...}}``; a reply is
``{"v": 1, "ok": true, "result": ...}`` or ``{"v": 1, "ok": false, "error":
{"kind": KIND, "message": TEXT, "remote_class": NAME}}``. The same stream works
over a Unix socket or a pipe (``--stdio``, e.g. through ssh): nothing in it
names a local path, uid or file descriptor.
"""

from __future__ import annotations

import json
import struct
from typing import Any, Protocol

VERSION = 1
HEADER = struct.Struct(">I")
# Requests are small: bans go in batches of 1,000, a config file is at most 1 MiB.
MAX_REQUEST = 4 * 1024 * 1024
# Replies can be larger (a jail's banned list), but never without bound.
MAX_REPLY = 64 * 1024 * 1024

# Error kinds, mapped back to BanGUI's fail2ban errors by the client.
INVALID = "invalid"  # the request or a value in it is refused by validation
REFUSED = "refused"  # allowed syntax, refused by policy (e.g. a config write that runs code)
FORBIDDEN = "forbidden"  # the peer's user may not use the broker at all
UNKNOWN_OP = "unknown_op"
UNAVAILABLE = "unavailable"  # fail2ban is down
BUSY = "busy"  # fail2ban did not answer in time
COMMAND = "command"  # fail2ban answered with an error
PROTOCOL = "protocol"  # a reply from fail2ban could not be read
DB = "db"  # fail2ban's database could not be read (remote_class ReadTooLong: too slow)
INTERNAL = "internal"  # the broker failed; details are in its log only


class WireError(Exception):
    """A frame that cannot be read: too large, cut short, not JSON, not an object."""


class Reader(Protocol):
    def read(self, n: int, /) -> bytes: ...


class Writer(Protocol):
    def write(self, data: bytes, /) -> object: ...

    def flush(self) -> object: ...


def _read_exact(stream: Reader, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = stream.read(size - len(data))
        if not chunk:
            if not data:
                raise EOFError
            raise WireError("the frame was cut short")
        data += chunk
    return data


def read_frame(stream: Reader, limit: int) -> dict[str, Any]:
    """One frame as a dict; EOFError at a clean end of stream."""
    (size,) = HEADER.unpack(_read_exact(stream, HEADER.size))
    if size > limit:
        raise WireError(f"frame of {size} bytes is over the limit of {limit}")
    body = _read_exact(stream, size) if size else b""
    try:
        value = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WireError(f"the frame is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise WireError("the frame is not a JSON object")
    return value


def encode_frame(value: dict[str, Any]) -> bytes:
    body = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return HEADER.pack(len(body)) + body


def write_frame(stream: Writer, value: dict[str, Any]) -> None:
    stream.write(encode_frame(value))
    stream.flush()


def request(op: str, args: dict[str, Any]) -> dict[str, Any]:
    return {"v": VERSION, "op": op, "args": args}


def ok(result: Any) -> dict[str, Any]:
    return {"v": VERSION, "ok": True, "result": result}


def error(kind: str, message: str, remote_class: str = "") -> dict[str, Any]:
    return {
        "v": VERSION,
        "ok": False,
        "error": {"kind": kind, "message": message, "remote_class": remote_class},
    }
