"""The audit log page (to be written)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET


@require_GET
def audit_log(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "placeholder.html",
        {"title": "Audit log", "nav": "audit", "text": "Not built yet."},
    )
