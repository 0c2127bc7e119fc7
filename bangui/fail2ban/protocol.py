"""fail2ban's socket wire format, without importing fail2ban.

A request is a pickled list of strings followed by END. A reply is a pickled
``(code, value)`` tuple followed by END; code 1 means ``value`` is an exception.
The server ``pickle.loads`` whatever we send, so only lists of ``str`` leave
this module, and replies are read with an unpickler that can build builtin
containers and inert exception stand-ins, nothing else.
"""

from __future__ import annotations

import io
import pickle
from typing import Any

END = b"<F2B_END_COMMAND>"
CLOSE = b"<F2B_CLOSE_COMMAND>"

_SAFE_BUILTINS = frozenset(
    {
        "list",
        "tuple",
        "dict",
        "set",
        "frozenset",
        "str",
        "int",
        "float",
        "bool",
        "bytes",
        "complex",
    }
)


class RemoteError(Exception):
    """Stand-in for an exception class raised inside fail2ban-server.

    ``remote_class`` holds the dotted name of the original class, e.g.
    ``fail2ban.exceptions.UnknownJailException``. The class itself is never
    imported.
    """

    remote_class = "builtins.Exception"


_standins: dict[str, type[RemoteError]] = {}


def _standin(module: str, name: str) -> type[RemoteError]:
    key = f"{module}.{name}"
    if key not in _standins:
        _standins[key] = type(name, (RemoteError,), {"remote_class": key})
    return _standins[key]


class SafeUnpickler(pickle.Unpickler):
    """Unpickler that refuses every global but builtin containers and exceptions."""

    def find_class(self, module: str, name: str) -> Any:
        if module == "builtins" and name in _SAFE_BUILTINS:
            return super().find_class(module, name)
        # Error replies carry the server's exception class; replace it with an
        # inert local subclass so the message survives and nothing is imported.
        if name.endswith(("Error", "Exception", "Warning")) and name.isidentifier():
            return _standin(module, name)
        raise pickle.UnpicklingError(f"forbidden global in fail2ban reply: {module}.{name}")


def encode_request(args: list[str]) -> bytes:
    if not isinstance(args, list) or not all(type(a) is str for a in args):
        raise TypeError("fail2ban requests must be lists of str")
    return pickle.dumps(args, protocol=4) + END


_LITERALS = (str, int, float, bool, type(None))


def _literal(value: Any, depth: int = 0) -> bool:
    if depth > 4:
        return False
    if type(value) in _LITERALS:
        return True
    if type(value) is list:
        return all(_literal(v, depth + 1) for v in value)
    if type(value) is dict:
        return all(type(k) is str and _literal(v, depth + 1) for k, v in value.items())
    return False


def encode_config_command(command: list[Any]) -> bytes:
    """A command of fail2ban's config stream (``-d``), for BanGUI's private check server only.

    The stream carries ints, bools, None and nested lists (``multi-set``), as
    ``ast.literal_eval`` read them; nothing but such plain values is encoded.
    The live server only ever gets ``encode_request`` (lists of str).
    """
    if type(command) is not list or not command or not _literal(command):
        raise TypeError("config stream commands are lists of plain values")
    return pickle.dumps(command, protocol=4) + END


def decode_reply(data: bytes) -> Any:
    if data.endswith(END):
        data = data[: -len(END)]
    return SafeUnpickler(io.BytesIO(data)).load()
