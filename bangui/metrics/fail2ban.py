"""fail2ban's counters for a scrape: one ``status`` round trip per jail, kept a few seconds.

Ten Prometheus servers scraping every 5 s still cost fail2ban one round of
questions per ``CACHE_SECONDS``: a scrape that finds a fresh sample uses it,
and scrapes that arrive while one is asking wait for its answer instead of
asking again. Only /metrics takes this lock; pages never do.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from django.conf import settings

from bangui.broker.client import BrokerClient
from bangui.fail2ban import Fail2banError, JailStatus
from bangui.fail2ban.configured import get_client

CACHE_SECONDS = 5.0
# Per call (connect, ask, answer). A fail2ban slower than this counts as down for the scrape.
TIMEOUT = 3.0


@dataclass(frozen=True)
class Fail2banSample:
    up: bool
    jails: tuple[JailStatus, ...] = ()
    # None when BanGUI talks to fail2ban directly (no BANGUI_BROKER_SOCKET).
    broker_up: bool | None = None
    error: str = ""


_lock = threading.Lock()
_cached: tuple[float, Fail2banSample] | None = None


def fail2ban_sample() -> Fail2banSample:
    """The latest sample, asked anew when older than ``CACHE_SECONDS``."""
    global _cached
    hit = _cached
    if hit is not None and time.monotonic() - hit[0] < CACHE_SECONDS:
        return hit[1]
    with _lock:
        hit = _cached
        if hit is not None and time.monotonic() - hit[0] < CACHE_SECONDS:
            return hit[1]  # another scrape asked while this one waited
        sample = _ask()
        _cached = (time.monotonic(), sample)
        return sample


def forget() -> None:
    """Drop the kept sample (tests, and the benchmark's cold scrapes)."""
    global _cached
    _cached = None


def _ask() -> Fail2banSample:
    broker_up = _broker_up() if settings.BANGUI_BROKER_SOCKET else None
    client = get_client(timeout=TIMEOUT, persistent=True)
    try:
        statuses = []
        for name in client.jails():
            try:
                statuses.append(client.jail_status(name))
            except Fail2banError as exc:
                if getattr(exc, "unknown_jail", False):
                    continue  # stopped between the list and its status
                raise
    except Fail2banError as exc:
        return Fail2banSample(up=False, broker_up=broker_up, error=str(exc)[:200])
    finally:
        client.close()
    return Fail2banSample(up=True, jails=tuple(statuses), broker_up=broker_up)


def _broker_up() -> bool:
    try:
        BrokerClient(settings.BANGUI_BROKER_SOCKET, timeout=TIMEOUT).call("hello")
    except Fail2banError:
        return False
    return True
