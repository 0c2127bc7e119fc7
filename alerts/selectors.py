"""Reads of the alerts app: the page's lists, and the status bar's "alerts failing"."""

from __future__ import annotations

from django.core.cache import cache
from django.utils import timezone

from alerts.models import Channel, Notification, Rule
from alerts.services import FAILING_FOR

RECENT = 50
_FAILING_KEY = "alerts:failing"
# Every page and every status-bar poll may ask; one query per 10 s serves them all.
_FAILING_SECONDS = 10


def channel_list() -> list[Channel]:
    return list(Channel.objects.order_by("name"))


def rule_list() -> list[Rule]:
    return list(Rule.objects.prefetch_related("channels").order_by("name"))


def recent_notifications(limit: int = RECENT) -> list[Notification]:
    return list(Notification.objects.order_by("-created_at", "-id")[:limit])


def failing_channels() -> list[str]:
    """Names of enabled channels whose last delivery failed within the last day (cached)."""
    names: list[str] | None = cache.get(_FAILING_KEY)
    if names is None:
        recent = Channel.objects.filter(
            enabled=True, last_failed_at__gte=timezone.now() - FAILING_FOR
        )
        names = sorted(c.name for c in recent if c.failing)
        cache.set(_FAILING_KEY, names, _FAILING_SECONDS)
    return names


def failing_forget() -> None:
    cache.delete(_FAILING_KEY)
