"""Jobs of the blocklists app: they only call services."""

from __future__ import annotations

from blocklists.scheduling import due_sources, source_reschedule
from blocklists.services import import_runs as _import_runs
from blocklists.services import runs_queue, runs_reap, runs_start
from jails.audit.services import Actor


def import_runs(run_ids: list[int]) -> str:
    """Queued runs started from the page ("import now")."""
    done = _import_runs(run_ids)
    return ", ".join(f"{r.source_name or r.url}: {r.status}" for r in done) or "nothing queued"


def blocklist_import_due() -> str:
    """Every minute: queue the sources whose scheduled time has come.

    The imports run as a task of their own (``runs_start``), with the import's
    long timeout: this job has the cluster's minute, and a list banned with a
    per-address action takes far longer.
    """
    runs_reap()
    sources = due_sources()
    for source in sources:
        source_reschedule(source)
    runs = runs_queue(sources, actor=Actor.system("schedule"), trigger="schedule")
    runs_start(runs)
    return f"queued {', '.join(r.source_name for r in runs)}" if runs else "no source due"
