"""Who may scrape /metrics: a bearer token, or an address in the allowed networks.

Off the login (Prometheus has no session) but not public: the metrics name
jails, blocklist sources and the pages' traffic. Neither configured means off.
"""

from __future__ import annotations

import hmac
import ipaddress

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from bangui.clientip import client_ip

OFF_TEXT = (
    "/metrics is off. Enable it with BANGUI_METRICS_TOKEN (or BANGUI_METRICS_TOKEN_FILE), "
    "sent by Prometheus as 'Authorization: Bearer <token>', or with BANGUI_METRICS_ALLOW, "
    "a comma-separated list of networks allowed to scrape (e.g. 127.0.0.1/32,10.0.0.0/8).\n"
)


def refusal(request: HttpRequest) -> HttpResponse | None:
    """None when the request may scrape; otherwise the answer that says why not."""
    token: str | None = settings.BANGUI_METRICS_TOKEN
    networks = settings.BANGUI_METRICS_ALLOW
    if not token and not networks:
        return _text(OFF_TEXT, 404)
    if token and _bearer_matches(request.META.get("HTTP_AUTHORIZATION", ""), token):
        return None
    if networks and _allowed_address(client_ip(request), networks):
        return None
    if token:
        response = _text("A valid 'Authorization: Bearer <BANGUI_METRICS_TOKEN>' is needed.\n", 401)
        response["WWW-Authenticate"] = 'Bearer realm="BanGUI metrics"'
        return response
    return _text("Your address is not in BANGUI_METRICS_ALLOW.\n", 403)


def _bearer_matches(header: str, token: str) -> bool:
    scheme, _, given = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return False
    # Bytes: compare_digest refuses non-ASCII text, and a header may hold anything.
    return hmac.compare_digest(
        given.strip().encode("utf-8", "replace"), token.encode("utf-8", "replace")
    )


def _allowed_address(
    addr: str, networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network]
) -> bool:
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:10.0.0.5 on a dual-stack socket is 10.0.0.5
    return any(ip in net for net in networks)


def _text(body: str, status: int) -> HttpResponse:
    return HttpResponse(body, status=status, content_type="text/plain; charset=utf-8")
