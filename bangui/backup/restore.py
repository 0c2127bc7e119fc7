"""``manage.py restore``: a backup back into BanGUI's database, then migrated forward.

The backup is first copied to a file next to the database and checked there
(integrity, a BanGUI database, not newer than this code); then that copy goes
into the database file with SQLite's backup API, in one transaction, which
also handles a WAL file left by an earlier database correctly.
"""

from __future__ import annotations

import io
import os
import pwd
import sqlite3
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connections
from django.db.migrations.loader import MigrationLoader
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from bangui.backup import sqlite
from bangui.backup.common import (
    LOCK_TABLE,
    META_TABLE,
    BackupError,
    is_live_db,
    is_sqlite,
    live_db_path,
    main_tables,
    secret_key_file,
    shown,
)
from bangui.locks import lock_stale
from bangui.models import InstanceLock

# Rows in any of these mean the database is in use, not a fresh one.
_DATA_TABLES = ("auth_user", "bangui_appsettings", "jails_banrecord", "jails_auditevent")
_DAMAGED = (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)


@dataclass
class RestoreResult:
    target: Path
    made_at: str = ""
    migrations_applied: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    secret_key: str = ""  # "restored", "env" (BANGUI_SECRET_KEY wins), or "" (none in it)
    set_aside: Path | None = None


def _source(raw: str) -> Path:
    if not raw.strip() or "\x00" in raw:
        raise BackupError("Name the backup file to restore, e.g. manage.py restore bangui.sqlite3.")
    path = Path(os.path.abspath(raw))
    if not path.exists():
        raise BackupError(f"{shown(path)} does not exist.")
    if not path.is_file():
        raise BackupError(f"{shown(path)} is not a file.")
    if is_live_db(path):
        raise BackupError(f"{shown(path)} is BanGUI's live database itself, not a backup.")
    if not sqlite.is_sqlite_file(path):
        raise BackupError(f"{shown(path)} is not an SQLite database, so not a BanGUI backup.")
    return path


def _user(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def _check_owner(directory: Path) -> None:
    """The restored files must belong to the user BanGUI runs as: the data dir's owner."""
    if not directory.is_dir():
        raise BackupError(f"The database's directory {shown(directory)} does not exist.")
    owner = directory.stat().st_uid
    if owner != os.geteuid():
        me, them = _user(os.geteuid()), _user(owner)
        raise BackupError(
            f"{shown(directory)} belongs to {them}, but this command runs as {me}: the restored "
            f"database would belong to {me}, and BanGUI could not write to it. "
            f"Run the restore as {them} (e.g. sudo -u {them}, with BanGUI's environment)."
        )


def _running_holders(target: Path) -> list[str]:
    """The live BanGUI processes that hold an instance lock on ``target``."""
    conn = sqlite.connect(target, read_only=True)
    try:
        if LOCK_TABLE not in sqlite.tables(conn):
            return []
        rows = conn.execute(
            f'SELECT name, hostname, pid, expires_at, heartbeat_at FROM "{LOCK_TABLE}"'
        ).fetchall()
    finally:
        conn.close()
    now = timezone.now()
    held = []
    for name, hostname, pid, expires, beat in rows:
        lock = InstanceLock(
            name=name,
            hostname=hostname,
            pid=pid,
            expires_at=_when(expires),
            heartbeat_at=_when(beat),
        )
        if not lock_stale(lock, now):
            held.append(f"the {name} lock, held by {hostname} pid {pid}")
    return held


def _when(value: str) -> datetime:
    parsed = parse_datetime(str(value))
    if parsed is None:
        return timezone.now()  # unreadable: treat the lock as live, to be safe
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _rows_in_use(target: Path) -> int:
    conn = sqlite.connect(target, read_only=True)
    try:
        have = sqlite.tables(conn)
        return sum(
            int(conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0])
            for t in _DATA_TABLES
            if t in have
        )
    finally:
        conn.close()


def _check_target(target: Path, force: bool) -> int:
    """Refuse a database in use; returns how many rows of data it holds."""
    if not target.exists() or target.stat().st_size == 0:
        return 0
    held = _running_holders(target)
    if held:
        raise BackupError(
            f"BanGUI is running on {shown(target)} ({'; '.join(held)}). Stop it first "
            "(the web service and the job cluster, manage.py qcluster), then restore."
        )
    rows = _rows_in_use(target)
    if rows and not force:
        raise BackupError(
            f"{shown(target)} already holds BanGUI data. Restore into a fresh data dir, or pass "
            "--force to replace it (a copy of it is kept next to it)."
        )
    return rows


def _applied(conn: sqlite3.Connection) -> set[tuple[str, str]]:
    rows = conn.execute("SELECT app, name FROM django_migrations").fetchall()
    return {(str(a), str(n)) for a, n in rows}


def _check_backup(conn: sqlite3.Connection, source: Path) -> dict[str, str]:
    verdict = sqlite.integrity(conn)
    if verdict != "ok":
        raise BackupError(f"{shown(source)} is damaged (integrity_check: {verdict}).")
    have = sqlite.tables(conn)
    if "django_migrations" not in have or "bangui_appsettings" not in have:
        raise BackupError(f"{shown(source)} is an SQLite database, but not BanGUI's.")
    loader = MigrationLoader(None, ignore_no_migrations=True)
    unknown = sorted(
        f"{app}.{name}"
        for app, name in _applied(conn)
        if app in loader.migrated_apps and (app, name) not in loader.disk_migrations
    )
    if unknown:
        raise BackupError(
            f"{shown(source)} comes from a newer BanGUI (migrations this one does not have: "
            f"{', '.join(unknown[:5])}). Install that version or a later one, then restore."
        )
    if META_TABLE not in have:
        return {}
    return {str(k): str(v) for k, v in conn.execute(f'SELECT key, value FROM "{META_TABLE}"')}


def _prepare(source: Path, work: Path) -> dict[str, str]:
    """Copy the backup to ``work`` and check it; returns the backup's notes."""
    src = sqlite.connect(source, read_only=True)
    try:
        sqlite.snapshot_copy(src, work)
    finally:
        src.close()
    conn = sqlite3.connect(work, isolation_level=None)
    try:
        meta = _check_backup(conn, source)
        conn.execute(f'DROP TABLE IF EXISTS "{META_TABLE}"')
        if LOCK_TABLE in sqlite.tables(conn):
            conn.execute(f'DELETE FROM "{LOCK_TABLE}"')  # the backed-up instance's locks
    finally:
        conn.close()
    return meta


def _set_aside(target: Path) -> Path:
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    aside = target.with_name(f"{target.name}.before-restore-{stamp}")
    conn = sqlite.connect(target)
    try:
        sqlite.snapshot_copy(conn, aside)
    finally:
        conn.close()
    return aside


def _copy_in(work: Path, target: Path) -> None:
    src = sqlite.connect(work, read_only=True)
    dst = sqlite3.connect(target, isolation_level=None, timeout=20)
    try:
        src.backup(dst)  # one step: one transaction on the target
    finally:
        src.close()
        dst.close()


def _write_secret_key(key: str) -> str:
    if os.environ.get("BANGUI_SECRET_KEY") or os.environ.get("BANGUI_SECRET_KEY_FILE"):
        return "env"
    path = secret_key_file()
    fd, tmp = tempfile.mkstemp(prefix=".secret_key-", dir=path.parent)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
        fh.flush()
        os.fsync(fh.fileno())
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    return "restored"


def _migrate() -> list[str]:
    before = set(MigrationLoader(connections["default"]).applied_migrations)
    call_command("migrate", interactive=False, verbosity=0, stdout=io.StringIO())
    after = set(MigrationLoader(connections["default"]).applied_migrations)
    return sorted(f"{app}.{name}" for app, name in after - before)


def _copy_checked(source: Path, target: Path, in_use: int, result: RestoreResult) -> dict[str, str]:
    """Check the backup on a copy next to the target, then copy it in; the backup's notes."""
    try:
        fd, name = tempfile.mkstemp(prefix=".bangui-restore-", suffix=".part", dir=target.parent)
    except OSError as exc:
        raise BackupError(f"Cannot write in {shown(target.parent)}: {exc.strerror}.") from None
    os.close(fd)
    work = Path(name)
    try:
        try:
            meta = _prepare(source, work)
        except sqlite3.DatabaseError as exc:
            # The primary code: SQLITE_CORRUPT comes in extended variants (_INDEX, _VTAB).
            if getattr(exc, "sqlite_errorcode", 0) & 0xFF not in _DAMAGED:
                raise
            raise BackupError(
                f"{shown(source)} is damaged ({exc}): it cannot be restored. "
                "Use another backup. Nothing was changed."
            ) from None
        if in_use:
            result.set_aside = _set_aside(target)
        _copy_in(work, target)
    except sqlite3.Error as exc:
        raise BackupError(
            f"Restoring {shown(source)} failed: {exc}. Nothing was changed."
        ) from None
    except OSError as exc:
        raise BackupError(f"Restoring {shown(source)} failed: {exc.strerror}.") from None
    finally:
        work.unlink(missing_ok=True)
    return meta


def _finish(result: RestoreResult, meta: dict[str, str]) -> None:
    """After the copy: the secret key, the migrations, the counts."""
    result.made_at = meta.get("created_at", "")
    try:
        if "secret_key" in meta:
            result.secret_key = _write_secret_key(meta["secret_key"])
        result.migrations_applied = _migrate()
        conn = sqlite.connect(result.target, read_only=True)
        try:
            result.counts = sqlite.row_counts(conn, main_tables())
        finally:
            conn.close()
    except (OSError, DatabaseError, sqlite3.Error, CommandError) as exc:
        raise BackupError(
            f"The backup was restored into {shown(result.target)}, but then this failed: {exc}. "
            "Fix that and run manage.py migrate (and put the secret key back by hand if this "
            "is about the secret_key file)."
        ) from None


def restore_backup(raw: str, *, force: bool = False) -> RestoreResult:
    """Restore the backup ``raw`` into BanGUI's (fresh) SQLite database."""
    if not is_sqlite():
        raise BackupError(
            "BanGUI's database is PostgreSQL: restore a pg_dump backup with pg_restore "
            "(docs/backups.md), then run manage.py migrate."
        )
    target = live_db_path()
    try:
        source = _source(raw)
        _check_owner(target.parent)
        in_use = _check_target(target, force)
    except OSError as exc:
        raise BackupError(f"Cannot read {shown(raw)}: {exc.strerror}.") from None
    except sqlite3.Error as exc:
        raise BackupError(f"Cannot read {shown(target)}: {exc}.") from None
    result = RestoreResult(target)
    connections.close_all()
    meta = _copy_checked(source, target, in_use, result)
    _finish(result, meta)
    return result
