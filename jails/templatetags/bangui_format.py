"""Template filters for durations and time left."""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils import timezone

register = template.Library()

_UNITS = (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60), ("s", 1))


def _human(seconds: int, parts: int = 2) -> str:
    out = []
    for unit, size in _UNITS:
        if seconds >= size:
            out.append(f"{seconds // size}{unit}")
            seconds %= size
        if len(out) == parts:
            break
    return " ".join(out) or "0s"


@register.filter
def duration(value: object) -> str:
    """600 → "10m", 90000 → "1d 1h", -1 → "permanent"; text (from config) is shown as is."""
    if value is None or value == "":
        return "—"
    try:
        seconds = int(str(value))
    except ValueError:
        return str(value)
    if seconds < 0:
        return "permanent"
    return _human(seconds)


@register.filter
def time_left(end: datetime | None) -> str:
    if end is None:
        return ""
    left = int((end - timezone.now()).total_seconds())
    return "expiring" if left <= 0 else _human(left)


@register.filter
def thousands(value: object) -> str:
    """12345 → "12,345" (without django.contrib.humanize's locale machinery)."""
    try:
        return f"{int(value):,}"  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return str(value)
