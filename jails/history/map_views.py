"""The world map page: bans per country over a time window, and the bans of one country."""

from __future__ import annotations

import hashlib
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.http import quote_etag
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

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
from jails.history.selectors import history_jails
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
    jails = history_jails()
    filters = MapFilters.from_query(request.GET, jails)
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
    context = {
        "nav": "map",
        "filters": filters,
        "ranges": [(key, spec.label) for key, spec in RANGES.items()],
        "origins": [(ALL, "All origins"), *BanRecord.Origin.choices],
        "jails": jails,
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
    if not is_partial(request):
        return render(request, "jails/history/map.html", context)
    # The 30-second poll mostly gets the same ~190 KB again: with an ETag and
    # "no-cache" the browser revalidates, and an unchanged map costs a 304.
    response = render(request, "jails/history/_map_body.html", context)
    etag = quote_etag(hashlib.blake2b(response.content, digest_size=16).hexdigest())
    response["ETag"] = etag
    patch_cache_control(response, private=True, no_cache=True)
    return get_conditional_response(request, etag=etag, response=response) or response
