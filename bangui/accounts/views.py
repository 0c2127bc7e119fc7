"""The Users page (admins) and each user's own account: password, two-factor login."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.safestring import mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from bangui.accounts import services
from bangui.accounts.forms import (
    OwnPasswordForm,
    PasswordResetForm,
    TotpConfirmForm,
    UserEditForm,
    UserNewForm,
)
from bangui.roles import user_role


def _user(pk: int) -> User:
    user = get_object_or_404(get_user_model(), pk=pk)
    assert isinstance(user, User)
    return user


@require_GET
def users(request: HttpRequest) -> HttpResponse:
    return _users_page(request, UserNewForm())


def _role_of(user: User) -> str:
    profile = getattr(user, "bangui_profile", None)
    return str(profile.role) if profile is not None else user_role(user) or "viewer"


def _users_page(request: HttpRequest, form: UserNewForm, status: int = 200) -> HttpResponse:
    with_totp = services.users_with_second_factor()
    rows = [
        (u, _role_of(u), u.pk in with_totp)
        for u in get_user_model().objects.select_related("bangui_profile").order_by("username")
    ]
    context = {"nav": "users", "rows": rows, "form": form, "admins": services.active_admins()}
    return render(request, "bangui/users.html", context, status=status)


@require_POST
def user_new(request: HttpRequest) -> HttpResponse:
    form = UserNewForm(request.POST)
    if not form.is_valid():
        return _users_page(request, form, status=400)
    data = form.cleaned_data
    try:
        user = services.user_create(
            request=request, username=data["username"], role=data["role"],
            password=data["password"],
        )  # fmt: skip
    except (services.UserRefused, ValidationError) as exc:
        form.add_error(None, "; ".join(getattr(exc, "messages", [str(exc)])))
        return _users_page(request, form, status=400)
    messages.success(request, f"Added {user.get_username()} as {data['role']}.")
    return redirect("users")


@require_http_methods(["GET", "POST"])
def user_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(pk)
    initial = {"role": _role_of(user), "is_active": user.is_active}
    form = UserEditForm(initial=initial)
    reset = PasswordResetForm()
    status = 200
    if request.method == "POST" and "password" in request.POST:
        reset = PasswordResetForm(request.POST)
        if reset.is_valid():
            try:
                services.user_password_set(
                    request=request, user=user, password=reset.cleaned_data["password"]
                )
            except ValidationError as exc:
                reset.add_error("password", exc)
            else:
                messages.success(request, f"New password set for {user.get_username()}.")
                return redirect("user_edit", pk=pk)
        status = 400
    elif request.method == "POST":
        form = UserEditForm(request.POST)
        if form.is_valid():
            try:
                services.user_update(
                    request=request, user=user, role=form.cleaned_data["role"],
                    is_active=form.cleaned_data["is_active"],
                )  # fmt: skip
            except services.UserRefused as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, f"Saved {user.get_username()}.")
                return redirect("users")
        status = 400
    context = {"nav": "users", "subject": user, "form": form, "reset": reset}
    return render(request, "bangui/user_edit.html", context, status=status)


# -- one's own account ----------------------------------------------------------------


def _me(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


@never_cache
@require_GET
def account(request: HttpRequest) -> HttpResponse:
    return _account_page(request, OwnPasswordForm())


def _account_page(
    request: HttpRequest, form: OwnPasswordForm, status: int = 200, **extra: object
) -> HttpResponse:
    me = _me(request)
    context = {
        "nav": "",
        "form": form,
        "totp_on": services.has_second_factor(me),
        "must_totp": services.totp_missing(me),
        **extra,
    }
    return render(request, "bangui/account.html", context, status=status)


@never_cache
@require_POST
def account_password(request: HttpRequest) -> HttpResponse:
    form = OwnPasswordForm(request.POST)
    if not form.is_valid():
        return _account_page(request, form, status=400)
    try:
        services.own_password_change(
            request=request,
            old=form.cleaned_data["old_password"],
            new=form.cleaned_data["password"],
        )
    except ValidationError as exc:
        form.add_error(None, exc)
        return _account_page(request, form, status=400)
    messages.success(request, "Your password is changed; your other sessions have ended.")
    return redirect("account")


@never_cache
@require_http_methods(["GET", "POST"])
def account_totp(request: HttpRequest) -> HttpResponse:
    """Turn on two-factor login: scan the QR code, type a code, keep the recovery codes."""
    me = _me(request)
    device = services.totp_device(me, confirmed=False)
    form = TotpConfirmForm(request.POST or None)
    if request.method == "POST" and device is not None and form.is_valid():
        try:
            codes = services.totp_confirm(
                request=request, device=device, code=form.cleaned_data["code"]
            )
        except ValidationError as exc:
            form.add_error("code", exc)
        else:
            messages.success(request, "Two-factor login is on.")
            return render(request, "bangui/recovery_codes.html", {"codes": codes, "nav": ""})
    if request.method == "GET" or device is None:
        device = services.totp_begin(me)
    import segno  # only this page draws a QR code; not loaded with every worker

    qr = segno.make(device.config_url, error="m")
    context = {
        "nav": "",
        "form": form,
        "qr": mark_safe(qr.svg_inline(scale=4, dark="#111111", light="#ffffff")),  # noqa: S308 - segno draws it
        "secret": device.config_url.split("secret=", 1)[1].split("&", 1)[0],
        "must_totp": services.totp_missing(me),
    }
    return render(request, "bangui/account_totp.html", context, status=400 if form.errors else 200)


@require_POST
def account_totp_disable(request: HttpRequest) -> HttpResponse:
    if services.totp_required(_me(request)):
        messages.error(request, "Admins must keep two-factor login on here.")
        return redirect("account")
    services.totp_disable(request=request, user=_me(request))
    messages.success(request, "Two-factor login is off.")
    return redirect("account")


@require_POST
def account_recovery_codes(request: HttpRequest) -> HttpResponse:
    me = _me(request)
    if not services.has_second_factor(me):
        messages.error(request, "Turn on two-factor login first.")
        return redirect("account")
    codes = services.recovery_codes_new(request=request, user=me)
    return render(request, "bangui/recovery_codes.html", {"codes": codes, "nav": ""})
