"""Job entry points of the jails area: each calls a service."""

from __future__ import annotations

from bangui.fail2ban.configured import get_client
from jails.history import services


def history_sync() -> str:
    result = services.history_sync(client=get_client())
    if not result.ok:
        return f"failed: {result.error}"
    return (
        f"added {result.added} of {result.read} read; longest read {result.longest_read_ms:.0f} ms"
    )


def history_purge() -> str:
    return f"deleted {services.history_purge()} archived bans past retention"
