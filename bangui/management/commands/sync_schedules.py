from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from django_q.models import Schedule

from bangui.schedules import JOBS, Job


def schedule_rows(job: Job) -> list[tuple[str, int, int]]:
    """(name, minutes, offset seconds) for each Schedule row a job needs."""
    if job.every_seconds >= 60:
        return [(job.name, job.every_seconds // 60, 0)]
    copies = 60 // job.every_seconds
    return [
        (job.name if i == 0 else f"{job.name}#{i + 1}", 1, i * job.every_seconds)
        for i in range(copies)
    ]


class Command(BaseCommand):
    help = "Create or update the periodic jobs of bangui/schedules.py in django-q2."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--prune", action="store_true", help="Delete schedules not in the registry."
        )

    def handle(self, *args: Any, prune: bool = False, **options: Any) -> str:
        now = timezone.now()
        wanted: set[str] = set()
        with transaction.atomic():
            for job in JOBS:
                for name, minutes, offset in schedule_rows(job):
                    wanted.add(name)
                    row, created = Schedule.objects.update_or_create(
                        name=name,
                        defaults={
                            "func": job.func,
                            "schedule_type": Schedule.MINUTES,
                            "minutes": minutes,
                            "repeats": -1,
                        },
                    )
                    if created or row.next_run is None:
                        row.next_run = now + timedelta(seconds=offset)
                        row.save(update_fields=["next_run"])
                    self.stdout.write(f"{'created' if created else 'updated'} {name}")
            if prune:
                stale = Schedule.objects.exclude(name__in=wanted)
                for name in stale.values_list("name", flat=True):
                    self.stdout.write(f"deleted {name}")
                stale.delete()
        return "Done."
