"""Every benchmark ``python -m bench`` knows, in the order they run.

To add one: write ``run(ctx: BenchContext) -> list[Row]`` in a new module
and append a ``Benchmark`` here.
"""

from __future__ import annotations

from . import (
    alerts,
    backup,
    blocklist_action,
    blocklist_import,
    broker,
    bulk_ban,
    client_vs_cli,
    dashboard,
    footprint,
    geo_resolve,
    history,
    jail_detail,
    jails_page,
    load,
    logs,
    map,
    metrics,
    pg,
)
from .core import Benchmark

BENCHMARKS: tuple[Benchmark, ...] = (
    Benchmark(
        "client-vs-cli",
        "status JAIL short: Fail2banClient (fresh and persistent) vs fail2ban-client",
        client_vs_cli.run,
    ),
    Benchmark(
        "jails-page",
        "GET /jails/ with 50 jails and 65,000 bans vs the same page from status JAIL (basic)",
        jails_page.run,
    ),
    Benchmark(
        "metrics",
        "one /metrics scrape with 50 jails and 65,000 bans (fail2ban asked, and kept) vs /jails/",
        metrics.run,
    ),
    Benchmark(
        "jail-detail",
        "GET /jails/big/ (65,000 bans), first page, vs the page built from banip --with-time",
        jail_detail.run,
    ),
    Benchmark(
        "bulk-ban",
        "ban 10,000 IPs: jails.live.services.ban_create vs raw set JAIL banip (1,000 per command)",
        bulk_ban.run,
    ),
    Benchmark("history", "history sync, page and CSV export over 1M archived bans", history.run),
    Benchmark("geo-resolve", "100k IPs cold + upsert, warm pages vs maxminddb", geo_resolve.run),
    Benchmark(
        "dashboard", "dashboard page: 24 h with 10k bans, 365 d over 1M vs Python", dashboard.run
    ),
    Benchmark("map", "GET /map/ over 10,000 bans in 7 days vs counting in Python", map.run),
    Benchmark(
        "pg",
        "history page and cold 365-day dashboard over 1M bans: PostgreSQL vs SQLite, one run",
        pg.run,
    ),
    Benchmark(
        "logs",
        "per request: the request-ID middleware and an access line through the sanitizer",
        logs.run,
    ),
    Benchmark(
        "blocklist-import",
        "import 100k IPs from 127.0.0.1: vs raw batch banip and per-IP fail2ban-client",
        blocklist_import.run,
    ),
    Benchmark(
        "blocklist-action",
        "import 2,000 IPs into a jail whose action runs a command per ban, vs raw banip",
        blocklist_action.run,
    ),
    Benchmark(
        "broker",
        "the root broker: status and a 100k import through it vs direct; its start and memory",
        broker.run,
    ),
    Benchmark(
        "backup",
        "manage.py backup over 1M archived bans with a writer committing; its commit latency",
        backup.run,
    ),
    Benchmark(
        "load",
        "gunicorn as in production: 1, 8, 32 clients over six pages, quiet and with sync/import",
        load.run,
    ),
    Benchmark(
        "footprint",
        "gunicorn + qcluster as in production: RSS, PSS and idle CPU after a crawl, vs before",
        footprint.run,
    ),
    Benchmark(
        "alerts",
        "alert job: 3 spike rules over 100k bans in their window vs counting in Python; "
        "status bar with and without the alert hint",
        alerts.run,
    ),
)


def find(name: str) -> Benchmark:
    for bench in BENCHMARKS:
        if bench.name == name:
            return bench
    known = ", ".join(b.name for b in BENCHMARKS)
    raise KeyError(f"no benchmark named {name!r} (known: {known})")
