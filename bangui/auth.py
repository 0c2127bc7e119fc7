"""Login throttling and the auth log, in the one place every login path goes through.

``ThrottledBackend`` is Django's authentication backend, so BanGUI's login
page, its code step, the Django admin's login and anything else that calls
``authenticate()`` are throttled and logged alike.

An attempt is counted *before* the password is checked, under a lock, so 40
wrong passwords sent at once get exactly the allowed number of checks. Two
limits: per client address (an IPv6 client by its /64, the unit one host
gets) and per account (so rotating addresses cannot guess one user's password
without limit). A success clears the address's failures and its own attempt,
not the account's other failures.

Each failure is logged as one line that fail2ban can parse (see README,
"Failed logins", and contrib/fail2ban/filter.d/bangui-auth.conf):

    2026-11-25 07:55:36,123 WARNING bangui.auth: login failed from 203.0.113.5 user="admin"
    2026-11-25 07:55:37,001 WARNING bangui.auth: login refused (throttled) from 203.0.113.5

The address comes first and the user name is JSON-quoted, so a crafted user
name cannot forge another address or a second line.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import logging
import threading
import time
from typing import Any

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from bangui.clientip import client_ip

log = logging.getLogger("bangui.auth")

# One process serves every request (the startup guard enforces one worker), so a
# lock around read-modify-write of the cache makes counting atomic.
_lock = threading.Lock()
# Set on the request by the backend when it refused for too many failures (seconds).
THROTTLED_ATTR = "bangui_throttled"


def client_key(ip: str) -> str:
    """An IPv4 address as it is; an IPv6 address as its /64 (one host gets a /64)."""
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return ip or "-"
    if addr.version == 6:
        return str(ipaddress.ip_network(f"{addr}/64", strict=False))
    return str(addr)


def _ip_key(ip: str) -> str:
    return f"bangui:loginfail:{client_key(ip)}"


def _account_key(username: str) -> str:
    # Hashed: the name is whatever the client typed (blanks, quotes, line breaks).
    digest = hashlib.sha256(username.strip().lower()[:150].encode()).hexdigest()[:32]
    return f"bangui:loginfail:user:{digest}"


def _recent(key: str, window: int, now: float) -> list[float]:
    stamps: list[float] = cache.get(key, [])
    return [t for t in stamps if now - t < window]


def _limits() -> tuple[tuple[int, int], tuple[int, int]]:
    return (
        (settings.BANGUI_LOGIN_MAX_FAILURES, settings.BANGUI_LOGIN_WINDOW_SECONDS),
        (settings.BANGUI_LOGIN_ACCOUNT_MAX_FAILURES, settings.BANGUI_LOGIN_ACCOUNT_WINDOW_SECONDS),
    )


def attempt_begin(ip: str, username: str) -> tuple[float, int]:
    """Count one attempt before the password is checked.

    Returns (the attempt's stamp, 0) when it may go on, or (0, seconds to wait)
    when the address or the account has used up its failures.
    """
    (ip_max, ip_window), (acc_max, acc_window) = _limits()
    now = time.time()
    with _lock:
        ip_stamps = _recent(_ip_key(ip), ip_window, now)
        acc_stamps = _recent(_account_key(username), acc_window, now) if username else []
        waits = []
        if len(ip_stamps) >= ip_max:
            waits.append(ip_window - (now - min(ip_stamps)))
        if username and len(acc_stamps) >= acc_max:
            waits.append(acc_window - (now - min(acc_stamps)))
        if waits:
            return 0.0, max(1, int(max(waits)) + 1)
        cache.set(_ip_key(ip), [*ip_stamps, now], ip_window)
        if username:
            cache.set(_account_key(username), [*acc_stamps, now], acc_window)
    return now, 0


def attempt_succeeded(ip: str, username: str, stamp: float) -> None:
    """A right password: the address starts afresh; the account keeps its other failures."""
    with _lock:
        cache.delete(_ip_key(ip))
        if username:
            key = _account_key(username)
            _, acc_window = _limits()[1]
            stamps = [t for t in cache.get(key, []) if t != stamp]
            cache.set(key, stamps, acc_window)


def retry_after(ip: str, username: str = "") -> int:
    """Seconds until the address (or the account) may try again; 0 when it may now."""
    (ip_max, ip_window), (acc_max, acc_window) = _limits()
    now = time.time()
    waits = [0.0]
    ip_stamps = _recent(_ip_key(ip), ip_window, now)
    if len(ip_stamps) >= ip_max:
        waits.append(ip_window - (now - min(ip_stamps)))
    if username:
        acc = _recent(_account_key(username), acc_window, now)
        if len(acc) >= acc_max:
            waits.append(acc_window - (now - min(acc)))
    return max(1, int(max(waits)) + 1) if max(waits) > 0 else 0


def log_failure(ip: str, username: str) -> None:
    log.warning("login failed from %s user=%s", ip, json.dumps(username[:64]))


def log_refusal(ip: str) -> None:
    log.warning("login refused (throttled) from %s", ip)


def log_success(ip: str, username: str) -> None:
    log.info("login ok from %s user=%s", ip, json.dumps(username[:64]))


class ThrottledBackend(ModelBackend):
    """Django's ModelBackend behind the throttle and the auth log."""

    def authenticate(  # type: ignore[override]
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> AbstractBaseUser | None:
        if username is None or password is None:
            return None
        ip = client_ip(request) if request is not None else ""
        stamp, wait = attempt_begin(ip, username)
        if wait:
            log_refusal(ip)
            if request is not None:
                setattr(request, THROTTLED_ATTR, wait)
            # Stops authenticate() here: no other backend checks the password.
            raise PermissionDenied("too many failed logins")
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            log_failure(ip, username)
            return None
        attempt_succeeded(ip, username, stamp)
        return user


def code_attempt(request: HttpRequest, username: str) -> tuple[float, int]:
    """The second factor's code counts against the same limits as the password."""
    return attempt_begin(client_ip(request), username)


def code_succeeded(request: HttpRequest, username: str, stamp: float) -> None:
    attempt_succeeded(client_ip(request), username, stamp)
