"""Job entry points for django-q2: each one calls a service and nothing more."""

from __future__ import annotations

from django.contrib.sessions.models import Session
from django.utils import timezone

from bangui.status import status_refresh


def health_check() -> str:
    snap = status_refresh()
    return "online" if snap.online else f"offline: {snap.last_error}"


def session_cleanup() -> str:
    deleted, _ = Session.objects.filter(expire_date__lt=timezone.now()).delete()
    return f"deleted {deleted} expired sessions"
