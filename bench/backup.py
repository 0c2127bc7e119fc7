"""``manage.py backup`` over a million archived bans while a writer commits.

- Ours: ``bangui.backup.services.backup_create``, as the command runs it: one
  snapshot in 4 MiB steps, ``integrity_check`` of the copy, the counts, the
  rename. A writer thread on a connection of its own commits one archived ban
  every 10 ms all the while, as the history sync and the pages do.
  Goal: the whole backup ≤ 60 s.
- Baseline for the backup: ``cp`` of the database file (a plain file copy, which
  is not consistent while the writer writes, so only a floor for the I/O).
- Writer: its commit latency during the backup (ours) against the same writer
  with no backup running (baseline). Goal: p95 ≤ 50 ms, i.e. the backup never
  holds it up; the WAL lets it append while the copy reads its snapshot.
- Restore: ``manage.py restore`` of that backup into a fresh data dir, in a
  process of its own as an operator runs it (checks, copy in, migrate), against
  ``cp`` of the backup file. Goal: ≤ 120 s.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from .core import BenchContext, Row, Stats, fmt_seconds
from .django_env import django_env
from .history import ARCHIVE_BANS, _empty_archive, fill_archive

WRITE_EVERY = 0.010
QUIET_SECONDS = 5.0
BACKUP_GOAL = 60.0
RESTORE_GOAL = 120.0
ROOT = Path(__file__).resolve().parent.parent
WRITER_P95_GOAL = 0.050


class Writer(threading.Thread):
    """Commits one archived ban every WRITE_EVERY seconds and times each commit."""

    def __init__(self, db: Path) -> None:
        super().__init__(daemon=True)
        self.db = db
        self.stop = threading.Event()
        self.samples: list[float] = []

    def run(self) -> None:
        conn = sqlite3.connect(self.db, isolation_level=None, timeout=20)
        n = 0
        while not self.stop.is_set():
            n += 1
            started = time.perf_counter()
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(
                "INSERT INTO jails_banrecord (ip, jail, banned_at, bantime, bancount, failures,"
                " matches, origin, country_code, unbanned_by, synced_at) VALUES"
                " (?, 'bench-writer', datetime('now'), 600, 1, 1, '', 'detected', '', '',"
                " datetime('now'))",
                (f"203.0.{n // 250 % 250}.{n % 250 + 1}-{n}",),
            )
            conn.execute("COMMIT")
            self.samples.append(time.perf_counter() - started)
            time.sleep(WRITE_EVERY)
        conn.close()


def _with_writer(db: Path, work: object) -> tuple[Stats, float]:
    """Run ``work`` (or sleep, when None) with the writer going; its latencies and the time."""
    writer = Writer(db)
    writer.start()
    time.sleep(0.5)  # the writer at its pace first
    writer.samples.clear()
    started = time.perf_counter()
    if callable(work):
        work()
    else:
        time.sleep(QUIET_SECONDS)
    took = time.perf_counter() - started
    writer.stop.set()
    writer.join()
    return Stats(tuple(writer.samples)), took


def _restore(backup: Path, work: Path) -> tuple[float, float]:
    """``manage.py restore`` into a fresh data dir, and ``cp`` of the backup; seconds each."""
    fresh = work / "restored"
    fresh.mkdir(mode=0o700)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BANGUI_", "DJANGO_"))}
    env.update(BANGUI_DATA_DIR=str(fresh), DJANGO_SETTINGS_MODULE="bangui.settings")
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "manage.py", "restore", str(backup)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    took = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"manage.py restore failed: {done.stderr}")
    started = time.perf_counter()
    shutil.copyfile(backup, work / "plain-restore.sqlite3")
    return took, time.perf_counter() - started


def run(ctx: BenchContext) -> list[Row]:
    env = django_env(ctx)
    from django.db import connection

    from bangui.backup.services import backup_create
    from jails.models import BanRecord

    if BanRecord.objects.count() < ARCHIVE_BANS:  # the history benchmark may have made it
        _empty_archive(keep_state=True)
        fill_archive(ARCHIVE_BANS)
    connection.close()
    db = Path(env.data_dir) / "bangui.sqlite3"
    size = db.stat().st_size
    work = Path(tempfile.mkdtemp(prefix="bangui-bench-backup-"))
    ctx.add_cleanup(lambda: shutil.rmtree(work, ignore_errors=True))

    quiet, _ = _with_writer(db, None)
    result: list[object] = []
    during, backup_s = _with_writer(
        db, lambda: result.append(backup_create(str(work / "backup.sqlite3")))
    )
    started = time.perf_counter()
    shutil.copyfile(db, work / "plain-copy.sqlite3")
    copy_s = time.perf_counter() - started
    (made,) = result
    copied = made.copy_seconds  # type: ignore[attr-defined]
    (work / "plain-copy.sqlite3").unlink()
    restore_s, restore_cp_s = _restore(work / "backup.sqlite3", work)
    ctx.notes.append(
        f"backup: {size / 2**20:.0f} MiB database, {BanRecord.objects.count():,} archived bans;"
        f" the snapshot copy took {copied:.1f} s of the {backup_s:.1f} s (the rest:"
        f" integrity_check, counts, fsync); {len(during.samples)} writer commits during the"
        " backup, the slowest"
        f" {fmt_seconds(max(during.samples))} (with none: {fmt_seconds(max(quiet.samples))})"
    )
    return [
        Row(
            f"backup of {ARCHIVE_BANS:,} archived bans ({size / 2**20:.0f} MiB), writer at work",
            fmt_seconds(backup_s),
            f"{fmt_seconds(copy_s)} (cp, not consistent)",
            ratio=copy_s / backup_s,
            goal=f"≤ {BACKUP_GOAL:.0f} s",
            goal_met=backup_s <= BACKUP_GOAL and made is not None,
        ),
        Row(
            "writer commit while the backup runs vs with none",
            during.summary(),
            quiet.summary(),
            ratio=quiet.p95 / during.p95,
            goal=f"p95 ≤ {WRITER_P95_GOAL * 1000:.0f} ms",
            goal_met=during.p95 <= WRITER_P95_GOAL,
        ),
        Row(
            "restore of that backup into a fresh data dir (manage.py restore)",
            fmt_seconds(restore_s),
            f"{fmt_seconds(restore_cp_s)} (cp of the backup)",
            ratio=restore_cp_s / restore_s,
            goal=f"≤ {RESTORE_GOAL:.0f} s",
            goal_met=restore_s <= RESTORE_GOAL,
        ),
    ]
