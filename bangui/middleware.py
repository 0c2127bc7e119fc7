"""Request plumbing: client IP, security headers, the setup gate, the user's timezone."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from urllib.parse import urlsplit

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
from bangui.subpath import within

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
        # path_info, here and below: the path after BANGUI_URL_PREFIX.
        if not request.path_info.startswith(_OPEN_BEFORE_SETUP) and not setup_done():
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
        if request.path_info.startswith("/health/"):
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
            login = redirect_to_login(_current_page(request), self.get_login_url(view_func))
            return HttpResponse(status=204, headers={"HX-Redirect": login["Location"]})
        return super().handle_no_permission(request, view_func)


def _current_page(request: HttpRequest) -> str:
    """The page an htmx request came from, as a path to come back to after the login.

    htmx sends the whole URL; the login's ``next`` takes paths on this site only.
    Anything else in the header (another host, "http://[x") gives the dashboard.
    """
    try:
        parts = urlsplit(request.headers.get("HX-Current-URL", ""))
    except ValueError:
        return reverse("dashboard")
    if parts.netloc == request.get_host() and within(request, parts.path):
        return parts.path + (f"?{parts.query}" if parts.query else "")
    return reverse("dashboard")


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
