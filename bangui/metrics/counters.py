"""The ``Counter`` rows: numbers that several processes add to and /metrics reads."""

from __future__ import annotations

from collections.abc import Mapping

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from bangui.models import Counter

ARCHIVE_ROWS = "archive_rows"


def counter_add(deltas: Mapping[str, float]) -> None:
    """Add to named counters in one transaction: an UPDATE each, so no process loses another's."""
    now = timezone.now()
    with transaction.atomic():
        for name, amount in deltas.items():
            n = int(amount)
            if not n:
                continue
            if not Counter.objects.filter(name=name).update(value=F("value") + n, changed_at=now):
                row, created = Counter.objects.get_or_create(
                    name=name, defaults={"value": n, "changed_at": now}
                )
                if not created:  # another process created it in between
                    Counter.objects.filter(name=name).update(value=F("value") + n, changed_at=now)


def counter_set(name: str, value: int) -> None:
    Counter.objects.update_or_create(
        name=name, defaults={"value": value, "changed_at": timezone.now()}
    )


def counter_known(name: str) -> bool:
    return Counter.objects.filter(name=name).exists()


def counter_values(prefix: str = "") -> dict[str, int]:
    """Counters whose name starts with ``prefix`` (a primary-key range: no scan)."""
    return dict(Counter.objects.filter(name__startswith=prefix).values_list("name", "value"))
