"""The geolocation settings page: the resolver's state and a re-resolve action."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from geo.selectors import geo_status
from geo.services import geo_re_resolve


@require_GET
def geo_settings(request: HttpRequest) -> HttpResponse:
    return render(request, "geo/settings.html", {"nav": "config", "geo": geo_status(count=True)})


@require_POST
def geo_re_resolve_now(request: HttpRequest) -> HttpResponse:
    """Look up again every entry without a country (and stale ones), within a time budget."""
    summary = geo_re_resolve(budget_seconds=20)
    messages.success(request, f"Geo lookups: {summary}.")
    return redirect("geo_settings")
