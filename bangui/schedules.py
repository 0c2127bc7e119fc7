"""The schedule registry: every periodic job of BanGUI, in one place.

``manage.py sync_schedules`` upserts these into django-q2's Schedule table by
name (run by the start scripts). django-q2 schedules in whole minutes, so a
job that runs more often is stored as several one-minute schedules, staggered
across the minute (``health_check``, ``health_check#2``).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings


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
        "history_sync",
        "jails.tasks.history_sync",
        settings.BANGUI_HISTORY_SYNC_MINUTES * 60,  # every minute by default
        "Copy new bans from fail2ban's database into the history archive.",
    ),
    Job(
        "history_purge",
        "jails.tasks.history_purge",
        24 * 3600,  # daily
        "Delete archived bans older than the retention (365 days by default).",
    ),
    Job(
        "geo_cache_flush",
        "geo.tasks.geo_cache_flush",
        60,  # every minute; the web process flushes its own entries after responses
        "Write geo lookups resolved in this worker to the geo cache table.",
    ),
    Job(
        "geo_re_resolve",
        "geo.tasks.geo_re_resolve",
        3600,  # hourly; stops after 45 s, the rest waits for the next run
        "Look up again geo entries without a country or older than BANGUI_GEOIP_MAX_AGE_DAYS.",
    ),
    Job(
        "geo_cache_cleanup",
        "geo.tasks.geo_cache_cleanup",
        24 * 3600,  # daily
        "Delete geo cache entries not seen for 90 days.",
    ),
    Job(
        "blocklist_import",
        "blocklists.tasks.blocklist_import_due",
        60,  # every minute: each source's own schedule decides when it is due
        "Import the blocklists whose scheduled time has come.",
    ),
    Job(
        "alerts_evaluate",
        "alerts.tasks.alerts_evaluate",
        60,  # every minute: "unreachable for N seconds" is as late as this
        "Evaluate the alert rules, send what is due, retry failed deliveries.",
    ),
    Job(
        "alerts_purge",
        "alerts.tasks.notifications_purge",
        24 * 3600,  # daily
        "Delete alert notifications older than 90 days.",
    ),
    Job(
        "session_cleanup",
        "bangui.tasks.session_cleanup",
        6 * 3600,  # every 6 h
        "Delete expired login sessions.",
    ),
)
