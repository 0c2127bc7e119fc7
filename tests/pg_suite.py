"""The tests scripts/test runs a second time, on PostgreSQL: ``pytest -p tests.pg_suite``.

The database-heavy part of the suite: the history sync and archive queries
(IP prefix range scans included), the dashboard's rollup, the geo cache's bulk
upserts, blocklist runs, the job schedules, the audit log's filters, hostile
query strings on the archive's pages (bangui/tests/test_postgres.py), and
migrations from empty (pytest-django builds the test database by migrating an
empty one). The instance lock on PostgreSQL has its own cluster and runs in
the first pass (bangui/tests/test_pg_lock.py), as does copy_to_postgres. The rest (fail2ban
config, the broker, pages with no archive behind them) does not depend on the
database engine, and running it twice would cost CI minutes for nothing.

Loaded as a plugin, this module deselects every test outside ``PG_PATHS`` and
refuses to run unless the database really is PostgreSQL, so that a broken
environment fails instead of silently testing SQLite twice.
"""

from __future__ import annotations

import os

import pytest

PG_PATHS = (
    "jails/tests/history/",
    "jails/tests/dashboard/",
    "jails/tests/test_admin.py",
    "jails/tests/audit/",
    "geo/tests/test_services.py",
    "geo/tests/test_lookup.py",
    "geo/tests/test_admin.py",
    "geo/tests/test_commands.py",
    "blocklists/tests/test_import.py",
    "blocklists/tests/test_killed_import.py",
    "blocklists/tests/test_scheduling.py",
    "bangui/tests/test_jobs.py",
    "bangui/tests/test_postgres.py",
)


def _selected(nodeid: str) -> bool:
    return nodeid.startswith(PG_PATHS)


def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get("BANGUI_DB_ENGINE") != "postgres":
        raise pytest.UsageError("tests.pg_suite runs on PostgreSQL only: BANGUI_DB_ENGINE=postgres")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    keep = [item for item in items if _selected(item.nodeid)]
    dropped = [item for item in items if not _selected(item.nodeid)]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep
