"""The dashboard: fail2ban's counters, then the archive's bans of a time window."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from bangui.pagecache import conditional, fragment
from bangui.status import current_status
from bangui.web import is_partial, page_number
from geo.selectors import geo_annotate
from jails.dashboard import charts
from jails.dashboard.forms import DashboardForm
from jails.dashboard.selectors import Bucket, ban_list, dashboard_data, first_line, window
from jails.history.selectors import REPEAT_BANS, archive_token, history_jails
from jails.history.views import sort_heads

PER_PAGE = 50
# Trend labels: the strftime format of a bucket's local start, and how many columns per label.
LABELS = {"24h": ("%H:%M", 3), "7d": ("%a %H:%M", 4), "30d": ("%m-%d", 5), "365d": ("%Y-%m-%d", 9)}


def _trend_points(trend: list[Bucket], key: str, zone: Any) -> tuple[list[tuple[str, int]], int]:
    fmt, every = LABELS[key]
    return [(b.start.astimezone(zone).strftime(fmt), b.count) for b in trend], every


def dashboard_context(request: HttpRequest, form: DashboardForm, now: datetime) -> dict[str, Any]:
    """What the live part (``_live.html``) shows: the window's aggregates, charts and list."""
    key = form.range_key
    data = dashboard_data(key, origin=form.origin_filter, jail=form.jail_filter, now=now)
    win = data.window
    pages = max(1, math.ceil(data.total / PER_PAGE))
    number, _ = page_number(request.GET.get("page"), last=pages)
    rows = list(
        ban_list(data.records, form.sort_order)[(number - 1) * PER_PAGE : number * PER_PAGE]
    )
    geo_annotate(rows, stored="country_code")  # the list agrees with the counts
    for row in rows:
        row.first_match = first_line(row.matches)  # type: ignore[attr-defined]
    points, every = _trend_points(data.trend, key, win.zone)
    countries = [(s.label, s.count) for s in data.countries.top]
    jails = [(s.label, s.count) for s in data.jails]
    return {
        "nav": "dashboard",
        "form": form.normalized(),
        "range_key": key,
        "range_label": win.spec.label,
        "window": win,
        "total": data.total,
        "points": points,
        "countries": countries,
        "unknown_countries": data.countries.unknown,
        "jails": jails,
        "trend_svg": charts.trend_svg(
            points,
            title=f"Bans per bucket, {win.spec.label.lower()}"
            + (", log scale" if form.log_scale else ""),
            label_every=every,
            chart_id="chart-trend-title",
            log=form.log_scale,
        ),
        "log_scale": form.log_scale,
        "countries_pie": charts.pie_svg(
            countries,
            rest=data.total - sum(n for _, n in countries),
            rest_label="Other or unknown",
            title="Share of bans by country",
            chart_id="chart-countries-pie-title",
        ),
        "countries_svg": charts.hbar_svg(
            countries, title="Top countries by bans", chart_id="chart-countries-title"
        ),
        "jails_svg": charts.hbar_svg(jails, title="Bans by jail", chart_id="chart-jails-title"),
        "rows": rows,
        "page": number,
        "pages": pages,
        "start_index": (number - 1) * PER_PAGE + 1 if rows else 0,
        "end_index": (number - 1) * PER_PAGE + len(rows),
        "sort": form.sort_order,
        "heads": sort_heads(form.sort_order),
        "repeat_bans": REPEAT_BANS,
        "bucket_text": {"24h": "hour", "7d": "6 hours", "30d": "day", "365d": "week"}[key],
    }


@require_GET
@vary_on_headers("HX-Request")
def dashboard(request: HttpRequest) -> HttpResponse:
    """The page; its live part is the same for everyone until the archive or the window
    changes, so it is rendered once per version (``bangui.pagecache``) and its 30-second
    poll gets a 304 while nothing changed."""
    token = archive_token()  # first: what is rendered is never older than the key
    form = DashboardForm(request.GET, jails=history_jails(token))
    now = timezone.now()
    win = window(form.range_key, now=now)
    parts = ("dash-live", token, win.start, win.end, request.META.get("QUERY_STRING", ""))

    def live() -> str:
        context = dashboard_context(request, form, now)
        return render_to_string("jails/dashboard/_live.html", context, request)

    if is_partial(request):
        return conditional(request, parts, lambda: HttpResponse(fragment(parts, live)))
    context = {
        "nav": "dashboard",
        "form": form.normalized(),
        "range_key": form.range_key,
        "live": fragment(parts, live),
    }
    return render(request, "jails/dashboard/index.html", context)


@require_GET
def dashboard_status(request: HttpRequest) -> HttpResponse:
    """fail2ban's counters (htmx polls them every 10 s): a 304 until the snapshot changes."""
    status = current_status()
    return conditional(
        request,
        ("dash-status", status),
        lambda: render(request, "jails/dashboard/_status.html", {"status": status}),
    )
