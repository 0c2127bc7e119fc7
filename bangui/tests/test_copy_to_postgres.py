"""Moving an SQLite install to PostgreSQL: manage.py copy_to_postgres, end to end.

A small install (users, two-factor devices, a group with permissions, 700
archived bans with their rollup, the geo cache, a blocklist and its run) is
written to an SQLite file by BanGUI itself, copied into a private PostgreSQL
cluster, and both databases are dumped table by table: the dumps must be equal.
Then new rows must insert (the id sequences moved past the copied ids).
"""

from __future__ import annotations

import glob
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CLUSTER = str(ROOT / "scripts" / "pg-cluster")


def _manage(
    env: dict[str, str], *args: str, check: bool = True
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, timeout=300, capture_output=True, text=True
    )
    if check and done.returncode != 0:
        pytest.fail(f"{' '.join(args)} failed:\n{done.stderr[-3000:]}", pytrace=False)
    return done


def _base_env(data_dir: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BANGUI_", "DJANGO_"))}
    env.update(BANGUI_DATA_DIR=data_dir, DJANGO_SETTINGS_MODULE="bangui.settings")
    return env


def _pg_env(data_dir: str, socket_dir: str, name: str) -> dict[str, str]:
    """The environment of a BanGUI on a new, empty database ``name`` of the cluster."""
    createdb = sorted(glob.glob("/usr/lib/postgresql/*/bin/createdb"))[-1]
    subprocess.run([createdb, "-h", socket_dir, "-U", "postgres", name], check=True)
    return {
        **_base_env(data_dir),
        "BANGUI_DB_ENGINE": "postgres",
        "BANGUI_DB_HOST": socket_dir,
        "BANGUI_DB_USER": "postgres",
        "BANGUI_DB_NAME": name,
    }


@pytest.fixture(scope="module")
def pg_socket() -> Iterator[str]:
    """A private PostgreSQL cluster (scripts/pg-cluster): its socket directory."""
    if not glob.glob("/usr/lib/postgresql/*/bin/initdb"):
        message = "PostgreSQL is not installed (apt-get install postgresql); scripts/test does it"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    base = tempfile.mkdtemp(prefix="bangui-pgcopy-")
    subprocess.run([CLUSTER, "start", base], check=True, capture_output=True, timeout=120)
    try:
        yield base
    finally:
        subprocess.run([CLUSTER, "stop", base], capture_output=True)


def test_an_sqlite_install_arrives_whole_on_postgres_and_takes_new_rows(pg_socket):
    data_dir = tempfile.mkdtemp(prefix="bangui-copy-")
    sqlite_env = _base_env(data_dir)
    pg_env = _pg_env(data_dir, pg_socket, "copied")
    sqlite_file = os.path.join(data_dir, "bangui.sqlite3")
    _manage(sqlite_env, "manage.py", "migrate", "--noinput", "-v0")
    _manage(sqlite_env, "-m", "bangui.tests.copy_data", "fill")
    _manage(pg_env, "manage.py", "migrate", "--noinput", "-v0")

    out = _manage(pg_env, "manage.py", "copy_to_postgres", sqlite_file).stdout
    assert "jails.banrecord: 700 rows" in out

    before = json.loads(_manage(sqlite_env, "-m", "bangui.tests.copy_data", "dump").stdout)
    after = json.loads(_manage(pg_env, "-m", "bangui.tests.copy_data", "dump").stdout)
    assert len(before["jails.banrecord"]) == 700
    assert before["auth.group_permissions"] and before["otp_static.statictoken"]
    for table, rows in before.items():
        assert after[table] == rows, table
    assert _manage(pg_env, "-m", "bangui.tests.copy_data", "insert").stdout.strip() == "inserted"


def test_it_refuses_to_copy_into_a_database_that_holds_data(pg_socket):
    data_dir = tempfile.mkdtemp(prefix="bangui-copy-")
    env = _pg_env(data_dir, pg_socket, "in_use")
    sqlite_env = _base_env(data_dir)
    _manage(sqlite_env, "manage.py", "migrate", "--noinput", "-v0")
    _manage(env, "manage.py", "migrate", "--noinput", "-v0")
    _manage(env, "-m", "bangui.tests.copy_data", "insert")  # a user and a ban
    done = _manage(
        env, "manage.py", "copy_to_postgres", os.path.join(data_dir, "bangui.sqlite3"), check=False
    )
    assert done.returncode == 1
    assert "already holds users or archived bans" in done.stderr
    missing = _manage(env, "manage.py", "copy_to_postgres", "/nonexistent.sqlite3", check=False)
    assert missing.returncode == 1 and "no such file" in missing.stderr
