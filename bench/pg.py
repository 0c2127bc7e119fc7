"""The archive's heavy pages on PostgreSQL next to SQLite, in one process and one run.

Both databases hold the same 1,000,000 archived bans over 364 days (the rows of
``bench.dashboard.archive_rows``; 5 % of them under the prefix 198.51.):
SQLite is the run's usual database (``bench.django_env``), PostgreSQL a private
cluster started here (``scripts/pg-cluster``: Unix socket, fsync off, ICU
collation), migrated and set up the same way, with its own logged-in client.

Measured, whole stack through Django's test client, the two engines interleaved
call by call so that a busy patch of the machine hits both alike:

- ``GET /history/?ip=198.51.``: the IP prefix, a range scan on the ip index;
- ``GET /history/?ip=198.51.112.0/20``: the same for a network;
- ``GET /?range=365d`` cold (the cache cleared before each call, as after a sync
  archived a ban), with the days rolled up.

How it switches: the thread's ``default`` connection is replaced by the other
engine's for the duration of a call (``_on``), so every query of the page,
the ORM's and the raw ones, goes there; the cache gets a per-engine key prefix
so that nothing cached from one database is served for the other. A bench-only
trick: the app itself never does this.
"""

from __future__ import annotations

import glob
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from .core import BenchContext, Row, interleaved
from .dashboard import archive_rows
from .django_env import PASSWORD, django_env
from .history import ARCHIVE_BANS, CIDR, PREFIX, _empty_archive

PG = "pg"
CLUSTER = str(Path(__file__).resolve().parents[1] / "scripts" / "pg-cluster")
CALLS = 20
COLD_CALLS = 10
ROUNDS = 5
COLUMNS = (
    "ip", "jail", "banned_at", "bantime", "bancount", "failures", "matches", "origin",
    "country_code", "unbanned_by", "synced_at",
)  # fmt: skip


def _start_cluster(ctx: BenchContext) -> str:
    if not glob.glob("/usr/lib/postgresql/*/bin/initdb"):
        raise RuntimeError("PostgreSQL is not installed (apt-get install postgresql)")
    base = tempfile.mkdtemp(prefix="bangui-bench-pg-")
    ctx.add_cleanup(lambda: subprocess.run([CLUSTER, "stop", base], capture_output=True))
    subprocess.run([CLUSTER, "start", base], check=True, capture_output=True, timeout=120)
    createdb = sorted(glob.glob("/usr/lib/postgresql/*/bin/createdb"))[-1]
    subprocess.run([createdb, "-h", base, "-U", "postgres", "bangui"], check=True)
    return base


def _add_alias(socket_dir: str) -> None:
    from django.db import DEFAULT_DB_ALIAS, connections

    config = {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "bangui",
        "USER": "postgres",
        "HOST": socket_dir,
        "CONN_MAX_AGE": 60,
    }
    connections.settings[PG] = connections.configure_settings({DEFAULT_DB_ALIAS: config})[
        DEFAULT_DB_ALIAS
    ]


@contextmanager
def _on(alias: str | None) -> Iterator[None]:
    """Every query of this thread goes to ``alias`` (None: the run's SQLite) meanwhile."""
    from django.core.cache import caches
    from django.db import connections

    if alias is None:
        yield
        return
    handler: Any = connections
    saved = connections["default"]
    cache: Any = caches["default"]
    handler._connections.default = connections[alias]
    cache.key_prefix = alias
    try:
        yield
    finally:
        handler._connections.default = saved
        cache.key_prefix = ""


def _fill_pg() -> float:
    """The same rows as SQLite's, with COPY; seconds."""
    from django.db import connection

    from jails.models import BanRecord

    started = time.perf_counter()
    connection.ensure_connection()
    raw: Any = connection.connection
    names = ", ".join(COLUMNS)
    with raw.cursor() as cursor:
        copy_sql = f"COPY {BanRecord._meta.db_table} ({names}) FROM STDIN"
        with cursor.copy(copy_sql) as copy:
            for row in archive_rows(ARCHIVE_BANS, timedelta(days=364)):
                copy.write_row((*row[:9], "", row[9]))
    raw.commit()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return time.perf_counter() - started


def _setup_pg(ctx: BenchContext) -> Any:
    """Migrate PostgreSQL, set BanGUI up there; a client logged in on it."""
    from django.core.management import call_command
    from django.test import Client

    from bangui.setup.services import setup_complete
    from bangui.status import status_refresh

    call_command("migrate", database=PG, verbosity=0, interactive=False)
    with _on(PG):
        user = setup_complete(
            password=PASSWORD,
            fail2ban_socket=ctx.lab.socket_path,
            fail2ban_config_dir=str(ctx.lab.conf_dir),
            timezone_name="UTC",
            session_minutes=480,
        )
        client = Client()
        client.force_login(user)  # type: ignore[arg-type] # the AUTH_USER_MODEL
        status_refresh()
    return client


def run(ctx: BenchContext) -> list[Row]:
    env = django_env(ctx)
    from django.core.cache import cache

    from jails.history.rollup import rollup_fill

    from .dashboard import fill

    _add_alias(_start_cluster(ctx))
    pg_client = _setup_pg(ctx)
    clients = {None: env.client, PG: pg_client}

    _empty_archive(keep_state=True)
    sqlite_fill = fill(ARCHIVE_BANS, timedelta(days=364))
    with _on(PG):
        pg_fill = _fill_pg()
    sqlite_rollup = time.perf_counter()
    rollup_fill()
    sqlite_rollup = time.perf_counter() - sqlite_rollup
    with _on(PG):
        pg_rollup = time.perf_counter()
        rollup_fill()
        pg_rollup = time.perf_counter() - pg_rollup
    ctx.notes.append(
        f"pg: {ARCHIVE_BANS:,} bans inserted in {sqlite_fill:.1f} s into SQLite (executemany), "
        f"{pg_fill:.1f} s into PostgreSQL (COPY); rolled up in {sqlite_rollup:.1f} s / "
        f"{pg_rollup:.1f} s"
    )

    def page(alias: str | None, path: str, *, cold: bool = False) -> Callable[[], bytes]:
        def get() -> bytes:
            with _on(alias):
                if cold:
                    cache.clear()  # both engines' entries: the aggregates are computed again
                response = clients[alias].get(path)
                if response.status_code != 200:
                    raise RuntimeError(f"{alias or 'sqlite'} GET {path}: {response.status_code}")
                return bytes(response.content)

        return get

    prefix, cidr, year = f"/history/?ip={PREFIX}", f"/history/?ip={CIDR}", "/?range=365d"
    for alias in (None, PG):
        body = page(alias, year, cold=True)()
        if f"of {ARCHIVE_BANS}.".encode() not in body or b"ip=198.51." not in page(alias, prefix)():
            raise RuntimeError(f"{alias or 'sqlite'}: the pages do not show the archive")
    stats = interleaved(
        [
            (page(PG, prefix), CALLS),
            (page(None, prefix), CALLS),
            (page(PG, cidr), CALLS),
            (page(None, cidr), CALLS),
            (page(PG, year, cold=True), COLD_CALLS),
            (page(None, year, cold=True), COLD_CALLS),
        ],
        rounds=ROUNDS,
        warmup=1,
    )
    _empty_archive(keep_state=True)
    names = (
        f"history page, ip={PREFIX} over {ARCHIVE_BANS:,}",
        f"history page, ip={CIDR} over {ARCHIVE_BANS:,}",
        f"dashboard, 365 d over {ARCHIVE_BANS:,}, cold (rolled up)",
    )
    return [
        Row(
            name=f"{name}: PostgreSQL (vs SQLite)",
            ours=pg.summary(median=True),
            baseline=lite.summary(median=True),
            ratio=lite.median / pg.median,
        )
        for name, pg, lite in zip(names, stats[0::2], stats[1::2], strict=True)
    ]
