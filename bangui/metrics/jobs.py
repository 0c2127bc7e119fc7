"""Job runs for /metrics, recorded when django-q2's monitor stores a task's result.

The monitor runs in the job cluster's main process and sees every result,
timeouts included, so the counters are the cluster's whole truth. A job that
handled its own failure says so by returning a result starting with "failed"
(``jails.tasks.history_sync``); that counts as a failure too.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.db import DatabaseError
from django.db.models import F
from django.utils import timezone
from django_q.utils import get_func_repr

from bangui.models import JobStat
from bangui.schedules import JOBS

log = logging.getLogger("bangui.metrics")

_NAMES = {job.func: job.name for job in JOBS}


def job_name(func: object) -> str:
    """The schedule's name of a job; a job queued by a page keeps its function's path."""
    path = get_func_repr(func) if func else "unknown"
    return _NAMES.get(path, path)[:50]


def job_recorded(sender: object = None, task: dict[str, Any] | None = None, **_: Any) -> None:
    """django-q2's ``post_execute`` receiver; never lets an error reach the monitor."""
    if not task:
        return
    started, stopped = task.get("started"), task.get("stopped")
    seconds = (
        (stopped - started).total_seconds()
        if isinstance(started, datetime) and isinstance(stopped, datetime)
        else 0.0
    )
    ok = bool(task.get("success")) and not str(task.get("result") or "").startswith("failed")
    try:
        job_stat_record(
            name=job_name(task.get("func")),
            seconds=max(0.0, seconds),
            ok=ok,
            at=stopped if isinstance(stopped, datetime) else timezone.now(),
        )
    except DatabaseError:
        log.exception("could not record the run of %s for /metrics", task.get("func"))


def job_stat_record(*, name: str, seconds: float, ok: bool, at: datetime) -> None:
    changes: dict[str, Any] = {
        "runs": F("runs") + 1,
        "failures": F("failures") + (0 if ok else 1),
        "seconds_total": F("seconds_total") + seconds,
        "last_seconds": seconds,
        "last_run_at": at,
    }
    if ok:
        changes["last_success_at"] = at
    if not JobStat.objects.filter(name=name).update(**changes):
        JobStat.objects.get_or_create(name=name)
        JobStat.objects.filter(name=name).update(**changes)
