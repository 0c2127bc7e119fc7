"""The client's IP address, trusting X-Forwarded-For only from configured proxies."""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest

META_KEY = "BANGUI_CLIENT_IP"


def _trusted(addr: str) -> bool:
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return False
    return any(ip in net for net in settings.BANGUI_TRUSTED_PROXIES)


def resolve_client_ip(meta: dict[str, str]) -> str:
    """Walk X-Forwarded-For from the right while hops are trusted proxies."""
    remote = meta.get("REMOTE_ADDR", "")
    if not _trusted(remote):
        return remote
    hops = [h.strip() for h in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
    for hop in reversed(hops):
        try:
            if "%" in hop:  # a zone index ("fe80::1%$(id)") is no client address
                raise ValueError(hop)
            ipaddress.ip_address(hop)
        except ValueError:
            return remote  # a garbled header: fall back to the proxy itself
        if not _trusted(hop):
            return hop
    return hops[0] if hops else remote


def client_ip(request: HttpRequest) -> str:
    return request.META.get(META_KEY) or request.META.get("REMOTE_ADDR", "")
