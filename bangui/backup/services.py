"""``manage.py backup``: a consistent copy of the live SQLite database, made online.

The copy is written to a hidden file next to the destination, checked, and
only then given its name, so a file with the destination's name is always a
complete backup. See docs/backups.md.
"""

from __future__ import annotations

import errno
import os
import shlex
import socket
import sqlite3
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from bangui.backup import sqlite
from bangui.backup.common import (
    LOCK_TABLE,
    META_TABLE,
    BackupError,
    db_settings,
    format_size,
    is_live_db,
    is_sqlite,
    live_db_path,
    main_tables,
    secret_key_file,
    shown,
)

FORMAT = "1"


@dataclass
class BackupResult:
    path: Path
    size: int
    seconds: float
    counts: dict[str, int] = field(default_factory=dict)
    secret_key_included: bool = False
    copy_seconds: float = 0.0  # the snapshot copy alone; the rest is mostly integrity_check


def pg_dump_hint(raw: str) -> str:
    db = db_settings()
    command = shlex.join(
        [
            "pg_dump",
            f"--host={db['HOST']}",
            f"--port={db['PORT']}",
            f"--username={db['USER']}",
            "--format=custom",
            f"--file={raw or 'bangui.dump'}",
            str(db["NAME"]),
        ]
    )
    return (
        f"BanGUI's database is PostgreSQL (database {db['NAME']} on {db['HOST']}:{db['PORT']});"
        " this command copies SQLite databases only, and no backup was made.\n"
        "Make the backup with PostgreSQL's own tool (its version must be at least the"
        " server's), as a user that may read that database:\n\n"
        f"  {shown(command)}\n\n"
        "pg_dump takes the password (BANGUI_DB_PASSWORD) from PGPASSWORD or ~/.pgpass."
        " docs/backups.md shows the restore with pg_restore."
    )


def _target(raw: str, now: datetime) -> Path:
    if not raw.strip():
        raise BackupError(
            "No backup file named. Give a path, e.g. manage.py backup "
            "/var/backups/bangui/bangui.sqlite3 (an existing directory gets a dated file)."
        )
    if "\x00" in raw:
        raise BackupError("The path contains a NUL character, which no file name can hold.")
    path = Path(os.path.abspath(raw))
    if path.is_dir():
        path = path / f"bangui-{now:%Y%m%d-%H%M%S}.sqlite3"
    return path


def _check_target(path: Path, force: bool) -> None:
    if is_live_db(path):
        raise BackupError(
            f"{shown(path)} is BanGUI's live database (or one of its files): "
            "the backup must go to another file."
        )
    if path.parent.exists() and not path.parent.is_dir():
        raise BackupError(f"{shown(path.parent)} is not a directory.")
    if not path.parent.is_dir():
        raise BackupError(
            f"The directory {shown(path.parent)} does not exist. Create it first "
            "(mkdir -m 700: a backup holds password hashes and login sessions)."
        )
    if not os.path.lexists(path):
        return
    if not force:
        raise BackupError(f"{shown(path)} exists. Pass --force to replace it.")
    if path.is_symlink() or not path.is_file():
        raise BackupError(f"{shown(path)} is not a regular file; BanGUI will not replace it.")
    if path.stat().st_size and not sqlite.is_sqlite_file(path):
        raise BackupError(
            f"{shown(path)} is not an SQLite database: --force replaces only an earlier backup."
        )


def _temp_next_to(path: Path) -> Path:
    try:
        fd, name = tempfile.mkstemp(prefix=".bangui-backup-", suffix=".part", dir=path.parent)
    except OSError as exc:
        raise BackupError(
            f"Cannot write in {shown(path.parent)}: {exc.strerror}. Choose a directory "
            "that the user running this command may write to."
        ) from None
    os.close(fd)
    return Path(name)


def _secret_key_in_use() -> str | None:
    """The data dir's key file, when it is the key BanGUI runs with."""
    try:
        key = secret_key_file().read_text().strip()
    except OSError:
        return None
    return key if key == settings.SECRET_KEY else None


def _finish_copy(path: Path, now: datetime) -> tuple[dict[str, int], bool]:
    """Mark the copy as a backup, check it, count its rows."""
    key = _secret_key_in_use()
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        have = sqlite.tables(conn)
        if LOCK_TABLE in have:
            # The locks belong to the running processes, not to a restored copy.
            conn.execute(f'DELETE FROM "{LOCK_TABLE}"')
        conn.execute(f'CREATE TABLE "{META_TABLE}" (key TEXT PRIMARY KEY, value TEXT NOT NULL)')
        meta = {
            "format": FORMAT,
            "created_at": now.isoformat(),
            "hostname": socket.gethostname(),
            "source": str(live_db_path()),
        }
        if key is not None:
            meta["secret_key"] = key
        conn.executemany(f'INSERT INTO "{META_TABLE}" VALUES (?, ?)', meta.items())
        verdict = sqlite.integrity(conn)
        if verdict != "ok":
            raise BackupError(
                f"The copy fails SQLite's integrity check ({verdict}), so the live database "
                f"is damaged: check it with sqlite3 {shown(live_db_path())} "
                "'PRAGMA integrity_check'. No backup was written."
            )
        return sqlite.row_counts(conn, main_tables()), key is not None
    finally:
        conn.close()


def _move_into_place(tmp: Path, path: Path, force: bool) -> None:
    if force:
        os.replace(tmp, path)
    else:
        try:
            os.link(tmp, path)  # fails if the name was taken meanwhile: never overwrites
        except FileExistsError:
            raise BackupError(f"{shown(path)} exists. Pass --force to replace it.") from None
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EMLINK):
                raise
            # A file system without hard links (vfat, some network mounts).
            if os.path.lexists(path):
                raise BackupError(f"{shown(path)} exists. Pass --force to replace it.") from None
            os.replace(tmp, path)
    sqlite.fsync_path(path.parent)


def _failure(exc: sqlite3.Error | OSError, path: Path) -> BackupError:
    full = isinstance(exc, OSError) and exc.errno == errno.ENOSPC
    full |= getattr(exc, "sqlite_errorcode", 0) & 0xFF == sqlite3.SQLITE_FULL
    if full:
        live = live_db_path()
        need = sum(p.stat().st_size for p in (live, Path(f"{live}-wal")) if p.exists())
        return BackupError(
            f"The disk holding {shown(path.parent)} is full: the backup needs up to "
            f"{format_size(need)}. Nothing was written; free some space or choose another place."
        )
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return BackupError(f"The backup to {shown(path)} failed: {reason}. Nothing was written.")


def backup_create(
    raw: str,
    *,
    force: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> BackupResult:
    """Copy the live database to ``raw`` (a file, or a directory for a dated file)."""
    if not is_sqlite():
        raise BackupError(pg_dump_hint(raw))
    now = timezone.now()
    started = time.monotonic()
    try:
        path = _target(raw, now)
        _check_target(path, force)
    except OSError as exc:
        raise BackupError(f"Cannot use {shown(raw)} as the backup file: {exc.strerror}.") from None
    live = live_db_path()
    if not live.is_file():
        raise BackupError(
            f"The database {shown(live)} does not exist: there is nothing to back up."
        )
    tmp = _temp_next_to(path)
    try:
        try:
            src = sqlite.connect(live)
        except sqlite3.Error as exc:
            raise BackupError(
                f"Cannot open the database {shown(live)}: {exc}. Run this command as the "
                "user BanGUI runs as, with BanGUI's environment."
            ) from None
        try:
            src.execute("PRAGMA query_only = ON")
            sqlite.snapshot_copy(src, tmp, progress=progress)
        finally:
            src.close()
        copied = time.monotonic() - started
        counts, with_key = _finish_copy(tmp, now)
        sqlite.fsync_path(tmp)
        size = tmp.stat().st_size
        _move_into_place(tmp, path, force)
    except (sqlite3.Error, OSError) as exc:
        raise _failure(exc, path) from None
    finally:
        for leftover in (tmp, Path(f"{tmp}-journal")):
            leftover.unlink(missing_ok=True)
    return BackupResult(path, size, time.monotonic() - started, counts, with_key, copied)
