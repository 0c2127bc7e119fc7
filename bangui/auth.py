"""Failed-login throttling and the auth log.

Each failure is logged as one line that fail2ban can parse (see README,
"Failed logins", and contrib/fail2ban/filter.d/bangui-auth.conf):

    2026-11-25 07:55:36,123 WARNING bangui.auth: login failed from 203.0.113.5 user="admin"
    2026-11-25 07:55:37,001 WARNING bangui.auth: login refused (throttled) from 203.0.113.5

The address comes first and the user name is JSON-quoted, so a crafted user
name cannot forge another address or a second line.
"""

from __future__ import annotations

import json
import logging
import time

from django.conf import settings
from django.core.cache import cache

log = logging.getLogger("bangui.auth")


def _key(ip: str) -> str:
    return f"bangui:loginfail:{ip}"


def _recent(ip: str) -> list[float]:
    window = settings.BANGUI_LOGIN_WINDOW_SECONDS
    now = time.time()
    stamps: list[float] = cache.get(_key(ip), [])
    return [t for t in stamps if now - t < window]


def login_throttled(ip: str) -> bool:
    """True once an address has used up its failures for the current window."""
    return len(_recent(ip)) >= settings.BANGUI_LOGIN_MAX_FAILURES


def retry_after(ip: str) -> int:
    stamps = _recent(ip)
    if not stamps:
        return 0
    return max(1, int(settings.BANGUI_LOGIN_WINDOW_SECONDS - (time.time() - min(stamps))) + 1)


def record_failure(ip: str, username: str) -> None:
    stamps = _recent(ip)
    stamps.append(time.time())
    cache.set(_key(ip), stamps, settings.BANGUI_LOGIN_WINDOW_SECONDS)
    log.warning("login failed from %s user=%s", ip, json.dumps(username[:64]))


def record_refusal(ip: str) -> None:
    log.warning("login refused (throttled) from %s", ip)


def record_success(ip: str, username: str) -> None:
    cache.delete(_key(ip))
    log.info("login ok from %s user=%s", ip, json.dumps(username[:64]))
