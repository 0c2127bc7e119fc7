"""First-run setup: whether it is done, and completing it."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser
from django.db import transaction
from django.utils import timezone

from bangui.models import AppSettings

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
) -> AbstractUser:
    """Create the admin user and the settings row in one transaction.

    If a previous attempt stopped half-way (the user exists, setup is not
    marked done), this completes it: the user's password is set again.
    """
    User = get_user_model()
    with transaction.atomic():
        row = AppSettings.objects.filter(pk=1).first()
        if row is not None and row.setup_done:
            raise SetupAlreadyDone
        user = User.objects.filter(username=ADMIN_USERNAME).first() or User(username=ADMIN_USERNAME)
        user.is_staff = True
        user.is_superuser = True
        user.is_active = True
        user.set_password(password)
        user.save()
        row = row or AppSettings(pk=1)
        row.fail2ban_socket = fail2ban_socket
        row.fail2ban_config_dir = fail2ban_config_dir
        row.timezone = timezone_name
        row.session_minutes = session_minutes
        row.setup_completed_at = timezone.now()
        row.save()
    return user
