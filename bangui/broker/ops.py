"""The operations the broker carries out, each checked here whatever the caller checked.

An operation is a function ``(ctx, args) -> JSON value``, registered under its
name by ``@op``. ``args`` is whatever JSON the peer sent: every handler reads
its arguments through ``Args``, which refuses unknown keys, wrong types and
oversized lists, and then passes the values through the same validation the
fail2ban client applies (``bangui.fail2ban.validation``). A name not in ``OPS``
is refused; there is no way to send fail2ban a raw command.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from bangui.fail2ban.client import BAN_BATCH, Fail2banClient
from bangui.fail2ban.validation import clean_address, clean_jail, clean_network

log = logging.getLogger("bangui.broker")

MAX_LOOKUP = 10_000  # addresses in one "where is it banned" question
MAX_TEXT = 1024


class BadArgs(ValueError):
    """The request's arguments are not what the operation takes."""


@dataclass
class Context:
    """What one peer connection works with: fail2ban's socket, config dir and limits."""

    fail2ban_socket: str
    config_dir: str
    timeout: float = 5.0
    # Backups, the apply lock: the broker's own, never the caller's.
    state_dir: Path = Path("/var/lib/bangui-broker")
    start_command: str = ""
    _client: Fail2banClient | None = field(default=None, repr=False)

    @property
    def client(self) -> Fail2banClient:
        # One kept connection per peer connection: the peer's calls are sequential.
        if self._client is None:
            self._client = Fail2banClient(
                self.fail2ban_socket, timeout=self.timeout, persistent=True
            )
        self._client.timeout = self.timeout  # read per call: the request may set it
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


class Args:
    """Typed access to a request's arguments; unknown keys are an error."""

    def __init__(self, raw: object, allowed: set[str]) -> None:
        if not isinstance(raw, dict):
            raise BadArgs("args must be an object")
        unknown = set(raw) - allowed
        if unknown:
            raise BadArgs(f"unknown argument(s): {', '.join(sorted(map(str, unknown)))[:200]}")
        self.raw = raw

    def text(self, key: str, *, default: str | None = None, limit: int = MAX_TEXT) -> str:
        value = self.raw.get(key, default)
        if not isinstance(value, str):
            raise BadArgs(f"{key} must be a string")
        if len(value) > limit:
            raise BadArgs(f"{key} is longer than {limit} characters")
        return value

    def texts(self, key: str, *, limit: int) -> list[str]:
        value = self.raw.get(key)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise BadArgs(f"{key} must be a list of strings")
        if len(value) > limit:
            raise BadArgs(f"{key} has more than {limit} entries")
        return value

    def scalar(self, key: str) -> str | int | bool:
        value = self.raw.get(key)
        if isinstance(value, bool | int) or (isinstance(value, str) and len(value) <= MAX_TEXT):
            return value
        raise BadArgs(f"{key} must be a short string, a number or a boolean")


Handler = Callable[[Context, Any], Any]
OPS: dict[str, Handler] = {}


def op(name: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        OPS[name] = fn
        return fn

    return register


def jsonable(value: Any) -> Any:
    """fail2ban's reply values as JSON: tuples and sets become lists, the rest text."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    return str(value)


PROTOCOL = 1


@op("hello")
def _hello(ctx: Context, raw: Any) -> dict[str, Any]:
    """The broker answers without asking fail2ban: tells "broker down" from "fail2ban down"."""
    Args(raw, set())
    return {"broker": "bangui", "protocol": PROTOCOL}


# -- fail2ban's socket, through the typed client ----------------------------------------


@op("ping")
def _ping(ctx: Context, raw: Any) -> bool:
    Args(raw, set())
    return ctx.client.ping()


@op("version")
def _version(ctx: Context, raw: Any) -> str:
    Args(raw, set())
    return ctx.client.version()


@op("jails")
def _jails(ctx: Context, raw: Any) -> list[str]:
    Args(raw, set())
    return ctx.client.jails()


@op("jail_status")
def _jail_status(ctx: Context, raw: Any) -> dict[str, Any]:
    a = Args(raw, {"jail", "flavour"})
    flavour = a.text("flavour", default="short")
    if flavour not in ("short", "basic"):
        raise BadArgs("flavour is short or basic")
    status = ctx.client.jail_status(clean_jail(a.text("jail")), flavour=flavour)
    # Field by field, not dataclasses.asdict (a deep copy: a quarter of the broker's time
    # per call): every field is a str, an int or a tuple of str.
    return {
        f.name: list(v) if isinstance(v := getattr(status, f.name), tuple) else v
        for f in fields(status)
    }


@op("banned")
def _banned(ctx: Context, raw: Any) -> dict[str, list[str]]:
    Args(raw, set())
    return ctx.client.banned()


@op("jails_banning")
def _jails_banning(ctx: Context, raw: Any) -> dict[str, list[str]]:
    a = Args(raw, {"ips"})
    return ctx.client.jails_banning([clean_address(ip) for ip in a.texts("ips", limit=MAX_LOOKUP)])


@op("ban")
def _ban(ctx: Context, raw: Any) -> int:
    """One batch (the client sends a long list batch by batch, and knows what went in)."""
    a = Args(raw, {"jail", "ips"})
    jail = clean_jail(a.text("jail"))
    ips = [clean_network(ip) for ip in a.texts("ips", limit=BAN_BATCH)]
    return ctx.client.ban(jail, ips)


@op("unban")
def _unban(ctx: Context, raw: Any) -> int:
    a = Args(raw, {"jail", "ips"})
    jail = clean_jail(a.text("jail"))
    return ctx.client.unban(jail, [clean_network(ip) for ip in a.texts("ips", limit=BAN_BATCH)])


@op("unban_everywhere")
def _unban_everywhere(ctx: Context, raw: Any) -> int:
    a = Args(raw, {"ips"})
    return ctx.client.unban_everywhere(
        [clean_network(ip) for ip in a.texts("ips", limit=BAN_BATCH)]
    )


@op("unban_all")
def _unban_all(ctx: Context, raw: Any) -> int:
    Args(raw, set())
    return ctx.client.unban_all()


@op("get")
def _get(ctx: Context, raw: Any) -> Any:
    a = Args(raw, {"jail", "name"})
    # The client's own allow-list of readable parameters applies (ValueError otherwise).
    return jsonable(ctx.client.get(clean_jail(a.text("jail")), a.text("name", limit=64)))


@op("set")
def _set(ctx: Context, raw: Any) -> Any:
    a = Args(raw, {"jail", "name", "value"})
    # The client's allow-list of settable parameters, each with its validator.
    name = a.text("name", limit=64)
    return jsonable(ctx.client.set(clean_jail(a.text("jail")), name, a.scalar("value")))


@op("add_ignore")
def _add_ignore(ctx: Context, raw: Any) -> Any:
    a = Args(raw, {"jail", "entries"})
    jail = clean_jail(a.text("jail"))
    entries = [clean_network(e) for e in a.texts("entries", limit=BAN_BATCH)]
    return jsonable(ctx.client.add_ignore(jail, entries))


@op("banned_ips")
def _banned_ips(ctx: Context, raw: Any) -> list[str]:
    a = Args(raw, {"jail"})
    return ctx.client.banned_ips(clean_jail(a.text("jail")))


@op("banned_with_time")
def _banned_with_time(ctx: Context, raw: Any) -> list[str]:
    a = Args(raw, {"jail"})
    return ctx.client.banned_with_time(clean_jail(a.text("jail")))


@op("stop_jail")
def _stop_jail(ctx: Context, raw: Any) -> Any:
    a = Args(raw, {"jail"})
    return jsonable(ctx.client.stop_jail(clean_jail(a.text("jail"))))


@op("get_server")
def _get_server(ctx: Context, raw: Any) -> Any:
    a = Args(raw, {"name"})
    return jsonable(ctx.client.get_server(a.text("name", limit=64)))
