"""``manage.py backup``: the snapshot copy, and every way PATH can be wrong.

The copy with real writers at work, and its restore, are in
tests/test_backup_online.py.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from bangui.backup import sqlite

ROOT = Path(__file__).resolve().parents[2]


def _backup(*args: str) -> str:
    from io import StringIO

    out = StringIO()
    call_command("backup", *args, stdout=out)
    return out.getvalue()


def _live() -> Path:
    return Path(connection.settings_dict["NAME"])


@contextmanager
def _tmpfs(path: Path, options: str) -> Iterator[Path]:
    """A small real file system of its own: full or read-only disks without tricks."""
    path.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True, text=True
    )
    if mounted.returncode != 0:
        message = f"cannot mount a tmpfs (run the tests as root): {mounted.stderr.strip()}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    try:
        yield path
    finally:
        subprocess.run(["umount", str(path)], check=True)


def test_a_copy_is_one_snapshot_while_another_connection_writes_between_steps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    live = tmp_path / "live.sqlite3"
    writer = sqlite3.connect(live, isolation_level=None)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, data BLOB)")
    writer.execute("BEGIN")
    writer.executemany("INSERT INTO t (data) VALUES (?)", [(os.urandom(400),)] * 5000)
    writer.execute("COMMIT")
    monkeypatch.setattr(sqlite, "STEP_PAGES", 40)
    steps: list[int] = []

    def write_between_steps(done: int, total: int) -> None:
        # A writer that commits while the copy is half done: it must not wait
        # (timeout 0), and the copy must neither see the row nor start again.
        writer.execute("PRAGMA busy_timeout = 0")
        writer.execute("INSERT INTO t (data) VALUES (x'00')")
        steps.append(done)

    src = sqlite.connect(live)
    sqlite.snapshot_copy(src, tmp_path / "copy.sqlite3", progress=write_between_steps)
    src.close()
    assert len(steps) > 10 and steps == sorted(steps)  # never started again
    copy = sqlite3.connect(tmp_path / "copy.sqlite3")
    assert copy.execute("SELECT count(*) FROM t").fetchone() == (5000,)
    assert sqlite.integrity(copy) == "ok"
    assert copy.execute("PRAGMA journal_mode").fetchone() == ("delete",)
    assert writer.execute("SELECT count(*) FROM t").fetchone() == (5000 + len(steps),)


@pytest.mark.django_db
def test_it_writes_a_checked_private_copy_and_reports_the_rows(tmp_path: Path) -> None:
    from django.contrib.auth.models import User

    # Committed by the test's transaction? No: the copy reads its own snapshot,
    # so only what is committed counts; the test database is migrated and empty.
    out = _backup(str(tmp_path / "b.sqlite3"))
    assert f"Backup written to {tmp_path / 'b.sqlite3'}" in out
    assert "integrity_check" in out and "archived bans" in out and "users" in out
    assert (tmp_path / "b.sqlite3").stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["b.sqlite3"]  # no temporary file left
    conn = sqlite3.connect(tmp_path / "b.sqlite3")
    assert sqlite.integrity(conn) == "ok"
    assert "django_migrations" in sqlite.tables(conn)
    assert conn.execute("SELECT count(*) FROM bangui_instancelock").fetchone() == (0,)
    assert dict(conn.execute("SELECT key, value FROM bangui_backup_meta"))["format"] == "1"
    assert User.objects.count() == 0


@pytest.mark.django_db
def test_a_directory_gets_a_dated_file_and_force_replaces_only_an_earlier_backup(
    tmp_path: Path,
) -> None:
    out = _backup(str(tmp_path))
    (made,) = tmp_path.glob("bangui-*.sqlite3")
    assert str(made) in out
    with pytest.raises(CommandError, match="exists. Pass --force to replace it"):
        _backup(str(made))
    _backup(str(made), "--force")
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes\n")
    with pytest.raises(CommandError, match="is not an SQLite database: --force replaces only"):
        _backup(str(notes), "--force")
    assert notes.read_text() == "my notes\n"
    link = tmp_path / "link.sqlite3"
    link.symlink_to(made)
    with pytest.raises(CommandError, match="is not a regular file"):
        _backup(str(link), "--force")


@pytest.mark.django_db
def test_it_never_writes_over_the_live_database_under_any_name(tmp_path: Path) -> None:
    live = _live()
    (tmp_path / "alias.sqlite3").symlink_to(live)
    os.link(live, tmp_path / "hardlink.sqlite3")
    for name in (
        live,
        Path(f"{live}-wal"),
        tmp_path / "alias.sqlite3",
        tmp_path / "hardlink.sqlite3",
    ):
        with pytest.raises(CommandError, match="is BanGUI's live database"):
            _backup(str(name), "--force")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("", "No backup file named"),
        ("   ", "No backup file named"),
        ("back\x00up.sqlite3", "contains a NUL character"),
        ("/nonexistent-bangui-dir/b.sqlite3", "does not exist. Create it first"),
        ("/etc/passwd/b.sqlite3", "/etc/passwd is not a directory"),
        ("/proc/b.sqlite3", "Cannot write in /proc"),
        ("/tmp/" + "a" * 300, "File name too long"),
    ],
)
def test_a_bad_path_is_refused_with_a_clear_message(path: str, message: str) -> None:
    with pytest.raises(CommandError, match=message):
        _backup(path)


@pytest.mark.django_db
def test_a_full_disk_fails_clearly_and_leaves_nothing(tmp_path: Path) -> None:
    with _tmpfs(tmp_path / "small", "size=64k,mode=700") as small:
        with pytest.raises(CommandError, match="is full: the backup needs up to"):
            _backup(str(small / "b.sqlite3"))
        assert list(small.iterdir()) == []


@pytest.mark.django_db
def test_a_read_only_directory_fails_clearly(tmp_path: Path) -> None:
    refused = pytest.raises(CommandError, match="Cannot write in .*: Read-only file system")
    with _tmpfs(tmp_path / "ro", "ro,size=1m") as ro, refused:
        _backup(str(ro / "b.sqlite3"))


def _cli(*args: str | bytes, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("BANGUI_DB")}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT, env={**base, **env}, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_on_the_command_line_a_bad_path_is_one_line_and_exit_status_1(tmp_path: Path) -> None:
    hostile = os.fsencode(tmp_path) + b"/no\xff\x1b[31mred\nline/b.sqlite3"
    done = _cli("backup", hostile)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith("CommandError: The directory ")
    assert "\\udcff" in done.stderr and "\\x1b[31mred\\nline" in done.stderr


def test_a_data_dir_without_a_database_has_nothing_to_back_up(tmp_path: Path) -> None:
    empty = tmp_path / "data"
    empty.mkdir(mode=0o700)
    done = _cli("backup", str(tmp_path / "b.sqlite3"), BANGUI_DATA_DIR=str(empty))
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert f"The database {empty / 'bangui.sqlite3'} does not exist" in done.stderr
    assert not (tmp_path / "b.sqlite3").exists()


def test_on_postgresql_it_prints_the_pg_dump_command_and_fails(tmp_path: Path) -> None:
    env = {
        "BANGUI_DB_ENGINE": "postgres",
        "BANGUI_DB_HOST": "db.internal",
        "BANGUI_DB_NAME": "bangui_prod",
        "BANGUI_DB_PASSWORD": "pg-secret-do-not-print",
    }
    done = _cli("backup", "/backups/my backup.dump", **env)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "no backup was made" in done.stderr
    assert (
        "pg_dump --host=db.internal --port=5432 --username=bangui --format=custom "
        "'--file=/backups/my backup.dump' bangui_prod"
    ) in done.stderr
    assert "pg-secret-do-not-print" not in done.stderr + done.stdout
    restore = _cli("restore", "/backups/my backup.dump", **env)
    assert restore.returncode == 1 and "pg_restore" in restore.stderr
