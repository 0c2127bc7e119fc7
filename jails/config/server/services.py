"""Server settings (read and apply) and the pending-recovery state after a bad apply.

Settings are persisted in ``fail2ban.local`` under ``[Definition]`` and take
effect through ``config_apply``'s full reload, which in fail2ban 1.0.2 re-sends
the server options (measured; see ``bangui.fail2ban.server_settings``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.http import HttpRequest

from bangui.fail2ban import server_settings as ss
from bangui.fail2ban.configured import get_client, server_values_forget
from bangui.fail2ban.inifile import IniError, set_options
from bangui.status import current_status
from jails.audit.services import Actor
from jails.config.services import config_apply, config_root, pending_recovery
from jails.models import ConfigChange

LOCAL_FILE = "fail2ban.local"
SECTION = "Definition"
_NEW_FILE_HEADER = (
    "# fail2ban server settings written by BanGUI; fail2ban.conf holds the defaults.\n"
)
_DISMISSED_KEY = "bangui_recovery_dismissed"


# -- reading ------------------------------------------------------------------------


@dataclass(frozen=True)
class ServerPage:
    running: ss.ServerSettings | None  # None: fail2ban is offline
    configured: ss.ServerSettings
    local_path: str
    sync_minutes: int

    @property
    def effective(self) -> ss.ServerSettings:
        return self.running or self.configured

    @property
    def purge_age(self) -> int | None:
        value = self.running.dbpurgeage if self.running else self.configured.dbpurgeage
        try:
            return ss.purge_age_seconds(value)
        except ss.SettingError:
            return None

    @property
    def purge_warning(self) -> bool:
        return ss.purge_age_too_short(self.purge_age, self.sync_minutes)

    @property
    def log_dirs(self) -> list[str]:
        """Where a new log file may go: /var/log and the current log file's directory."""
        running = self.running.logtarget if self.running else ""
        return ss.log_dirs(running, self.configured.logtarget)

    @property
    def file_target(self) -> bool:
        return ss.is_file_target(self.effective.logtarget)


def server_page() -> ServerPage:
    root = config_root()
    return ServerPage(
        running=ss.running_or_none(get_client(timeout=3.0)),
        configured=ss.configured(root),
        local_path=str(root / LOCAL_FILE),
        sync_minutes=settings.BANGUI_HISTORY_SYNC_MINUTES,
    )


def form_initial(page: ServerPage) -> dict[str, object]:
    """The form starts from what the files say (what survives a restart)."""
    conf = page.configured
    return {
        "loglevel": conf.loglevel.upper() or "INFO",
        # A target with options (SYSLOG[…]) is kept as it is: the field stays empty.
        "logtarget": conf.logtarget if "[" not in conf.logtarget else "",
        "dbpurgeage": conf.dbpurgeage or "1d",
        "dbmaxmatches": conf.dbmaxmatches or "10",
    }


# -- applying -----------------------------------------------------------------------


@dataclass(frozen=True)
class SettingsOutcome:
    ok: bool
    message: str
    output: str = ""


def _changed(data: dict[str, object], conf: ss.ServerSettings) -> dict[str, str]:
    changed: dict[str, str] = {}
    if data["loglevel"] != conf.loglevel.upper():
        changed["loglevel"] = str(data["loglevel"])
    if data["logtarget"] and data["logtarget"] != conf.logtarget:
        changed["logtarget"] = str(data["logtarget"])
    try:
        same_age = ss.purge_age_seconds(conf.dbpurgeage) == ss.purge_age_seconds(
            str(data["dbpurgeage"])
        )
    except ss.SettingError:
        same_age = False
    if not same_age:
        changed["dbpurgeage"] = str(data["dbpurgeage"])
    if str(data["dbmaxmatches"]) != conf.dbmaxmatches:
        changed["dbmaxmatches"] = str(data["dbmaxmatches"])
    return changed


def server_settings_apply(*, actor: Actor, data: dict[str, object]) -> SettingsOutcome:
    """Write the changed settings to fail2ban.local and reload; the file is unchanged on failure.

    ``data`` is a valid ``ServerSettingsForm``'s cleaned data.
    """
    root = config_root()
    changed = _changed(data, ss.configured(root))
    if not changed:
        return SettingsOutcome(True, "Nothing to change: the config files already say this.")
    if ss.running_or_none(get_client(timeout=3.0)) is None:
        # config_apply would refuse too, but only after fail2ban's config test.
        return SettingsOutcome(
            False, "fail2ban is not running, so nothing was changed. Start it first."
        )
    path = root / LOCAL_FILE
    try:
        old = path.read_bytes().decode("utf-8") if path.exists() else ""
        new = set_options(old or _NEW_FILE_HEADER, SECTION, dict(changed))
    except (OSError, UnicodeDecodeError, IniError) as exc:
        return SettingsOutcome(False, f"{path} cannot be updated: {exc}")
    what = "Server settings: " + ", ".join(f"{k} = {v}" for k, v in changed.items())
    applied = config_apply(
        actor=actor, what=what, changes={LOCAL_FILE: new.encode("utf-8")}, reload_jail=None
    )
    _forget_cached_server_values()
    result = applied.result
    if not applied.ok:
        return SettingsOutcome(
            False, f"Not applied ({result.step}): {result.message}", result.output
        )
    return SettingsOutcome(True, _verify(changed))


def _verify(changed: dict[str, str]) -> str:
    """Ask fail2ban whether the reload took the new values (it should; say so if not)."""
    now = ss.running_or_none(get_client(timeout=3.0))
    if now is None:
        return "Saved in fail2ban.local, but fail2ban did not answer after the reload."
    wrong = []
    for key, value in changed.items():
        want = str(ss.purge_age_seconds(value)) if key == "dbpurgeage" else value
        if now.get(key) != want:
            wrong.append(f"{key} is {now.get(key)}")
    if wrong:
        return (
            "Saved in fail2ban.local and reloaded, but fail2ban reports " + "; ".join(wrong) + "."
        )
    return "Applied: " + ", ".join(f"{k} = {v}" for k, v in changed.items()) + "."


def _forget_cached_server_values() -> None:
    server_values_forget(get_client())


# -- pending recovery -----------------------------------------------------------------


@dataclass(frozen=True)
class Recovery:
    change: ConfigChange
    seconds_after: int


def recovery_for(request: HttpRequest) -> Recovery | None:
    """The pending recovery to show this user, unless they dismissed it."""
    change = pending_recovery()
    if change is None or change.pk in request.session.get(_DISMISSED_KEY, []):
        return None
    status = current_status()
    went_down: datetime | None = status.changed_at or status.checked_at
    seconds = int((went_down - change.created_at).total_seconds()) if went_down else 0
    return Recovery(change=change, seconds_after=max(seconds, 0))


def recovery_dismiss(request: HttpRequest, change: ConfigChange) -> None:
    dismissed = [int(i) for i in request.session.get(_DISMISSED_KEY, [])][-19:]
    request.session[_DISMISSED_KEY] = [*dismissed, change.pk]


def is_pending(change: ConfigChange) -> bool:
    """Only the pending change may be rolled back: an older one would undo later applies."""
    pending = pending_recovery()
    return pending is not None and pending.pk == change.pk
