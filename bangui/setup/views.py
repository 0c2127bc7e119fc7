"""First-run setup, login and logout."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth import authenticate, get_user_model, login, logout
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.signals import user_login_failed
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_otp import login as otp_login
from django_otp import match_token, user_has_device

from bangui import auth
from bangui.clientip import client_ip
from bangui.models import AppSettings
from bangui.setup.forms import CodeForm, LoginForm, SetupForm
from bangui.setup.services import (
    SetupAlreadyDone,
    setup_cache_reset,
    setup_complete,
    setup_done,
    setup_token,
    setup_token_path,
    setup_token_valid,
)
from bangui.signals import audit
from bangui.web import safe_next


@login_not_required
@never_cache
@require_http_methods(["GET", "POST"])
def setup(request: HttpRequest) -> HttpResponse:
    """First run: the form only with the setup token (see README, "Installing for real")."""
    if setup_done():
        return redirect("login")
    token = request.POST.get("token") or request.GET.get("token") or ""
    if not setup_token_valid(token):
        setup_token()  # made (and logged as a link) if it is not there yet
        context = {"token_given": bool(token), "token_file": setup_token_path()}
        return render(request, "bangui/setup_token.html", context, status=403 if token else 200)
    defaults = AppSettings.current()
    form = SetupForm(
        request.POST or None,
        initial={
            "token": token,
            "fail2ban_socket": defaults.fail2ban_socket,
            "fail2ban_config_dir": defaults.fail2ban_config_dir,
        },
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = setup_complete(
                username=data["username"],
                password=data["password"],
                fail2ban_socket=data["fail2ban_socket"],
                fail2ban_config_dir=data["fail2ban_config_dir"],
                timezone_name=data["timezone"],
                session_minutes=data["session_minutes"],
            )
        except SetupAlreadyDone:
            return redirect("login")
        setup_cache_reset()
        audit(request, action="setup", target=user.get_username(), user=user,
              result=f"set up; fail2ban at {data['fail2ban_socket']}")  # fmt: skip
        messages.success(request, "Setup is complete. Log in with the user name you chose.")
        return redirect("login")
    return render(request, "bangui/setup.html", {"form": form})


# A password step's user waits this long for the second step.
CODE_STEP_SECONDS = 300
_PENDING = "bangui_code_step"


def _throttled(request: HttpRequest, form: forms.Form, template: str, context: dict[str, Any]):  # type: ignore[no-untyped-def]
    wait = getattr(request, auth.THROTTLED_ATTR, 0)
    form.add_error(None, f"Too many failed logins. Try again in {wait} s.")
    response = render(request, template, context, status=429)
    response["Retry-After"] = str(wait)
    return response


@login_not_required
@never_cache
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect(safe_next(request) or "dashboard")
    users = list(get_user_model().objects.filter(is_active=True)[:2])
    single = users[0] if len(users) == 1 else None
    form = LoginForm(request.POST or None, single_user=single is not None)
    context: dict[str, Any] = {"form": form, "next": safe_next(request) or ""}
    if request.method != "POST" or not form.is_valid():
        return render(request, "bangui/login.html", context)
    username = single.get_username() if single else form.cleaned_data["username"]
    # ThrottledBackend counts, checks and logs (every login path goes through it).
    user = authenticate(request, username=username, password=form.cleaned_data["password"])
    if getattr(request, auth.THROTTLED_ATTR, 0):
        return _throttled(request, form, "bangui/login.html", context)
    if user is None:
        form.add_error(None, "Wrong password." if single else "Wrong user name or password.")
        return render(request, "bangui/login.html", context)
    if user_has_device(user, confirmed=True):
        request.session[_PENDING] = {
            "user": user.pk,
            "at": time.time(),
            "backend": getattr(user, "backend", ""),
            "next": context["next"],
        }
        return redirect("login_code")
    login(request, user)
    return redirect(safe_next(request) or "dashboard")


@login_not_required
@never_cache
@require_http_methods(["GET", "POST"])
def login_code(request: HttpRequest) -> HttpResponse:
    """The second step: a TOTP code or a recovery code, throttled like the password."""
    pending = request.session.get(_PENDING) or {}
    user = get_user_model().objects.filter(pk=int(pending.get("user") or 0), is_active=True).first()
    if user is None or time.time() - float(pending.get("at", 0)) > CODE_STEP_SECONDS:
        request.session.pop(_PENDING, None)
        messages.info(request, "Log in again: the code step waits five minutes at most.")
        return redirect("login")
    form = CodeForm(request.POST or None)
    context: dict[str, Any] = {"form": form, "username": user.get_username()}
    if request.method != "POST" or not form.is_valid():
        return render(request, "bangui/login_code.html", context)
    name = user.get_username()
    stamp, wait = auth.code_attempt(request, name)
    if wait:
        setattr(request, auth.THROTTLED_ATTR, wait)
        auth.log_refusal(client_ip(request))
        user_login_failed.send(__name__, credentials={"username": name}, request=request)
        return _throttled(request, form, "bangui/login_code.html", context)
    device = match_token(user, form.cleaned_data["code"])
    if device is None:
        auth.log_failure(client_ip(request), name)
        user_login_failed.send(__name__, credentials={"username": name}, request=request)
        form.add_error("code", "That code is not right (or was used already).")
        return render(request, "bangui/login_code.html", context)
    auth.code_succeeded(request, name, stamp)
    request.session.pop(_PENDING, None)
    login(request, user, backend=pending.get("backend") or None)
    otp_login(request, device)
    return redirect(pending.get("next") or "dashboard")


@login_not_required
@require_GET
def admin_login(request: HttpRequest) -> HttpResponse:
    """The Django admin logs in through BanGUI's login (throttle, log, second factor)."""
    target = safe_next(request) or reverse("admin:index")
    return redirect(f"{reverse('login')}?{urlencode({'next': target})}")


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    messages.info(request, "You are logged out.")
    return redirect("login")
