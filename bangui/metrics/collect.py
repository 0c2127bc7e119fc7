"""The metrics registry: what one scrape reads and how it is named.

fail2ban's part uses the names of fail2ban-prometheus-exporter
(hectorjsmith), all gauges as there, so its Grafana dashboards work
unchanged. BanGUI's own part is ``bangui_*``. One scrape costs the cached
fail2ban sample and a handful of indexed queries; no table is scanned.

This module reads every app (history, geo, blocklists): like ``bangui.urls``
it is a composition root, not part of the core layer.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from django.utils import timezone
from prometheus_client import CollectorRegistry
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from bangui.metrics.counters import ARCHIVE_ROWS, counter_values
from bangui.metrics.fail2ban import fail2ban_sample
from bangui.metrics.latency import latency_histograms
from bangui.models import JobStat
from blocklists.selectors import last_imports
from geo.lookup.counts import MISS, TIERS, lookup_totals
from jails.models import HistorySyncState


def _gauge(name: str, doc: str, value: float, labels: dict[str, str] | None = None) -> Metric:
    family = GaugeMetricFamily(name, doc, labels=list(labels or {}))
    family.add_metric(list((labels or {}).values()), value)
    return family


class Fail2banCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        sample = fail2ban_sample()
        yield _gauge("f2b_up", "Check if the fail2ban server is up", 1 if sample.up else 0)
        yield _gauge("f2b_jail_count", "Number of defined jails", len(sample.jails))
        families = {
            "banned_current": ("Number of IPs currently banned in this jail", "currently_banned"),
            "banned_total": ("Total number of IPs banned by this jail (includes expired bans)",
                             "total_banned"),
            "failed_current": ("Number of current failures on this jail's filter",
                               "currently_failed"),
            "failed_total": ("Number of total failures on this jail's filter", "total_failed"),
        }  # fmt: skip
        for suffix, (doc, attr) in families.items():
            family = GaugeMetricFamily(f"f2b_jail_{suffix}", doc, labels=["jail"])
            for status in sample.jails:
                family.add_metric([status.name], getattr(status, attr))
            yield family
        if sample.broker_up is not None:
            yield _gauge(
                "bangui_broker_up", "BanGUI's root broker answers", 1 if sample.broker_up else 0
            )


class BanguiCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        yield from _latency()
        yield from _jobs()
        yield from _history()
        yield from _blocklists()
        yield from _geo()


def _latency() -> Iterator[Metric]:
    family = HistogramMetricFamily(
        "bangui_request_duration_seconds",
        "Time from the request to the response, by view (URL name)",
        labels=["view"],
    )
    for view, (buckets, total) in sorted(latency_histograms().items()):
        family.add_metric([view], buckets, total)
    yield family


def _jobs() -> Iterator[Metric]:
    stats = list(JobStat.objects.order_by("name"))
    runs = CounterMetricFamily("bangui_job_runs", "Runs of each job", labels=["job"])
    failures = CounterMetricFamily(
        "bangui_job_failures", "Runs of each job that failed or timed out", labels=["job"]
    )
    seconds = CounterMetricFamily(
        "bangui_job_duration_seconds", "Seconds spent running each job", labels=["job"]
    )
    last_seconds = GaugeMetricFamily(
        "bangui_job_last_duration_seconds", "How long the last run took", labels=["job"]
    )
    last_success = GaugeMetricFamily(
        "bangui_job_last_success_timestamp_seconds",
        "When the job last ended well (Unix time)",
        labels=["job"],
    )
    for stat in stats:
        runs.add_metric([stat.name], stat.runs)
        failures.add_metric([stat.name], stat.failures)
        seconds.add_metric([stat.name], stat.seconds_total)
        last_seconds.add_metric([stat.name], stat.last_seconds)
        if stat.last_success_at is not None:
            last_success.add_metric([stat.name], stat.last_success_at.timestamp())
    yield from (runs, failures, seconds, last_seconds, last_success)


def _history() -> Iterator[Metric]:
    state = HistorySyncState.objects.filter(pk=1).first()
    ok_at = state.last_ok_at if state is not None else None
    # Never synced: NaN, so that an alert on the lag fires instead of reading 0.
    lag = (timezone.now() - ok_at).total_seconds() if ok_at is not None else math.nan
    yield _gauge(
        "bangui_history_sync_lag_seconds",
        "Seconds since the history sync last copied fail2ban's bans into the archive",
        lag,
    )
    if ok_at is not None:
        yield _gauge(
            "bangui_history_sync_last_success_timestamp_seconds",
            "When the history sync last succeeded (Unix time)",
            ok_at.timestamp(),
        )
    archived = counter_values(ARCHIVE_ROWS).get(ARCHIVE_ROWS)
    if archived is not None:
        yield _gauge(
            "bangui_archived_bans",
            "Bans in the history archive (kept by the sync, recounted daily by the purge)",
            archived,
        )


def _blocklists() -> Iterator[Metric]:
    status = GaugeMetricFamily(
        "bangui_blocklist_last_import_status",
        "1 for the status of each source's last finished import",
        labels=["source", "status"],
    )
    age = GaugeMetricFamily(
        "bangui_blocklist_last_import_age_seconds",
        "Seconds since each source's last finished import",
        labels=["source"],
    )
    ended = GaugeMetricFamily(
        "bangui_blocklist_last_import_timestamp_seconds",
        "When each source's last import finished (Unix time)",
        labels=["source"],
    )
    now = timezone.now()
    for last in last_imports():
        status.add_metric([last.source, last.status], 1)
        if last.finished_at is not None:
            age.add_metric([last.source], (now - last.finished_at).total_seconds())
            ended.add_metric([last.source], last.finished_at.timestamp())
    yield from (status, age, ended)


def _geo() -> Iterator[Metric]:
    totals = lookup_totals()
    lookups = CounterMetricFamily(
        "bangui_geo_lookups",
        "Geo lookups by the tier that answered (web process and job cluster together)",
        labels=["tier"],
    )
    for tier in TIERS:
        lookups.add_metric([tier], totals.get(tier, 0))
    yield lookups
    yield CounterMetricFamily(
        "bangui_geo_lookup_misses",
        "Geo lookups no tier could give a country",
        value=totals.get(MISS, 0),
    )


REGISTRY = CollectorRegistry(auto_describe=False)
REGISTRY.register(Fail2banCollector())
REGISTRY.register(BanguiCollector())
