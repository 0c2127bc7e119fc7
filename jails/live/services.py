"""Writes of the jails area: bans, jail controls, ignore lists, reload and restart.

Every service validates first, then acts through the fail2ban client, then
writes one audit event saying what happened, also when it failed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import cache

from bangui.fail2ban import Fail2banClient, Fail2banError, host
from bangui.fail2ban.configured import get_client
from bangui.fail2ban.policy import PolicyRefused
from bangui.fail2ban.validation import clean_jail, clean_network
from bangui.status import status_changed
from geo.addresses import LABELS, network_address, parse_ip
from jails.audit.services import Action, Actor, audit_record
from jails.history import services as history
from jails.live.iplist import overlaps
from jails.live.selectors import (
    banlist_invalidate,
    idle_state,
    running_jails,
    running_jails_invalidate,
)
from jails.models import MANUAL_JAIL

log = logging.getLogger("bangui.jails")
T = TypeVar("T")


MANUAL_CONF = """\
# BanGUI's jail for manual bans. Created by BanGUI if missing, never overwritten:
# edit it, or override in manual.local. It watches no log; bans come from BanGUI.
[manual]
enabled = false
filter =
logpath = /dev/null
backend = polling
maxretry = 1
bantime = 1d
"""
MANUAL_LOCAL = """\
# Turns BanGUI's manual jail on. Created by BanGUI if missing, never overwritten.
[manual]
enabled = true
"""


class ActionError(Exception):
    """An action that could not be done; the message is for the operator."""


def _invalidate(client: Fail2banClient, *jails: str) -> None:
    banlist_invalidate(*jails)
    running_jails_invalidate(client.socket_path)
    status_changed()


def _running(client: Fail2banClient, jail: str) -> str:
    """``jail`` if fail2ban runs it; else ActionError, and nothing about it is sent."""
    jail = clean_jail(jail)
    try:
        known = running_jails(client)
    except Fail2banError as exc:
        raise ActionError(f"fail2ban is unreachable: {exc}") from exc
    if jail not in known:
        raise ActionError(f"fail2ban runs no jail named “{jail}”; nothing was sent to it.")
    return jail


def _audited(
    actor: Actor,
    action: str,
    target: str,
    params: dict[str, Any],
    fn: Callable[[], T],
    done: str | Callable[[T], str],
) -> T:
    """Run ``fn()``; audit the outcome as a sentence (``done``, or ``done(result)``);
    turn fail2ban errors into ActionError (audited as failed, with the reason)."""
    try:
        result = fn()
    except (Fail2banError, ActionError) as exc:
        audit_record(
            actor=actor, action=action, target=target, params=params, ok=False, result=str(exc)
        )
        raise ActionError(str(exc)) from exc
    said = done if isinstance(done, str) else done(result)
    audit_record(actor=actor, action=action, target=target, params=params, result=said)
    return result


def _lifted(where: str) -> Callable[[int], str]:
    def said(count: int) -> str:
        if not count:
            return f"was not banned {where}; nothing lifted"
        return f"{count} ban{'s' if count != 1 else ''} lifted {where}"

    return said


# -- the manual jail ----------------------------------------------------------


def manual_jail_ensure(*, config_dir: str, client: Fail2banClient | None = None) -> bool:
    """Create jail.d/manual.conf and manual.local if missing; True if anything was written."""
    files = {"jail.d/manual.conf": MANUAL_CONF, "jail.d/manual.local": MANUAL_LOCAL}
    try:
        written = host.create_missing(client or get_client(), config_dir=config_dir, files=files)
    except (OSError, PolicyRefused, Fail2banError) as exc:
        raise ActionError(f"Cannot create the manual jail in {config_dir}/jail.d: {exc}") from exc
    return bool(written)


def manual_jail_start(*, actor: Actor, client: Fail2banClient, config_dir: str) -> None:
    """Make sure the manual jail exists in the config and runs in fail2ban."""
    manual_jail_ensure(config_dir=config_dir, client=client)
    if MANUAL_JAIL not in client.jails():
        jail_start(actor=actor, client=client, config_dir=config_dir, jail=MANUAL_JAIL)


# -- bans ---------------------------------------------------------------------

# Actions known to block whole networks when given a CIDR (iptables/nftables
# and friends). Others, such as hostsdeny or mail actions, take single hosts.
_NETWORK_ACTIONS = (
    "iptables",
    "ip6tables",
    "nftables",
    "firewallcmd",
    "ufw",
    "shorewall",
    "ipfw",
    "bsd-ipfw",
    "pf",
    "npf",
    "route",
    "dummy",
)


def ban_network_problem(*, client: Fail2banClient, jail: str) -> str:
    """Why networks cannot be banned in this jail, or "" if they can."""
    try:
        actions = [str(a) for a in client.get(jail, "actions") or []]
    except Fail2banError:
        return ""  # the manual jail before it runs: decided by its default action
    unable = [a for a in actions if not a.lower().startswith(_NETWORK_ACTIONS)]
    if unable:
        return (
            f"Jail {jail} uses the action {', '.join(unable)}, which blocks single addresses, "
            "not networks. Ban the addresses one by one, or pick a jail with an "
            "iptables or nftables action."
        )
    return ""


def ban_warnings(
    *, client: Fail2banClient, jail: str, ips: list[str], own_ip: str | None
) -> list[str]:
    """What to confirm before banning: the user's own address, addresses the jail ignores,
    and addresses of private networks (hosts of the operator's own, not internet attackers)."""
    found = []
    special = [(ip, label) for ip in ips[:10_000] if (label := _special(ip)) in _PRIVATE]
    if special:
        shown = ", ".join(f"{ip} ({LABELS.get(label, label)})" for ip, label in special[:5])
        more = f" and {len(special) - 5:,} more" if len(special) > 5 else ""
        found.append(
            f"{shown}{more}: not an internet address. Banning it blocks hosts of a "
            "private network, perhaps your own."
        )
    me = own_ip
    if me:
        mine = [ip for ip in ips if overlaps(ip, [me])]
        if mine:
            found.append(
                f"{', '.join(mine[:5])} includes your own address ({me}): you may lock "
                "yourself out."
            )
    try:
        ignore = [str(i) for i in client.get(jail, "ignoreip") or []]
    except Fail2banError:
        ignore = []
    for ip in ips[:10_000]:
        hits = overlaps(ip, ignore)
        if hits:
            found.append(f"{ip} is in {jail}'s ignore list ({', '.join(hits[:3])}).")
        if len(found) > 10:
            found.append("…and more.")
            break
    return found


# Ranges of the operator's own networks: worth a second look before a ban.
_PRIVATE = frozenset({"private", "loopback", "link-local", "cgnat"})


def _special(entry: str) -> str:
    """The special-range label of an address or a network's first address ("" if public)."""
    parsed = network_address(entry) if "/" in entry else parse_ip(entry)
    return parsed.special if parsed is not None else ""


@dataclass
class BanResult:
    requested: int
    banned: int = 0
    already: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.failed and not self.error


def ban_create(*, actor: Actor, client: Fail2banClient, jail: str, ips: list[str]) -> BanResult:
    """Ban validated addresses in a jail, in batches; reports partial results honestly.

    If fail2ban goes away half-way, the batches already sent stay banned and
    the rest are listed as failed with the reason.
    """
    jail = _running(client, jail)
    result = BanResult(requested=len(ips))
    sent = 0
    batches = client.ban_batches(jail, ips)  # validates everything before sending
    clean: list[str] = []
    try:
        for batch, newly in batches:
            clean.extend(batch)
            sent += len(batch)
            result.banned += newly
            result.already += len(batch) - newly
    except Fail2banError as exc:
        result.error = str(exc)
        result.failed.extend((ip, str(exc)) for ip in ips[sent:])
        clean.extend(ips[sent:])
    _invalidate(client, jail)
    _archive_soon()
    target = clean[0] if len(clean) == 1 else jail
    audit_record(
        actor=actor,
        action=Action.BAN,
        target=target,
        params={
            "jail": jail,
            "count": len(clean),
            "ips": clean[:20] + (["…"] if len(clean) > 20 else []),
        },
        ok=result.ok,
        result=(
            f"{result.banned} banned, {result.already} already banned, "
            f"{len(result.failed)} failed" + (f": {result.error}" if result.error else "")
        ),
    )
    return result


def _archive_soon() -> None:
    """Ask the job cluster for a history sync now rather than at the next minute.

    Not inline: fail2ban writes bans to its DB from a queue a moment later, and
    a sync in the request would make a 10k ban wait for it.
    """
    try:
        from django_q.tasks import async_task

        async_task("jails.tasks.history_sync", task_name="history_sync after a ban")
    except Exception:  # the scheduled run catches up; a ban must not fail for this
        log.exception("could not queue a history sync")


def ban_remove(*, actor: Actor, client: Fail2banClient, ip: str, jail: str | None = None) -> int:
    """Unban one address (or network) from one jail, or from every jail when jail is None.

    fail2ban deletes the IP's rows from its own DB on unban, so they are
    archived first; the archive then notes who lifted the ban.
    """
    ip = clean_network(ip)
    history.history_archive_ip(client=client, ip=ip)
    jails = None if jail is None else [clean_jail(jail)]
    count = _unban(actor=actor, client=client, ip=ip, jail=jail)
    if count:
        history.history_mark_unbanned(ip=ip, jails=jails, by=actor.username or "BanGUI")
    return count


def _unban(*, actor: Actor, client: Fail2banClient, ip: str, jail: str | None) -> int:
    if jail is None:
        count = _audited(
            actor,
            Action.UNBAN,
            ip,
            {"jail": "*"},
            lambda: client.unban_everywhere([ip]),
            _lifted("in every jail"),
        )
        _invalidate(client, *_safe_jails(client))
        return count
    jail = clean_jail(jail)
    count = _audited(
        actor,
        Action.UNBAN,
        ip,
        {"jail": jail},
        lambda: client.unban(_running(client, jail), [ip]),
        _lifted(f"in {jail}"),
    )
    _invalidate(client, jail)
    return count


def ban_remove_all(*, actor: Actor, client: Fail2banClient) -> int:
    """Lift every ban in every jail (archived first: fail2ban deletes their rows)."""
    jails = _safe_jails(client)
    history.history_sync(client=client)
    count = _audited(actor, Action.UNBAN_ALL, "*", {}, client.unban_all, _lifted("in every jail"))
    history.history_mark_all_unbanned(by=actor.username or "BanGUI")
    _invalidate(client, *jails)
    return count


def _safe_jails(client: Fail2banClient) -> list[str]:
    try:
        return client.jails()
    except Fail2banError:
        return []


# -- jail controls ------------------------------------------------------------


def jail_stop(*, actor: Actor, client: Fail2banClient, jail: str) -> None:
    """Stop a jail. fail2ban removes it; start brings it back from the config."""
    jail = clean_jail(jail)
    if jail not in _safe_jails(client):
        # Stopping twice is not an error: the jail is already gone.
        audit_record(
            actor=actor, action=Action.JAIL_STOP, target=jail,
            result=f"jail {jail} was not running; nothing to stop",
        )  # fmt: skip
        return
    _audited(
        actor, Action.JAIL_STOP, jail, {}, lambda: client.stop_jail(jail),
        f"jail {jail} stopped; its bans are lifted until it starts again",
    )  # fmt: skip
    idle_state.pop(jail, None)
    _invalidate(client, jail)


def jail_start(*, actor: Actor, client: Fail2banClient, config_dir: str, jail: str) -> None:
    """Start a configured jail (``reload --if-exists JAIL``, the only way back after stop)."""
    jail = clean_jail(jail)

    def start() -> str:
        try:
            host.reload(client, config_dir=config_dir, jail=jail, if_exists=True)
        except Fail2banError as exc:
            if "No section" in str(exc):
                raise ActionError(f"“{jail}” is not defined in the config ({config_dir}).") from exc
            raise
        if jail not in client.jails():
            raise ActionError(
                f"fail2ban did not start “{jail}”: it is not enabled in the config "
                f"({config_dir}). Enable it there first."
            )
        return "started"

    _audited(actor, Action.JAIL_START, jail, {}, start, f"jail {jail} started")
    _invalidate(client, jail)


def jail_reload(*, actor: Actor, client: Fail2banClient, config_dir: str, jail: str) -> None:
    """Re-read one jail's config; runtime changes (ignore list, bantime) are reverted."""
    jail = clean_jail(jail)
    _audited(
        actor,
        Action.JAIL_RELOAD,
        jail,
        {},
        lambda: host.reload(client, config_dir=config_dir, jail=_running(client, jail)),
        f"jail {jail} read again from its config files",
    )
    idle_state.pop(jail, None)
    _invalidate(client, jail)


def jail_idle_set(*, actor: Actor, client: Fail2banClient, jail: str, idle: bool) -> None:
    jail = clean_jail(jail)
    _audited(
        actor,
        Action.JAIL_IDLE,
        jail,
        {"idle": idle},
        lambda: client.set(_running(client, jail), "idle", idle),
        f"jail {jail} is {'idle' if idle else 'active'}",
    )
    idle_state[jail] = idle


def fail2ban_reload(*, actor: Actor, client: Fail2banClient, config_dir: str) -> None:
    """Reload every jail from the config through fail2ban-client (never the raw command)."""
    jails = _safe_jails(client)
    _audited(
        actor,
        Action.FAIL2BAN_RELOAD,
        "fail2ban",
        {},
        lambda: host.reload(client, config_dir=config_dir),
        "every jail read again from the config files",
    )
    idle_state.clear()
    _invalidate(client, *jails)


def fail2ban_restart(*, actor: Actor, client: Fail2banClient) -> None:
    """Stop fail2ban over the socket, start it with the configured command, wait for it."""
    command = settings.BANGUI_FAIL2BAN_START_COMMAND
    if not command and not host.via_broker(client):
        raise ActionError(
            "No start command is configured (BANGUI_FAIL2BAN_START_COMMAND), so BanGUI "
            "cannot start fail2ban again after stopping it. Use Reload instead."
        )

    def run() -> str:
        host.restart(client, command=command)
        return "restarted"

    _audited(
        actor, Action.FAIL2BAN_RESTART, "fail2ban", {"command": command}, run,
        "fail2ban stopped and started again",
    )  # fmt: skip
    idle_state.clear()
    cache.clear()
    status_changed()


# -- ignore lists -------------------------------------------------------------


def ignore_add(*, actor: Actor, client: Fail2banClient, jail: str, entries: list[str]) -> None:
    jail = clean_jail(jail)
    clean = [clean_network(e) for e in entries]
    _audited(
        actor,
        Action.IGNORE_ADD,
        jail,
        {"entries": clean},
        lambda: client.add_ignore(_running(client, jail), clean),
        f"added to {jail}'s ignore list: {', '.join(clean)}",
    )


def ignore_remove(*, actor: Actor, client: Fail2banClient, jail: str, entry: str) -> None:
    jail = clean_jail(jail)
    clean = clean_network(entry)

    def remove() -> object:
        name = _running(client, jail)
        # fail2ban answers (and logs as an ERROR) "x not in list" for an entry it lacks.
        if clean not in [str(e) for e in client.get(name, "ignoreip") or []]:
            raise ActionError(f"{clean} is not in {name}'s ignore list; nothing was removed.")
        return client.set(name, "delignoreip", clean)

    _audited(
        actor, Action.IGNORE_REMOVE, jail, {"entry": clean}, remove,
        f"{clean} removed from {jail}'s ignore list",
    )  # fmt: skip


def ignoreself_set(*, actor: Actor, client: Fail2banClient, jail: str, value: bool) -> None:
    jail = clean_jail(jail)
    _audited(
        actor,
        Action.IGNORESELF,
        jail,
        {"ignoreself": value},
        lambda: client.set(_running(client, jail), "ignoreself", value),
        f"ignoreself {'on' if value else 'off'} in {jail}",
    )
