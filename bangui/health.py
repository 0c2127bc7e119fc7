"""Health: the endpoints probes call, the status bar fragment, and their middleware.

This module may import the apps (the geo state is part of readiness): like
``bangui.urls`` it is a composition root, not part of the core layer.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.decorators import login_not_required
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from alerts.selectors import failing_channels
from bangui.broker.client import BrokerClient
from bangui.fail2ban import Fail2banBusy, Fail2banError
from bangui.fail2ban.configured import get_client
from bangui.models import InstanceLock
from bangui.pagecache import conditional
from bangui.status import current_status, timeout_judged
from geo.selectors import geo_status

Handler = Callable[[HttpRequest], HttpResponse]


@require_GET
def status_bar(request: HttpRequest) -> HttpResponse:
    """The status bar (every page polls it every 10 s): a 304 until the snapshot changes."""
    status = current_status()
    failing = failing_channels()
    return conditional(
        request,
        ("status-bar", status, tuple(failing)),
        lambda: render(
            request, "bangui/_status_bar.html", {"status": status, "alerts_failing": failing}
        ),
    )


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
    if settings.BANGUI_BROKER_SOCKET:
        # Told apart from fail2ban: with the broker down, fail2ban's own state is unknown.
        try:
            BrokerClient(settings.BANGUI_BROKER_SOCKET, timeout=2.0).call("hello")
            checks["broker"] = {"ok": True}
        except Fail2banError as exc:
            checks["broker"] = {"ok": False, "error": str(exc)[:200]}
    try:
        checks["fail2ban"] = {"ok": get_client(timeout=2.0).ping()}
    except Fail2banBusy as exc:
        # Slow to answer (a long batch ban) is not down, for a while; see bangui.status.
        judged = timeout_judged(str(exc))
        checks["fail2ban"] = {"ok": judged.online, "busy": judged.busy, "error": str(exc)[:200]}
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
    # Informational: without a geo database BanGUI still works (countries show "—").
    checks["geo"] = geo_status(count=False)
    ready = bool(
        checks["database"]["ok"]
        and checks["fail2ban"]["ok"]
        and checks.get("broker", {"ok": True})["ok"]
    )
    healthy = checks["scheduler"]["ok"] and not checks["fail2ban"].get("busy")
    status = "ok" if ready and healthy else ("degraded" if ready else "unavailable")
    if not _logged_in(request):
        # Strangers (load balancers, anybody) get status words only: no paths, no errors.
        words = {name: _word(check) for name, check in checks.items() if name != "geo"}
        return JsonResponse({"status": status, "checks": words}, status=200 if ready else 503)
    return JsonResponse({"status": status, "checks": checks}, status=200 if ready else 503)


def _word(check: dict[str, object]) -> str:
    if check.get("busy"):
        return "busy"
    return "ok" if check.get("ok") else "failing"


def _logged_in(request: HttpRequest) -> bool:
    """Whether the request carries a logged-in session (this view runs before the session
    and auth middleware, see HealthCheckMiddleware, so the session is read here)."""
    key = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
    if not key:
        return False
    try:
        session = import_module(settings.SESSION_ENGINE).SessionStore(session_key=key)
        return bool(session.get(SESSION_KEY))
    except DatabaseError:
        return False


class HealthCheckMiddleware:
    """Answer /health/live and /health/ready before host checks and redirects.

    Probes from Docker, Kubernetes or a load balancer use an address as Host,
    which ALLOWED_HOSTS would reject with 400; health answers carry no secrets.
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # path_info: the path after BANGUI_URL_PREFIX, which request.path includes.
        if request.method == "GET" and request.path_info == "/health/live":
            return health_live(request)
        if request.method == "GET" and request.path_info == "/health/ready":
            return health_ready(request)
        return self.get_response(request)
