"""The world map page: bans per country over a time window, and the bans of one country."""

from __future__ import annotations

import time
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from bangui.pagecache import conditional, fragment
from bangui.web import ALL, is_partial
from geo.info import flag
from geo.worldmap import country_name, render_map
from jails.history.map_selectors import (
    MapFilters,
    band,
    country_counts,
    country_page,
    legend,
    thresholds,
    window,
)
from jails.history.ranges import RANGES
from jails.history.selectors import archive_token, history_jails
from jails.models import BanRecord


def _query(filters: MapFilters, **changes: str) -> str:
    """The query string for these filters with ``changes``; defaults are left out."""
    state = {
        "range": filters.range,
        "origin": filters.origin,
        "jail": filters.jail,
        "country": filters.country,
    }
    state.update(changes)
    defaults = {"range": "7d", "origin": ALL, "jail": "", "country": ""}
    kept = {k: v for k, v in state.items() if v and v != defaults[k]}
    return "?" + urlencode(kept) if kept else "?"


@require_GET
@vary_on_headers("HX-Request")
def world_map(request: HttpRequest) -> HttpResponse:
    """The map page. Its body is the same for everyone until the archive changes, and
    its window moves with the clock: rendered once per archive version and minute,
    shared (``bangui.pagecache``), and its 30-second poll gets a 304 meanwhile."""
    token = archive_token()  # first: what is rendered is never older than the key
    jails = history_jails(token)
    filters = MapFilters.from_query(request.GET, jails)
    minute = int(time.time() // 60)
    parts = ("map-body", token, minute, request.META.get("QUERY_STRING", ""))

    def body() -> str:
        return render_to_string(
            "jails/history/_map_body.html", _body_context(request, filters), request
        )

    if is_partial(request):
        return conditional(request, parts, lambda: HttpResponse(fragment(parts, body)))
    context = {
        "nav": "map",
        "filters": filters,
        "ranges": [(key, spec.label) for key, spec in RANGES.items()],
        "origins": [(ALL, "All origins"), *BanRecord.Origin.choices],
        "jails": jails,
        "body": fragment(parts, body),
    }
    return render(request, "jails/history/map.html", context)


def _body_context(request: HttpRequest, filters: MapFilters) -> dict[str, object]:
    """What the map's body shows: the counts, the map, the top ten, a country's bans."""
    records = window(filters)
    counted = country_counts(filters)
    limits = thresholds()
    bands = {code: band(n, limits) for code, n in counted.counts.items()}
    base = reverse("map")
    svg = render_map(
        counted.counts,
        bands,
        lambda code: base + _query(filters, country=code),
        selected=filters.country,
    )
    page = (
        country_page(records, filters.country, request.GET.get("page")) if filters.country else None
    )
    top = [
        (code, flag(code), country_name(code), n, base + _query(filters, country=code))
        for code, n in counted.top(10)
    ]
    context: dict[str, object] = {
        "filters": filters,
        "counted": counted,
        "limits": limits,
        "legend": legend(limits),
        "svg": svg,
        "top": top,
        "page": page,
        "country_label": country_name(filters.country) if filters.country else "",
        "country_flag": flag(filters.country),
        "country_count": counted.counts.get(filters.country, 0),
        "self_url": base + _query(filters),
        "clear_url": base + _query(filters, country=""),
    }
    if page is not None:
        query = _query(filters)
        if page.number > 1:
            context["self_url"] = f"{base}{query}&page={page.number}"
        context["prev_url"] = (
            f"{base}{query}&page={page.previous_page_number()}" if page.has_previous() else ""
        )
        context["next_url"] = (
            f"{base}{query}&page={page.next_page_number()}" if page.has_next() else ""
        )
    return context
