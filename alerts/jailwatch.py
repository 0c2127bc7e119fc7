"""The "jail stopped or missing" event: enabled or once-running jails fail2ban does not run.

Unlike the other detectors this one asks fail2ban (its jail list, with a short
timeout), because no record holds which jails run. It asks only while the
health snapshot says fail2ban is online; when it is not, the "unreachable" rule
speaks and this one keeps what it knew.
"""

from __future__ import annotations

from datetime import datetime

from alerts.events import Event, link
from alerts.models import Rule
from alerts.text import quoted
from bangui.fail2ban import Fail2banError
from bangui.fail2ban.configreader import configured_jails
from bangui.fail2ban.configured import get_client
from bangui.models import AppSettings, ServerStatus

TIMEOUT_SECONDS = 3.0


def _enabled() -> set[str]:
    try:
        return {
            j.name for j in configured_jails(AppSettings.current().fail2ban_config_dir) if j.enabled
        }
    except Fail2banError:
        return set()  # unreadable config: judge by the jails seen running before


def _listed(state: dict[str, object], key: str) -> set[str]:
    value = state.get(key)
    return {str(v) for v in value} if isinstance(value, list) else set()


def jail_stopped(rule: Rule, state: dict[str, object], now: datetime) -> list[Event]:
    row = ServerStatus.objects.filter(pk=1).first()
    if row is None or not row.online or row.busy:
        return []
    try:
        running = set(get_client(timeout=TIMEOUT_SECONDS).jails())
    except Fail2banError:
        return []
    expected = _enabled() | _listed(state, "seen")
    if rule.jail:
        expected &= {rule.jail}
    missing = expected - running
    before = _listed(state, "missing")
    state["seen"] = sorted(running | (_listed(state, "seen") & missing))
    state["missing"] = sorted(missing)
    shown = ", ".join(quoted(j, 64) for j in sorted(running)[:20]) or "none"
    events = [
        Event(
            subject=f"Jail stopped: {quoted(name, 64)}",
            body=f"The jail {quoted(name, 64)} is enabled or was running, and fail2ban does not "
            f"run it now. Running: {shown}.",
            link=link("jails"),
        )
        for name in sorted(missing - before)
    ]
    events += [
        Event(
            subject=f"Jail running again: {quoted(name, 64)}",
            body=f"fail2ban runs the jail {quoted(name, 64)} again.",
            link=link("jails"),
            closes=True,
        )
        for name in sorted(before - missing)
    ]
    return events
