"""Setup, login, logout, the status bar fragment and the health endpoints."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import authenticate, get_user_model, login, logout
from django.contrib.auth.decorators import login_not_required
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from bangui import auth
from bangui.clientip import client_ip
from bangui.fail2ban import Fail2banError, get_client
from bangui.forms import LoginForm, SetupForm
from bangui.middleware import reset_setup_cache, setup_done
from bangui.models import AppSettings, InstanceLock
from bangui.services import SetupAlreadyDone, setup_complete
from bangui.status import current_status


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
        reset_setup_cache()
        messages.success(request, "Setup is complete. Log in with the password you chose.")
        return redirect("login")
    return render(request, "bangui/setup.html", {"form": form})


def _safe_next(request: HttpRequest) -> str | None:
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return None


@login_not_required
@never_cache
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect(_safe_next(request) or "dashboard")
    users = list(get_user_model().objects.filter(is_active=True)[:2])
    single = users[0] if len(users) == 1 else None
    form = LoginForm(request.POST or None, single_user=single is not None)
    context = {"form": form, "next": _safe_next(request) or ""}
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
            return redirect(_safe_next(request) or "dashboard")
        auth.record_failure(ip, username)
        form.add_error(None, "Wrong password." if single else "Wrong user name or password.")
    return render(request, "bangui/login.html", context)


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    messages.info(request, "You are logged out.")
    return redirect("login")


@require_GET
def status_bar(request: HttpRequest) -> HttpResponse:
    return render(request, "bangui/_status_bar.html", {"status": current_status()})


@login_not_required
@never_cache
@require_GET
def health_live(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@login_not_required
@never_cache
@require_GET
def health_ready(request: HttpRequest) -> JsonResponse:
    """Ready when the database and fail2ban answer; the scheduler is reported too."""
    checks: dict[str, dict[str, object]] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = {"ok": True}
    except DatabaseError as exc:
        checks["database"] = {"ok": False, "error": str(exc)[:200]}
    try:
        checks["fail2ban"] = {"ok": get_client(timeout=2.0).ping()}
    except (Fail2banError, DatabaseError) as exc:
        checks["fail2ban"] = {"ok": False, "error": str(exc)[:200]}
    try:
        lock = InstanceLock.objects.filter(name="scheduler").first()
        fresh = lock is not None and lock.expires_at > timezone.now()
        checks["scheduler"] = {
            "ok": fresh,
            "heartbeat": lock.heartbeat_at.isoformat() if lock else None,
        }
    except DatabaseError:
        checks["scheduler"] = {"ok": False}
    from geo.selectors import geo_status

    # Informational: without a geo database BanGUI still works (countries show "—").
    checks["geo"] = geo_status(count=False)
    ready = bool(checks["database"]["ok"] and checks["fail2ban"]["ok"])
    status = (
        "ok" if ready and checks["scheduler"]["ok"] else ("degraded" if ready else "unavailable")
    )
    return JsonResponse({"status": status, "checks": checks}, status=200 if ready else 503)
