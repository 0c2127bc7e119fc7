"""The schedule registry: every periodic job of BanGUI, in one place.

``manage.py sync_schedules`` upserts these into django-q2's Schedule table by
name (run by the start scripts). django-q2 schedules in whole minutes, so a
job that runs more often is stored as several one-minute schedules, staggered
across the minute (``health_check``, ``health_check#2``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Job:
    name: str
    func: str
    every_seconds: int
    description: str


JOBS: tuple[Job, ...] = (
    Job(
        "health_check",
        "bangui.tasks.health_check",
        30,  # every 30 s: the status bar's freshness depends on it
        "Probe fail2ban and store the status snapshot.",
    ),
    Job(
        "session_cleanup",
        "bangui.tasks.session_cleanup",
        6 * 3600,  # every 6 h
        "Delete expired login sessions.",
    ),
)
