"""SQLite mechanics shared by backup and restore: snapshot copies, checks, counts.

The live database is in WAL mode. A copy reads one snapshot: the read
transaction is opened before the first step and held until the last, so the
copy is consistent however many steps it takes, and writers (the web process,
the job cluster) go on appending to the WAL meanwhile; in WAL mode a reader
never blocks them. Without the held transaction SQLite would start the copy
again after every write of another connection, and under a busy history sync
it might never finish.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

# Pages per step: 4 MiB with SQLite's default page size. Each step is a short
# burst of I/O; progress is reported between steps.
STEP_PAGES = 1024
HEADER = b"SQLite format 3\x00"


def connect(path: Path, *, read_only: bool = False) -> sqlite3.Connection:
    """A plain connection to an existing file (never creates one), autocommit."""
    mode = "ro" if read_only else "rw"
    uri = f"file:{quote(os.fsencode(path))}?mode={mode}"
    return sqlite3.connect(uri, uri=True, isolation_level=None, timeout=20)


def is_sqlite_file(path: Path) -> bool:
    """The file starts with SQLite's header (an empty file counts as no database)."""
    with open(path, "rb") as fh:
        return fh.read(len(HEADER)) == HEADER


def snapshot_copy(
    src: sqlite3.Connection,
    dst_path: Path,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> None:
    """Copy ``src`` as of one moment into a new database file at ``dst_path``."""
    dst = sqlite3.connect(dst_path, isolation_level=None)
    try:
        src.execute("BEGIN")
        try:
            # BEGIN alone takes no snapshot; the first read does.
            src.execute("SELECT count(*) FROM sqlite_master").fetchone()

            def step(status: int, remaining: int, total: int) -> None:
                if progress is not None:
                    progress(total - remaining, total)

            src.backup(dst, pages=STEP_PAGES, progress=step)
        finally:
            src.execute("ROLLBACK")
        # One self-contained file: the copy does not keep the live file's WAL mode.
        dst.execute("PRAGMA journal_mode=DELETE").fetchone()
    finally:
        dst.close()


def integrity(conn: sqlite3.Connection) -> str:
    """The verdict of integrity_check: "ok", or SQLite's first complaints."""
    rows = conn.execute("PRAGMA integrity_check(5)").fetchall()
    return "; ".join(str(r[0]) for r in rows)


def tables(conn: sqlite3.Connection) -> set[str]:
    rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    return {str(r[0]) for r in rows}


def row_counts(conn: sqlite3.Connection, names: dict[str, str]) -> dict[str, int]:
    """Rows per table, by label; tables missing from the file are left out."""
    have = tables(conn)
    return {
        label: int(conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0])
        for label, table in names.items()
        if table in have
    }


def fsync_path(path: Path) -> None:
    """Flush a file or a directory entry to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
