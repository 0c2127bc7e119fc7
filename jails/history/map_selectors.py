"""Reads for the world map page: bans per country over a window, and one country's bans.

All counting is done by the database: one grouped query
(``values("country_code").annotate(Count("id"))``) gives every country's count
and, in its blank-code group, the bans whose address has no country yet.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.utils import timezone

from bangui.web import ALL, page_of
from jails.history.ranges import RANGES
from jails.history.rollup import ArchiveCounts
from jails.models import BanRecord

DEFAULT_RANGE = "7d"
ORIGINS = (ALL, *BanRecord.Origin.values)
PER_PAGE = 50
DEFAULT_THRESHOLDS = (10, 50, 200)
_COUNTRY_RE = re.compile(r"[A-Za-z]{2}")


def thresholds() -> tuple[int, int, int]:
    """``BANGUI_MAP_THRESHOLDS`` ("10,50,200"): where low, medium and high start.

    Anything else than three increasing positive integers falls back to the default.
    """
    raw = getattr(settings, "BANGUI_MAP_THRESHOLDS", "10,50,200")
    try:
        values = tuple(int(v) for v in str(raw).split(","))
    except ValueError:
        return DEFAULT_THRESHOLDS
    if len(values) != 3 or values[0] < 1 or not values[0] < values[1] < values[2]:
        return DEFAULT_THRESHOLDS
    return values[0], values[1], values[2]


def band(count: int, limits: tuple[int, int, int]) -> int:
    """0 no bans, 1 below low, 2 low, 3 medium, 4 high."""
    if count <= 0:
        return 0
    return 1 + sum(count >= limit for limit in limits)


@dataclass(frozen=True)
class Band:
    number: int
    label: str
    text: str


def legend(limits: tuple[int, int, int]) -> list[Band]:
    low, medium, high = limits
    return [
        Band(1, f"1–{low - 1:,}" if low > 1 else "1", "few"),
        Band(2, f"{low:,}–{medium - 1:,}", "low"),
        Band(3, f"{medium:,}–{high - 1:,}", "medium"),
        Band(4, f"{high:,}+", "high"),
    ]


@dataclass(frozen=True)
class MapFilters:
    """The page's state from the query string; bad values fall back to the defaults."""

    range: str = DEFAULT_RANGE
    origin: str = ALL
    jail: str = ""
    country: str = ""
    notes: tuple[str, ...] = ()

    @classmethod
    def from_query(cls, query: Mapping[str, str], jails: list[str]) -> MapFilters:
        notes = []
        rng = query.get("range") or DEFAULT_RANGE
        if rng not in RANGES:
            notes.append("Unknown time range; showing the last 7 days.")
            rng = DEFAULT_RANGE
        origin = query.get("origin") or ALL
        if origin not in ORIGINS:
            notes.append("Unknown origin; showing all origins.")
            origin = ALL
        jail = query.get("jail") or ""
        if jail in ("", ALL):
            jail = ""
        elif jail not in jails:
            notes.append("No archived ban comes from that jail; showing all jails.")
            jail = ""
        country = (query.get("country") or "").strip()
        if country and not _COUNTRY_RE.fullmatch(country):
            notes.append("A country is a two-letter code such as DE; showing all countries.")
            country = ""
        return cls(rng, origin, jail, country.upper(), tuple(notes))

    def since(self, now: datetime | None = None) -> datetime:
        return (now or timezone.now()) - RANGES[self.range].span

    @property
    def range_label(self) -> str:
        return RANGES[self.range].label


def window(filters: MapFilters, now: datetime | None = None) -> QuerySet[BanRecord]:
    """The bans in the time window, origin and jail (not the country)."""
    records = BanRecord.objects.filter(banned_at__gte=filters.since(now))
    if filters.origin != ALL:
        records = records.filter(origin=filters.origin)
    if filters.jail:
        records = records.filter(jail=filters.jail)
    return records


@dataclass(frozen=True)
class CountryCounts:
    counts: dict[str, int]  # upper-case code -> bans
    unresolved: int  # bans with no country

    @property
    def total(self) -> int:
        return sum(self.counts.values()) + self.unresolved

    def top(self, n: int = 10) -> list[tuple[str, int]]:
        return sorted(self.counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]

    @classmethod
    def from_grouped(cls, grouped: Mapping[str, int]) -> CountryCounts:
        """From a ``GROUP BY country_code``: codes upper-cased, the blank group unresolved."""
        counts: dict[str, int] = {}
        unresolved = 0
        for raw_code, n in grouped.items():
            code = str(raw_code).upper()
            if code:
                counts[code] = counts.get(code, 0) + n
            else:
                unresolved += n
        return cls(counts=counts, unresolved=unresolved)


def country_counts(filters: MapFilters, now: datetime | None = None) -> CountryCounts:
    """Bans per country code in the window, grouped in SQL (whole past days from
    the daily rollup); the blank group is the unresolved."""
    now = now or timezone.now()
    # The window is open-ended like ``window()``; a day of slack covers clock skew.
    archive = ArchiveCounts(
        filters.since(now),
        now + timedelta(days=1),
        origin=None if filters.origin == ALL else filters.origin,
        jail=filters.jail or None,
    )
    return CountryCounts.from_grouped(archive.by("country_code"))


def country_page(records: QuerySet[BanRecord], country: str, raw_page: str | None) -> Page:
    """One page (50 bans, newest first) of the window's bans from ``country``."""
    rows = records.filter(country_code=country).order_by("-banned_at", "-id")
    page, _ = page_of(Paginator(rows, PER_PAGE), raw_page)
    return page
