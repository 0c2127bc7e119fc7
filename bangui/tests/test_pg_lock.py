"""The instance lock on PostgreSQL: a row plus a session advisory lock (real server)."""

from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator

import pytest

from bangui.tests.test_startup_guard import ROOT, _exits_with, _free_port, _stop, _wait_live

GUNICORN = os.path.join(os.path.dirname(sys.executable), "gunicorn")


def _pg_bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else None


def _as_postgres(*cmd: str) -> None:
    subprocess.run(["runuser", "-u", "postgres", "--", *cmd], check=True, capture_output=True)


@pytest.fixture(scope="module")
def pg_env() -> Iterator[dict[str, str]]:
    """A private PostgreSQL cluster on a Unix socket, with BanGUI migrated into it."""
    initdb = _pg_bin("initdb")
    if initdb is None or shutil.which("runuser") is None:
        message = "PostgreSQL is not installed (apt-get install postgresql); scripts/test does it"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.fail("psycopg is missing: pip install -e '.[test]'", pytrace=False)
    base = tempfile.mkdtemp(prefix="pg-")
    os.chmod(base, 0o777)
    data = os.path.join(base, "data")
    pg_ctl = _pg_bin("pg_ctl")
    assert pg_ctl
    _as_postgres(initdb, "-D", data, "-A", "trust", "-U", "postgres")
    _as_postgres(
        pg_ctl, "-D", data, "-w", "-l", os.path.join(base, "log"),
        "-o", f"-k {base} -c listen_addresses='' -c fsync=off", "start",
    )  # fmt: skip
    try:
        _as_postgres(_pg_bin("createdb") or "createdb", "-h", base, "-U", "postgres", "bangui")
        data_dir = tempfile.mkdtemp(prefix="bangui-pg-")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("BANGUI_", "DJANGO_"))}
        env.update(
            BANGUI_DATA_DIR=data_dir,
            BANGUI_DB_ENGINE="postgres",
            BANGUI_DB_HOST=base,
            BANGUI_DB_USER="postgres",
            BANGUI_DB_NAME="bangui",
            BANGUI_STATIC_ROOT=os.path.join(data_dir, "static"),
            DJANGO_SETTINGS_MODULE="bangui.settings",
        )
        for command in ("migrate", "collectstatic"):  # gunicorn refuses to start without both
            subprocess.run(
                [sys.executable, "manage.py", command, "--noinput", "-v0"],
                cwd=ROOT, env=env, check=True, timeout=180,
            )  # fmt: skip
        yield env
    finally:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", pg_ctl, "-D", data, "-m", "immediate", "stop"],
            capture_output=True,
        )
        shutil.rmtree(base, ignore_errors=True)


def _gunicorn(env: dict[str, str], port: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [GUNICORN, "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}", "bangui.wsgi"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )  # fmt: skip


def _advisory_locks(env: dict[str, str]) -> int:
    import psycopg

    with psycopg.connect(host=env["BANGUI_DB_HOST"], user="postgres", dbname="bangui") as conn:
        row = conn.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'").fetchone()
        return int(row[0]) if row else 0


def test_a_second_web_instance_on_postgres_refuses_and_a_killed_one_restarts(pg_env):
    port = _free_port()
    first = _gunicorn(pg_env, port)
    try:
        _wait_live(port, first)
        assert _advisory_locks(pg_env) == 1
        out = _exits_with(_gunicorn(pg_env, _free_port()))
        assert "Another BanGUI web instance is running on this database" in out
        _stop(first, signal.SIGKILL)
        # PostgreSQL drops a dead session's advisory locks; the row is taken over.
        again = _gunicorn(pg_env, port)
        try:
            _wait_live(port, again)
            assert _advisory_locks(pg_env) == 1
        finally:
            _stop(again)
    finally:
        _stop(first, signal.SIGKILL)
