"""Reads for the blocklists page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import OuterRef, Subquery

from blocklists.models import BlocklistSource, ImportRun
from blocklists.services import runs_reap

RECENT_RUNS = 20


@dataclass(frozen=True)
class SourceRow:
    source: BlocklistSource
    last: ImportRun | None
    busy: bool


def source_rows() -> list[SourceRow]:
    """Every source with its latest run: two queries whatever the number of sources."""
    sources = list(BlocklistSource.objects.order_by("name"))
    latest: dict[int, ImportRun] = {}
    ids = [s.pk for s in sources]
    if ids:
        # Newest first, so the first run seen per source is its latest.
        for run in ImportRun.objects.filter(source_id__in=ids).order_by("-created_at", "-id")[
            : 50 * len(ids)
        ]:
            if run.source_id is not None:
                latest.setdefault(run.source_id, run)
    return [
        SourceRow(
            source=s,
            last=latest.get(s.pk),
            busy=(r := latest.get(s.pk)) is not None
            and r.status in (ImportRun.Status.QUEUED, ImportRun.Status.RUNNING),
        )
        for s in sources
    ]


def recent_runs(limit: int = RECENT_RUNS) -> list[ImportRun]:
    return list(ImportRun.objects.order_by("-created_at", "-id")[:limit])


def active_runs() -> list[ImportRun]:
    """Queued and running imports, oldest first (after marking dead ones interrupted)."""
    runs_reap()
    return list(
        ImportRun.objects.filter(
            status__in=[ImportRun.Status.QUEUED, ImportRun.Status.RUNNING]
        ).order_by("created_at", "id")
    )


@dataclass(frozen=True)
class LastImport:
    source: str
    status: str
    finished_at: datetime | None


def last_imports() -> list[LastImport]:
    """Each source's last finished import (dry runs aside), for /metrics.

    One query: a subquery per source walks the (source, -created_at) index
    from its newest run; the columns are only the few /metrics shows.
    """
    newest = (
        ImportRun.objects.filter(
            source=OuterRef("pk"), status__in=ImportRun.FINISHED, dry_run=False
        )
        .order_by("-created_at", "-id")
        .values("id")[:1]
    )
    rows = (
        BlocklistSource.objects.annotate(run_id=Subquery(newest))
        .filter(run_id__isnull=False)
        .values_list("name", "run_id")
    )
    by_id = dict(rows)
    runs = ImportRun.objects.filter(id__in=by_id.values()).values_list(
        "id", "status", "finished_at"
    )
    found = {run_id: (status, ended) for run_id, status, ended in runs}
    return [
        LastImport(name, *found[run_id])
        for name, run_id in sorted(by_id.items())
        if run_id in found
    ]
