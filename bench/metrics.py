"""One /metrics scrape with 50 jails holding 65,000 bans, next to the jails page.

The scrape goes through Django's test client with the bearer token (the whole
middleware stack, the latency count, the view, every collector). "Cold" drops
the kept fail2ban sample before each scrape, so every one asks fail2ban
``status JAIL short`` for all 50 jails, as a scrape does once per
``CACHE_SECONDS``; "warm" is a scrape inside that window. BanGUI's own part
has something to read: a JobStat row per job, the archive count, three
blocklist sources with imports, geo counts, and a latency histogram over the
pages the run requests. The baseline is ``GET /jails/`` (the jails-page
benchmark's page, same lab, same run): the scrape asks fail2ban the same
``short`` status per jail, without the page's three ``get`` per jail.
"""

from __future__ import annotations

from datetime import timedelta

from bangui.demo.lab import Fail2banLab

from .core import BenchContext, Row, interleaved
from .django_env import DjangoEnv, django_env
from .jails_page import JAIL_COUNT, TOTAL_BANS, ban_counts
from .labtools import address_blocks, lab_jail, load_bans

CALLS = 40
ROUNDS = 10
GOAL_SECONDS = 0.050
TOKEN = "bench-metrics-token"  # noqa: S105 - a throwaway token in a temp DB


def _scrape(env: DjangoEnv) -> bytes:
    response = env.client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    if response.status_code != 200:
        raise RuntimeError(f"GET /metrics: HTTP {response.status_code}")
    return bytes(response.content)


def _bangui_data() -> None:
    """What a running BanGUI would have for the BanGUI part to read."""
    from django.utils import timezone

    from bangui.metrics.counters import ARCHIVE_ROWS, counter_add, counter_set
    from bangui.metrics.jobs import job_stat_record
    from bangui.schedules import JOBS
    from blocklists.models import BlocklistSource, ImportRun

    now = timezone.now()
    for job in JOBS:
        job_stat_record(name=job.name, seconds=0.2, ok=True, at=now)
    counter_set(ARCHIVE_ROWS, 1_000_000)
    counter_add({f"geo_lookups:{tier}": 1000 for tier in ("memory", "cache", "mmdb", "http")})
    for i in range(3):
        source = BlocklistSource.objects.create(name=f"list{i}", url=f"https://l.example/{i}")
        for age in range(20):  # a few weeks of daily imports each
            ImportRun.objects.create(
                source=source, url=source.url, status="ok", finished_at=now - timedelta(days=age)
            )


def _check(body: bytes, counts: dict[str, int]) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    banned = {
        s.labels["jail"]: s.value
        for family in text_string_to_metric_families(body.decode())
        for s in family.samples
        if s.name == "f2b_jail_banned_current"
    }
    if banned != {jail: float(n) for jail, n in counts.items()}:
        raise RuntimeError("the scrape does not show every jail with its bans")


def run(ctx: BenchContext) -> list[Row]:
    counts = ban_counts()
    env = django_env(ctx)
    from django.conf import settings

    from bangui.metrics.fail2ban import forget

    lab: Fail2banLab = ctx.start_lab([lab_jail(name) for name in counts])
    try:
        plan = dict(zip(counts, address_blocks(list(counts.values())), strict=True))
        load_bans(lab, plan)
        env.point_at(lab)
        settings.BANGUI_METRICS_TOKEN = TOKEN
        _bangui_data()
        forget()
        _check(_scrape(env), counts)

        def cold() -> bytes:
            forget()
            return _scrape(env)

        def warm() -> bytes:
            return _scrape(env)

        def page() -> bytes:
            return env.get("/jails/")

        cold_stats, warm_stats, page_stats = interleaved(
            [(cold, CALLS), (warm, CALLS), (page, CALLS)], rounds=ROUNDS
        )
    finally:
        lab.cleanup()
    name = f"/metrics: {JAIL_COUNT} jails, {TOTAL_BANS:,} bans"
    return [
        Row(
            name=f"{name}, fail2ban asked (vs GET /jails/)",
            ours=cold_stats.summary(median=True),
            baseline=page_stats.summary(median=True),
            ratio=page_stats.median / cold_stats.median,
            goal=f"p95 ≤ {GOAL_SECONDS * 1e3:.0f} ms",
            goal_met=cold_stats.p95 <= GOAL_SECONDS,
        ),
        Row(
            name=f"{name}, sample kept (vs GET /jails/)",
            ours=warm_stats.summary(median=True),
            baseline=page_stats.summary(median=True),
            ratio=page_stats.median / warm_stats.median,
            goal=f"p95 ≤ {GOAL_SECONDS * 1e3:.0f} ms",
            goal_met=warm_stats.p95 <= GOAL_SECONDS,
        ),
    ]
