"""First-run setup: whether it is done, and completing it."""

from __future__ import annotations

import hmac
import logging
import os
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser
from django.db import transaction
from django.utils import timezone

from bangui.logsanitize import register_secret
from bangui.models import AppSettings, UserProfile
from bangui.roles import Role

log = logging.getLogger("bangui.setup")

ADMIN_USERNAME = "admin"


# Once setup is done it stays done, so each process asks the database until it is.
_setup_done = False


def setup_done() -> bool:
    """Whether first-run setup has finished; once true it stays true in this process."""
    global _setup_done
    if not _setup_done:
        _setup_done = AppSettings.objects.filter(pk=1, setup_completed_at__isnull=False).exists()
    return _setup_done


def setup_cache_reset() -> None:
    global _setup_done
    _setup_done = False


class SetupAlreadyDone(Exception):
    """Setup runs once; afterwards settings change elsewhere."""


def setup_complete(
    *,
    password: str,
    fail2ban_socket: str,
    fail2ban_config_dir: str,
    timezone_name: str,
    session_minutes: int,
    username: str = ADMIN_USERNAME,
) -> AbstractUser:
    """Create the first admin and the settings row, once.

    Safe against two submissions at the same time, on SQLite and PostgreSQL:
    the settings row is claimed with a conditional UPDATE (only one request
    sees its row change from "not set up" to "set up"), inside the same
    transaction that creates the user, so the loser changes nothing.
    """
    User = get_user_model()
    now = timezone.now()
    with transaction.atomic():
        AppSettings.objects.get_or_create(
            pk=1,
            defaults={
                "fail2ban_socket": fail2ban_socket,
                "fail2ban_config_dir": fail2ban_config_dir,
            },
        )
        claimed = AppSettings.objects.filter(pk=1, setup_completed_at__isnull=True).update(
            fail2ban_socket=fail2ban_socket,
            fail2ban_config_dir=fail2ban_config_dir,
            timezone=timezone_name,
            session_minutes=session_minutes,
            setup_completed_at=now,
            updated_at=now,
        )
        if not claimed:
            raise SetupAlreadyDone
        user = User.objects.filter(username=username).first() or User(username=username)
        user.is_staff = True
        user.is_superuser = True
        user.is_active = True
        user.set_password(password)
        user.save()
        UserProfile.objects.update_or_create(user=user, defaults={"role": Role.ADMIN})
    AppSettings.forget()
    setup_token_remove()
    return user


# -- the setup token ------------------------------------------------------------------
# Until setup is done, whoever opens /setup/ first would become root on this host:
# the form needs a one-time token that only someone with a shell on the host can read.

TOKEN_FILE = "setup-token"


def setup_token_path() -> Path:
    return Path(settings.DATA_DIR) / TOKEN_FILE


def setup_token() -> str:
    """The setup token, created (0600, in the data dir) the first time it is asked for."""
    path = setup_token_path()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        token = path.read_text().strip()
        register_secret(token)
        return token
    with os.fdopen(fd, "w") as fh:
        fh.write(secrets.token_urlsafe(32) + "\n")
    token = path.read_text().strip()
    # Not the token itself: logs are shipped and read by more people than the host's
    # shell users, and whoever holds the token becomes admin (the sanitizer would hide it).
    register_secret(token)
    log.warning(
        "BanGUI is not set up yet. Open %s/setup/?token=TOKEN on this server to set it up, "
        "with the token from %s (cat it as BanGUI's user).",
        settings.BANGUI_URL_PREFIX,
        path,
    )
    return token


def setup_token_valid(candidate: object) -> bool:
    if not isinstance(candidate, str) or not candidate or len(candidate) > 200:
        return False
    return hmac.compare_digest(candidate.encode(), setup_token().encode())


def setup_token_remove() -> None:
    setup_token_path().unlink(missing_ok=True)
