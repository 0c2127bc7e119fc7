"""What every login does, whichever page it came through: the session's length, the log."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest

from bangui import auth
from bangui.clientip import client_ip
from bangui.models import AppSettings


@receiver(user_logged_in, dispatch_uid="bangui.session_length")
def session_length(
    sender: Any, request: HttpRequest | None, user: AbstractBaseUser, **kwargs: Any
) -> None:
    """The session lasts as long as chosen at setup (also for the Django admin's login)."""
    if request is None:
        return
    request.session.set_expiry(AppSettings.current().session_minutes * 60)
    if request.META.get("REMOTE_ADDR"):  # not the test client's force_login or a shell
        auth.log_success(client_ip(request), user.get_username())
