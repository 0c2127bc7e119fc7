"""Configuration writes from the UI: one path for every form and the file editor.

Every change goes through ``config_apply``: fail2ban's own test on a copy of
the config dir, an atomic write with a backup, a reload of the affected jail
(or all), a probe, and a byte-for-byte rollback on any failure
(``bangui.fail2ban.configapply``). Each apply is recorded as a ``ConfigChange``
with the previous content of its files, so that an apply after which fail2ban
goes down shortly (``PENDING_SECONDS``) can be undone with one click.
"""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from bangui.fail2ban import Fail2banError, configapply, configfiles, host
from bangui.fail2ban.configured import get_client
from bangui.fail2ban.policy import PolicyRefused
from bangui.models import AppSettings
from bangui.status import current_status, status_changed
from jails.audit.services import Action, Actor, audit_record
from jails.live.selectors import banlist_invalidate, running_jails_invalidate
from jails.models import ConfigChange

log = logging.getLogger("bangui.config")

# fail2ban going offline within this long after an apply offers a one-click rollback.
PENDING_SECONDS = 60


def config_root() -> Path:
    return Path(AppSettings.current().fail2ban_config_dir)


def backup_dir() -> Path:
    return Path(settings.DATA_DIR) / "config-backups"


def lock_path() -> Path:
    return Path(settings.DATA_DIR) / "config-apply.lock"


def _socket() -> str:
    """The socket BanGUI talks to (fail2ban's, or the broker's): cache keys use it."""
    return get_client().socket_path


def config_test(changes: dict[str, bytes | None]) -> configapply.TestOutcome:
    """fail2ban's own check (``-t``) of the config dir with ``changes`` applied to a copy."""
    return host.config_test(get_client(), config_dir=str(config_root()), changes=changes)


@dataclass
class Applied:
    result: configapply.ApplyResult
    change: ConfigChange

    @property
    def ok(self) -> bool:
        return self.result.ok


def config_apply(
    *,
    actor: Actor,
    what: str,
    changes: dict[str, bytes | None],
    reload_jail: str | None,
    expect_running: list[str] | None = None,
) -> Applied:
    """Apply ``changes`` (path relative to the config dir → new bytes, None deletes).

    Never raises for fail2ban or file problems: the result says which step
    failed and whether the previous files were restored.
    """
    result, before = host.config_apply(
        get_client(),
        config_dir=str(config_root()),
        changes=changes,
        reload_jail=reload_jail,
        expect_running=expect_running,
        backup_dir=backup_dir(),
        lock_path=lock_path(),
    )
    previous = {rel: base64.b64encode(data).decode() if data is not None else None
                for rel, data in before.items()}  # fmt: skip
    change = ConfigChange.objects.create(
        username=actor.username[:150],
        what=what[:255],
        files=sorted(changes),
        previous=previous,
        reload_jail=reload_jail or "",
        ok=result.ok,
        step=result.step,
        message=result.message,
    )
    audit_record(
        actor=actor,
        action=Action.CONFIG_WRITE,
        target=what,
        params={"files": sorted(changes), "reload": reload_jail or "all", "step": result.step},
        ok=result.ok,
        result="\n".join(p for p in (result.message, result.output) if p),
    )
    status_changed()
    banlist_invalidate()
    running_jails_invalidate(_socket())
    return Applied(result=result, change=change)


def pending_recovery() -> ConfigChange | None:
    """The last apply, if fail2ban went offline within PENDING_SECONDS after it and still is."""
    status = current_status()
    if status.online:
        return None
    change = ConfigChange.objects.filter(ok=True, rolled_back_at__isnull=True).first()
    if change is None:
        return None
    went_down = status.changed_at or status.checked_at or timezone.now()
    if change.created_at <= went_down <= change.created_at + timedelta(seconds=PENDING_SECONDS):
        return change
    return None


def config_rollback(*, actor: Actor, change: ConfigChange) -> str:
    """Put back the files of ``change`` byte for byte and reload (or start) fail2ban.

    Returns what happened, for the operator; raises nothing for fail2ban errors.
    """
    previous = {
        rel: (base64.b64decode(data) if data is not None else None)
        for rel, data in change.previous.items()
    }
    try:
        outcome = host.config_rollback(
            get_client(), config_dir=str(config_root()), previous=previous
        )
        message = "The previous files are back and fail2ban reloaded them."
    except (configfiles.ConfigFileError, PolicyRefused) as exc:
        audit_record(
            actor=actor, action=Action.CONFIG_WRITE, target=f"rollback: {change.what}",
            ok=False, result=str(exc),
        )  # fmt: skip
        return f"The previous files could not be restored: {exc}"
    except Fail2banError as exc:
        outcome = str(exc)
        message = (
            "The previous files are back. fail2ban did not answer the reload; "
            "start it again (systemctl start fail2ban) and it will read them."
        )
    change.rolled_back_at = timezone.now()
    change.save(update_fields=["rolled_back_at"])
    audit_record(
        actor=actor, action=Action.CONFIG_WRITE, target=f"rollback: {change.what}",
        params={"files": change.files}, result=f"{message}\n{outcome}",
    )  # fmt: skip
    status_changed()
    running_jails_invalidate(_socket())
    return message
