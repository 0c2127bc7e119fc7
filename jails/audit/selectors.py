"""Reads of the audit log: the filtered list of events, newest first."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone

from jails.models import AuditEvent


def audit_token() -> int:
    """The newest event's id: the log is only ever appended to, so it changes with every
    entry (a primary-key lookup). Read it before the events."""
    newest = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first()
    return newest or 0


def _day_start(day: date) -> datetime:
    """Midnight at the start of ``day`` in the active timezone (the one chosen at setup)."""
    return timezone.make_aware(datetime.combine(day, time.min))


def audit_event_list(
    *,
    action: str | None = None,
    username: str | None = None,
    ok: bool | None = None,
    q: str | None = None,
    since: date | datetime | None = None,
    until: date | datetime | None = None,
) -> QuerySet[AuditEvent]:
    """Audit events matching every filter given, newest first.

    ``username`` matches part of the name, case-insensitively. ``q`` searches
    the target, the result, the client IP and the parameters (a batch ban lists
    its addresses there). ``since`` and ``until`` are inclusive; a plain date
    means the whole day in the active timezone.
    """
    events = AuditEvent.objects.all()
    if action:
        events = events.filter(action=action)
    if username:
        events = events.filter(username__icontains=username)
    if ok is not None:
        events = events.filter(ok=ok)
    if q:
        events = events.filter(
            Q(target__icontains=q)
            | Q(result__icontains=q)
            | Q(client_ip__icontains=q)
            | Q(params__icontains=q)
        )
    if since is not None:
        start = since if isinstance(since, datetime) else _day_start(since)
        events = events.filter(created_at__gte=start)
    if until is not None:
        if isinstance(until, datetime):
            events = events.filter(created_at__lte=until)
        else:
            events = events.filter(created_at__lt=_day_start(until + timedelta(days=1)))
    return events.order_by("-created_at", "-id")
