"""Dashboard and the pages of the jails area."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET


@require_GET
def dashboard_status(request: HttpRequest) -> HttpResponse:
    """The dashboard's live part (htmx polls it); the status comes from the context processor."""
    return render(request, "jails/_dashboard_status.html")

