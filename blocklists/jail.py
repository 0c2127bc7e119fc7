"""The dedicated jails imported lists are banned in (fail2ban's maintainers' pattern).

``blocklist-import`` bans for 24 h; a source with its own ban time gets a jail
of its own (``blocklist-import-7d``), since ``banip`` cannot carry a ban time
in fail2ban 1.0.2. Each jail is a ``.conf`` (the definition) and a ``.local``
(turns it on) in ``jail.d/``, created when missing and never overwritten, so
an operator's edits stay. Only that jail is reloaded to start it.
"""

from __future__ import annotations

from bangui.fail2ban import Fail2banClient, Fail2banError, host
from bangui.fail2ban.policy import PolicyRefused
from jails.models import BLOCKLIST_JAIL

BASE_JAIL = BLOCKLIST_JAIL
DEFAULT_BANTIME = 86400

# Actions whose firewall sets hold single addresses: a network cannot be banned there.
_HOST_ONLY_ACTIONS = ("nftables", "ipset")

CONF = """\
# BanGUI's jail for imported blocklists. Created by BanGUI if missing and never
# overwritten: override settings in {name}.local. It reads no log; every ban
# comes from an import (``banip``).
[{name}]
enabled = false
filter =
logpath = /dev/null
backend = polling
maxretry = 1
findtime = 1d
bantime = {bantime}
"""
LOCAL = """\
# Turns BanGUI's blocklist jail on. Created by BanGUI if missing, never overwritten.
[{name}]
enabled = true
"""


class JailError(Exception):
    """The jail cannot be made ready; the message says why and what to do."""


def _compact(seconds: int) -> str:
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def jail_for(bantime: int | None) -> str:
    """The jail of a source: the shared one, or one per distinct ban time."""
    if bantime is None or bantime == DEFAULT_BANTIME:
        return BASE_JAIL
    return f"{BASE_JAIL}-{_compact(bantime)}"


def jail_ensure_files(
    *, client: Fail2banClient, config_dir: str, jail: str, bantime: int | None
) -> list[str]:
    """Create the jail's ``.conf`` and ``.local`` if missing; returns the files written."""
    files = {
        f"jail.d/{jail}.conf": CONF.format(name=jail, bantime=bantime or DEFAULT_BANTIME),
        f"jail.d/{jail}.local": LOCAL.format(name=jail),
    }
    try:
        written = host.create_missing(client, config_dir=config_dir, files=files)
    except (OSError, PolicyRefused, Fail2banError) as exc:
        raise JailError(
            f"Cannot create the jail {jail} in {config_dir}/jail.d: {exc}. "
            "BanGUI needs write access to fail2ban's jail.d directory."
        ) from exc
    return [name.removeprefix("jail.d/") for name in written]


def jail_ready(
    *, client: Fail2banClient, config_dir: str, bantime: int | None
) -> tuple[str, list[str]]:
    """Make sure the source's jail is configured and running; returns it and notes for the log."""
    jail = jail_for(bantime)
    notes = [f"created jail.d/{name}" for name in jail_ensure_files(
        client=client, config_dir=config_dir, jail=jail, bantime=bantime
    )]  # fmt: skip
    try:
        if jail in client.jails():
            return jail, notes
        host.reload(client, config_dir=config_dir, jail=jail, if_exists=True)
        running = jail in client.jails()
    except Fail2banError as exc:
        raise JailError(f"fail2ban could not start the jail {jail}: {exc}") from exc
    if not running:
        raise JailError(
            f"fail2ban did not start the jail {jail}: check jail.d/{jail}.local "
            "(enabled = true) and fail2ban's log."
        )
    notes.append(f"started jail {jail}")
    return jail, notes


def networks_supported(client: Fail2banClient, jail: str) -> bool:
    """Whether the jail's actions can ban a whole network (``203.0.113.0/24``).

    fail2ban's nftables and ipset actions keep single-address sets, so a network
    ban would fail inside the action; iptables rules and no action take one.
    """
    try:
        actions = [str(a) for a in client.get(jail, "actions") or []]
    except Fail2banError:
        return False
    return not any(bad in a for a in actions for bad in _HOST_ONLY_ACTIONS)
