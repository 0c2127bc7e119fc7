"""Users and their roles, passwords and second factors: every change audited.

Rules kept here, not in views: an admin's role is also Django's staff and
superuser flag (the Django admin is for admins only), and nobody can take
away the last active admin (by role change or deactivation).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model, update_session_auth_hash
from django.contrib.auth.models import User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django_otp import devices_for_user
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from bangui.models import UserProfile
from bangui.roles import Role, user_role
from bangui.signals import audit

RECOVERY_CODES = 10


class UserRefused(Exception):
    """A change that would break a rule; the message says which."""


def _apply_role(user: User, role: str) -> None:
    user.is_staff = user.is_superuser = role == Role.ADMIN
    user.save(update_fields=["is_staff", "is_superuser"])
    UserProfile.objects.update_or_create(user=user, defaults={"role": role})


def active_admins() -> int:
    return UserProfile.objects.filter(role=Role.ADMIN, user__is_active=True).count()


def user_create(*, request: HttpRequest, username: str, role: str, password: str) -> User:
    User = get_user_model()
    if User.objects.filter(username__iexact=username).exists():
        raise UserRefused(f"A user named “{username}” exists already.")
    user = User(username=username, is_active=True)
    validate_password(password, user)
    with transaction.atomic():
        user.set_password(password)
        user.save()
        _apply_role(user, role)
    audit(request, action="user_add", target=username, params={"role": role},
          result=f"added {username} as {role}")  # fmt: skip
    return user


def user_update(*, request: HttpRequest, user: User, role: str, is_active: bool) -> User:
    """Change a user's role or active flag; the last active admin stays an active admin."""
    was = user_role(user) if user.is_active else ""
    with transaction.atomic():
        losing_admin = was == Role.ADMIN and (role != Role.ADMIN or not is_active)
        if losing_admin and active_admins() <= 1:
            raise UserRefused(
                f"{user.get_username()} is the last active admin: make another user an admin "
                "first, or nobody could manage BanGUI any more."
            )
        user.is_active = is_active
        user.save(update_fields=["is_active"])
        _apply_role(user, role)
    state = "active" if is_active else "deactivated"
    audit(request, action="user_change", target=user.get_username(),
          params={"role": role, "active": is_active},
          result=f"{user.get_username()}: {role}, {state}")  # fmt: skip
    return user


def user_password_set(*, request: HttpRequest, user: User, password: str) -> None:
    """An admin sets another user's password (their sessions end: Django's session hash)."""
    validate_password(password, user)
    user.set_password(password)
    user.save(update_fields=["password"])
    audit(request, action="password", target=user.get_username(),
          result=f"password of {user.get_username()} reset by an admin")  # fmt: skip


def own_password_change(*, request: HttpRequest, old: str, new: str) -> None:
    user = request.user
    assert isinstance(user, User)
    if not user.check_password(old):
        raise ValidationError("Your current password is not right.")
    validate_password(new, user)
    user.set_password(new)
    user.save(update_fields=["password"])
    update_session_auth_hash(request, user)  # this session stays; the others end
    audit(request, action="password", target=user.get_username(), result="own password changed")


# -- the second factor ---------------------------------------------------------------


def totp_device(user: User, *, confirmed: bool) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=confirmed).first()


def totp_begin(user: User) -> TOTPDevice:
    """A new, unconfirmed TOTP device (a fresh secret) to scan; an older unconfirmed one goes."""
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return TOTPDevice.objects.create(user=user, name="BanGUI", confirmed=False)


def totp_confirm(*, request: HttpRequest, device: TOTPDevice, code: str) -> list[str]:
    """Confirm the device with a code from the app; returns fresh recovery codes."""
    if not device.verify_token(code):
        raise ValidationError("That code does not match; check the time on your phone.")
    user = request.user
    assert isinstance(user, User)
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user, confirmed=True).exclude(pk=device.pk).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        codes = _new_recovery_codes(user)
    otp_login(request, device)  # this session counts as verified from now on
    audit(request, action="totp", target=user.get_username(), result="two-factor login on")
    return codes


def totp_disable(*, request: HttpRequest, user: User) -> None:
    for device in devices_for_user(user, confirmed=None):
        device.delete()
    audit(request, action="totp", target=user.get_username(), result="two-factor login off")


def recovery_codes_new(*, request: HttpRequest, user: User) -> list[str]:
    codes = _new_recovery_codes(user)
    audit(request, action="totp", target=user.get_username(), result="new recovery codes")
    return codes


def _new_recovery_codes(user: User) -> list[str]:
    device, _ = StaticDevice.objects.get_or_create(
        user=user, name="Recovery codes", defaults={"confirmed": True}
    )
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=c) for c in codes])
    return codes


def users_with_second_factor() -> set[int]:
    return set(TOTPDevice.objects.filter(confirmed=True).values_list("user_id", flat=True))


def has_second_factor(user: User) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def totp_required(user: User) -> bool:
    """Admins must use a second factor when BANGUI_REQUIRE_TOTP_FOR_ADMINS is set."""
    return bool(settings.BANGUI_REQUIRE_TOTP_FOR_ADMINS and user_role(user) == Role.ADMIN)


def totp_missing(user: User) -> bool:
    return totp_required(user) and not has_second_factor(user)
