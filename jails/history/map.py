"""The world map on the History page: bans per country for the page's filters.

The same map as ``/map/`` (``geo.worldmap``), over the history's filters
instead of the map's fixed windows: time (or all time), jail, origin and the
address filter. The country filter itself is left out, so the map shows where
else the bans come from and a click switches the country. Counted in SQL;
without an address filter whole past days come from the daily rollup.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.db.models import Count, Min
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString

from geo.worldmap import render_map
from jails.history.map_selectors import Band, CountryCounts, band, legend, thresholds
from jails.history.rollup import ArchiveCounts
from jails.history.selectors import ban_record_list
from jails.models import BanRecord


def history_country_counts(
    *,
    since: datetime | None,
    jail: str | None,
    origin: str | None,
    ip: Any = None,
    now: datetime | None = None,
) -> CountryCounts:
    """Bans per upper-case country code matching the filters; the blank group is unresolved."""
    if ip is not None:
        rows = (
            ban_record_list(since=since, jail=jail, origin=origin, ip=ip)
            .order_by()
            .values("country_code")
            .annotate(n=Count("id"))
            .values_list("country_code", "n")
        )
        grouped = dict(rows)
    else:
        lo = since or BanRecord.objects.aggregate(first=Min("banned_at"))["first"]
        if lo is None:
            return CountryCounts(counts={}, unresolved=0)
        now = now or timezone.now()
        # Open-ended like the table's query; a day of slack covers clock skew.
        grouped = ArchiveCounts(lo, now + timedelta(days=1), origin=origin, jail=jail).by(
            "country_code"
        )
    return CountryCounts.from_grouped(grouped)


@dataclass(frozen=True)
class HistoryMap:
    counted: CountryCounts
    svg: SafeString
    legend: list[Band]


def history_map(filters: dict[str, Any], query: dict[str, str]) -> HistoryMap:
    """The map for a history form's ``filters()``; ``query`` is the page's query string.

    Each country links to the History page with the same query and that
    country (and the first page).
    """
    counted = history_country_counts(
        since=filters.get("since"),
        jail=filters.get("jail"),
        origin=filters.get("origin"),
        ip=filters.get("ip"),
    )
    limits = thresholds()
    bands = {code: band(n, limits) for code, n in counted.counts.items()}
    base = reverse("history")
    kept = {k: v for k, v in query.items() if v and k not in ("country", "page")}

    def href(code: str) -> str:
        return f"{base}?{urlencode({**kept, 'country': code})}"

    country = filters.get("country") or ""
    svg = render_map(counted.counts, bands, href, selected=country, htmx=False)
    return HistoryMap(counted=counted, svg=svg, legend=legend(limits))
