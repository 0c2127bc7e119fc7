"""Job entry points of the jails area: each calls a service."""

from __future__ import annotations


def history_sync() -> str:
    from bangui.fail2ban import get_client
    from jails.history import history_sync as sync

    result = sync(client=get_client())
    if not result.ok:
        return f"failed: {result.error}"
    return (
        f"added {result.added} of {result.read} read; longest read {result.longest_read_ms:.0f} ms"
    )


def history_purge() -> str:
    from jails.history import history_purge as purge

    return f"deleted {purge()} archived bans past retention"
