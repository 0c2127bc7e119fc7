"""First-run setup, login and logout."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import authenticate, get_user_model, login, logout
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from bangui import auth
from bangui.clientip import client_ip
from bangui.models import AppSettings
from bangui.setup.forms import LoginForm, SetupForm
from bangui.setup.services import SetupAlreadyDone, setup_cache_reset, setup_complete, setup_done
from bangui.web import safe_next


@login_not_required
@never_cache
@require_http_methods(["GET", "POST"])
def setup(request: HttpRequest) -> HttpResponse:
    if setup_done():
        return redirect("login")
    defaults = AppSettings.current()
    form = SetupForm(
        request.POST or None,
        initial={
            "fail2ban_socket": defaults.fail2ban_socket,
            "fail2ban_config_dir": defaults.fail2ban_config_dir,
        },
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            setup_complete(
                password=data["password"],
                fail2ban_socket=data["fail2ban_socket"],
                fail2ban_config_dir=data["fail2ban_config_dir"],
                timezone_name=data["timezone"],
                session_minutes=data["session_minutes"],
            )
        except SetupAlreadyDone:
            return redirect("login")
        setup_cache_reset()
        messages.success(request, "Setup is complete. Log in with the password you chose.")
        return redirect("login")
    return render(request, "bangui/setup.html", {"form": form})


@login_not_required
@never_cache
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect(safe_next(request) or "dashboard")
    users = list(get_user_model().objects.filter(is_active=True)[:2])
    single = users[0] if len(users) == 1 else None
    form = LoginForm(request.POST or None, single_user=single is not None)
    context = {"form": form, "next": safe_next(request) or ""}
    if request.method != "POST":
        return render(request, "bangui/login.html", context)

    ip = client_ip(request)
    if auth.login_throttled(ip):
        auth.record_refusal(ip)
        wait = auth.retry_after(ip)
        form.add_error(None, f"Too many failed logins from your address. Try again in {wait} s.")
        response = render(request, "bangui/login.html", context, status=429)
        response["Retry-After"] = str(wait)
        return response
    if form.is_valid():
        username = single.get_username() if single else form.cleaned_data["username"]
        user = authenticate(request, username=username, password=form.cleaned_data["password"])
        if user is not None:
            login(request, user)
            request.session.set_expiry(AppSettings.current().session_minutes * 60)
            auth.record_success(ip, username)
            return redirect(safe_next(request) or "dashboard")
        auth.record_failure(ip, username)
        form.add_error(None, "Wrong password." if single else "Wrong user name or password.")
    return render(request, "bangui/login.html", context)


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    messages.info(request, "You are logged out.")
    return redirect("login")
