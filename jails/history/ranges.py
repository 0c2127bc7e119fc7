"""The time ranges every archive page offers: the dashboard, the map and the history filter.

One table, so the four presets read and reach back the same everywhere. Each
page has its own default (the dashboard opens on a day, the map on a week).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


@dataclass(frozen=True)
class RangeSpec:
    label: str
    # How far back the window reaches from now.
    span: timedelta
    # The dashboard trend's buckets: their length and how many.
    step: timedelta
    buckets: int
    # Hourly buckets are real hours; longer ones follow the local wall clock.
    wall_clock: bool


RANGES: dict[str, RangeSpec] = {
    "24h": RangeSpec("Last 24 hours", 24 * HOUR, HOUR, 24, wall_clock=False),
    "7d": RangeSpec("Last 7 days", 7 * DAY, 6 * HOUR, 28, wall_clock=True),
    "30d": RangeSpec("Last 30 days", 30 * DAY, DAY, 30, wall_clock=True),
    "365d": RangeSpec("Last 365 days", 365 * DAY, 7 * DAY, 53, wall_clock=True),
}
