"""Request plumbing: client IP, security headers, the setup gate, the user's timezone."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable

from django.contrib.auth.middleware import LoginRequiredMiddleware as _LoginRequired
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from bangui.accounts.services import totp_missing
from bangui.clientip import META_KEY, _trusted, resolve_client_ip
from bangui.models import AppSettings
from bangui.roles import Can, Role, allows, required_role, user_role
from bangui.setup.services import setup_done

Handler = Callable[[HttpRequest], HttpResponse]

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


class ClientIPMiddleware:
    """Resolve the client IP once; drop forwarding headers no trusted proxy set."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not _trusted(request.META.get("REMOTE_ADDR", "")):
            # Otherwise a client could claim HTTPS or another address.
            for key in ("HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_HOST"):
                request.META.pop(key, None)
        request.META[META_KEY] = resolve_client_ip(request.META)
        return self.get_response(request)


class SecurityHeadersMiddleware:
    """Content-Security-Policy without unsafe-inline, and a closed Permissions-Policy."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault(
            "Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()"
        )
        return response


# /metrics has its own gate (bangui.metrics.access) and says f2b_up before setup too.
_OPEN_BEFORE_SETUP = ("/setup/", "/static/", "/health/", "/metrics")


class SetupRequiredMiddleware:
    """Until setup is done, every URL leads to /setup/."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(_OPEN_BEFORE_SETUP) and not setup_done():
            url = reverse("setup")
            if getattr(request, "htmx", False):
                return HttpResponse(status=204, headers={"HX-Redirect": url})
            return HttpResponseRedirect(url)
        return self.get_response(request)


class TimezoneMiddleware:
    """Show times in the timezone chosen at setup."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith("/health/"):
            # Health probes must not depend on the database (live) or need times.
            return self.get_response(request)
        try:
            timezone.activate(zoneinfo.ZoneInfo(AppSettings.current().timezone))
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            timezone.deactivate()
        return self.get_response(request)


class LoginRequiredMiddleware(_LoginRequired):
    """Django's login gate; an htmx poll whose session ended reloads the whole page."""

    def handle_no_permission(  # type: ignore[override]
        self, request: HttpRequest, view_func: Callable[..., HttpResponseBase]
    ) -> HttpResponse:
        if getattr(request, "htmx", False):
            target = request.headers.get("HX-Current-URL") or "/"
            login = redirect_to_login(target, self.get_login_url(view_func))
            return HttpResponse(status=204, headers={"HX-Redirect": login["Location"]})
        return super().handle_no_permission(request, view_func)


class RoleMiddleware:
    """Every request against ``bangui.roles``: a role that may not gets a 403 page.

    After the login gate (anonymous users are sent to log in first) and before
    the view, so a refused request changes nothing.
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view_func: Callable[..., HttpResponseBase], *args: object
    ) -> HttpResponse | None:
        """None lets the view run; otherwise the 403 page (or the way to the second factor)."""
        match = request.resolver_match
        if match is None or not request.user.is_authenticated:
            return None
        if getattr(view_func, "login_required", True) is False:
            return None  # open to anybody (setup, login, health): no role to check
        needed = required_role(
            match.url_name or "", request.method or "GET", admin_site=match.app_name == "admin"
        )
        role = user_role(request.user)
        if role == Role.ADMIN and needed is not None and totp_missing(request.user):
            # BANGUI_REQUIRE_TOTP_FOR_ADMINS: nothing else until the second factor is on.
            return HttpResponseRedirect(reverse("account_totp"))
        if allows(role, needed):
            return None
        return render(
            request,
            "bangui/forbidden.html",
            {"role": role or "none", "needed": needed.label if needed else "", "can": Can(role)},
            status=403,
        )
