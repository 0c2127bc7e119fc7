"""``manage.py restore``: what it refuses, and what it does to an older backup.

Each command runs in a process of its own on a data dir of its own, as an
operator runs it. The restore of a backup made under load is in
tests/test_backup_online.py.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from bangui.tests.test_startup_guard import _free_port, _gunicorn, _stop, _wait_live

ROOT = Path(__file__).resolve().parents[2]


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BANGUI_", "DJANGO_"))}
    env.update(BANGUI_DATA_DIR=str(data_dir), DJANGO_SETTINGS_MODULE="bangui.settings")
    return env


def _manage(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT, env=_env(data_dir), capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def _ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _refused(done: subprocess.CompletedProcess[str], message: str) -> None:
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith("CommandError: ") and message in done.stderr, done.stderr


@pytest.fixture
def data_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="bangui-restore-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def backup() -> Iterator[Path]:
    """A backup of a BanGUI with one user, made by ``manage.py backup``."""
    source = Path(tempfile.mkdtemp(prefix="bangui-source-"))
    _ok(_manage(source, "migrate", "--noinput", "-v0"))
    make_user = "from django.contrib.auth.models import User; User.objects.create_user('olduser')"
    _ok(_manage(source, "shell", "-c", make_user))
    _ok(_manage(source, "backup", str(source / "backup.sqlite3")))
    yield source / "backup.sqlite3"
    shutil.rmtree(source, ignore_errors=True)


def _users(db: Path) -> list[str]:
    conn = sqlite3.connect(db)
    try:
        return [r[0] for r in conn.execute("SELECT username FROM auth_user ORDER BY username")]
    finally:
        conn.close()


def test_an_older_backup_is_migrated_forward(data_dir: Path, tmp_path: Path) -> None:
    old = tmp_path / "old"
    _ok(_manage(old, "migrate", "--noinput", "-v0"))
    _ok(_manage(old, "migrate", "blocklists", "zero", "--noinput", "-v0"))  # as before blocklists
    _ok(_manage(old, "backup", str(tmp_path / "old.sqlite3")))
    out = _ok(_manage(data_dir, "restore", str(tmp_path / "old.sqlite3")))
    assert "Migrated forward: " in out and "blocklists.0001_initial" in out
    assert "blocklist runs" in out  # counted after the migration made the table
    again = _ok(_manage(data_dir, "migrate", "--check", "--noinput"))
    assert "No migrations to apply" in again or again == ""


def test_a_database_with_data_is_replaced_only_with_force_and_kept(
    backup: Path, data_dir: Path
) -> None:
    _ok(_manage(data_dir, "migrate", "--noinput", "-v0"))
    _ok(_manage(data_dir, "restore", str(backup)))  # migrated but empty: fine
    _refused(_manage(data_dir, "restore", str(backup)), "already holds BanGUI data")
    out = _ok(_manage(data_dir, "restore", str(backup), "--force"))
    (kept,) = data_dir.glob("bangui.sqlite3.before-restore-*")
    assert f"was kept as {kept}" in out
    assert _users(kept) == ["olduser"] == _users(data_dir / "bangui.sqlite3")


def test_it_refuses_a_database_that_a_running_bangui_holds(backup: Path, data_dir: Path) -> None:
    _ok(_manage(data_dir, "migrate", "--noinput", "-v0"))
    env = {"BANGUI_STATIC_ROOT": str(data_dir / "static")}
    _ok(subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT, env=_env(data_dir) | env, capture_output=True, text=True, timeout=120,
    ))  # fmt: skip
    port = _free_port()
    web = _gunicorn(str(data_dir), port)
    try:
        _wait_live(port, web)
        done = _manage(data_dir, "restore", str(backup), "--force")
        _refused(done, f"BanGUI is running on {data_dir / 'bangui.sqlite3'} (the web lock, held by")
        assert "Stop it first" in done.stderr
    finally:
        _stop(web)
    # Stopped: its lock is gone, and the restore goes ahead.
    _ok(_manage(data_dir, "restore", str(backup), "--force"))
    assert _users(data_dir / "bangui.sqlite3") == ["olduser"]


def _not_sqlite(path: Path) -> None:
    path.write_text("192.0.2.1\n")


def _empty(path: Path) -> None:
    path.write_bytes(b"")


def _other_sqlite(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE notes (text TEXT)")
    conn.close()


def _damaged(path: Path, backup: Path) -> None:
    shutil.copy(backup, path)
    with open(path, "r+b") as fh:
        fh.seek(40 * 4096)  # the middle of the file: table and index pages
        fh.write(os.urandom(8 * 4096))


def _newer(path: Path, backup: Path) -> None:
    shutil.copy(backup, path)
    conn = sqlite3.connect(path)
    conn.execute(
        "INSERT INTO django_migrations (app, name, applied) "
        "VALUES ('jails', '9999_from_the_future', '2030-01-01')"
    )
    conn.commit()
    conn.close()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (_not_sqlite, "is not an SQLite database, so not a BanGUI backup"),
        (_empty, "is not an SQLite database, so not a BanGUI backup"),
        (_other_sqlite, "is an SQLite database, but not BanGUI's"),
        (_damaged, "damaged"),
        (_newer, "comes from a newer BanGUI (migrations this one does not have: jails.9999"),
    ],
)
def test_a_file_that_is_not_a_good_bangui_backup_is_refused(
    make, message: str, backup: Path, data_dir: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.sqlite3"
    if make in (_damaged, _newer):
        make(bad, backup)
    else:
        make(bad)
    _refused(_manage(data_dir, "restore", str(bad)), message)
    assert not (data_dir / "bangui.sqlite3").exists()
    assert [p.name for p in data_dir.iterdir()] == ["secret_key"]  # no file left behind


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/nonexistent/backup.sqlite3", "/nonexistent/backup.sqlite3 does not exist"),
        ("/tmp", "/tmp is not a file"),
        ("", "Name the backup file to restore"),
        ("/tmp/no\udcff\x1b[31m\n.sqlite3", "/tmp/no\\udcff\\x1b[31m\\n.sqlite3 does not exist"),
    ],
)
def test_a_bad_path_is_refused_with_a_clear_message(
    path: str, message: str, data_dir: Path
) -> None:
    _refused(_manage(data_dir, "restore", path), message)


def test_it_refuses_to_leave_files_that_the_bangui_user_could_not_write(
    backup: Path, data_dir: Path
) -> None:
    if os.geteuid() != 0:
        pytest.fail("this test runs as root (scripts/test does)", pytrace=False)
    shutil.chown(data_dir, "bangui", "bangui")  # the user BanGUI runs as
    done = _manage(data_dir, "restore", str(backup))
    _refused(done, f"{data_dir} belongs to bangui, but this command runs as root")
    assert "Run the restore as bangui" in done.stderr
    assert not (data_dir / "bangui.sqlite3").exists()


def test_the_live_database_is_not_a_backup(data_dir: Path) -> None:
    _ok(_manage(data_dir, "migrate", "--noinput", "-v0"))
    done = _manage(data_dir, "restore", str(data_dir / "bangui.sqlite3"))
    _refused(done, "is BanGUI's live database itself, not a backup")
