"""Advisory instance locks in the database.

One web instance and one job scheduler may run per database: process-local
state (login throttling, caches) and scheduled jobs must not be duplicated.
The holder renews its row every ``HEARTBEAT`` seconds; a row past its expiry,
or one whose process is gone from this host, is taken over. On PostgreSQL a
session-level advisory lock on a dedicated connection backs the row up.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import uuid
import zlib
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.db import IntegrityError, connections, transaction
from django.utils import timezone

from bangui.models import InstanceLock

log = logging.getLogger("bangui.locks")

TTL = 30
HEARTBEAT = 10


class LockHeld(Exception):
    """Another live process holds the lock."""

    def __init__(self, lock: InstanceLock | None, name: str) -> None:
        self.lock = lock
        self.name = name
        if lock is None:
            holder = "another process (PostgreSQL advisory lock)"
        else:
            age = int((timezone.now() - lock.heartbeat_at).total_seconds())
            holder = f"{lock.hostname} pid {lock.pid} (last heartbeat {age} s ago)"
        super().__init__(f"the {name} lock is held by {holder}")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A killed process that nobody has reaped yet (a zombie) still answers kill(0).
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def lock_stale(row: InstanceLock, now: Any) -> bool:
    """The row's holder is gone: past its expiry, or a dead process on this host."""
    if row.expires_at <= now:
        return True
    # A holder on this host whose process has died (kill -9) need not be waited for.
    return row.hostname == socket.gethostname() and not _pid_alive(row.pid)


def lock_acquire(name: str, *, ttl: int = TTL) -> str:
    """Take the named lock for this process; returns the owner token or raises LockHeld."""
    owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    now = timezone.now()
    fields = {
        "owner": owner,
        "hostname": socket.gethostname(),
        "pid": os.getpid(),
        "acquired_at": now,
        "heartbeat_at": now,
        "expires_at": now + timedelta(seconds=ttl),
    }
    with transaction.atomic():
        row = InstanceLock.objects.filter(name=name).first()
        if row is not None:
            if not lock_stale(row, now):
                raise LockHeld(row, name)
            # Conditional update: if someone else took it over first, we lose.
            if not InstanceLock.objects.filter(name=name, owner=row.owner).update(**fields):
                raise LockHeld(InstanceLock.objects.filter(name=name).first(), name)
            log.warning("took over stale %s lock from %s:%s", name, row.hostname, row.pid)
        else:
            try:
                with transaction.atomic():
                    InstanceLock.objects.create(name=name, **fields)
            except IntegrityError:
                raise LockHeld(InstanceLock.objects.filter(name=name).first(), name) from None
    return owner


def lock_renew(name: str, owner: str, *, ttl: int = TTL) -> bool:
    now = timezone.now()
    updated = InstanceLock.objects.filter(name=name, owner=owner).update(
        heartbeat_at=now, expires_at=now + timedelta(seconds=ttl)
    )
    return bool(updated)


def lock_release(name: str, owner: str) -> None:
    InstanceLock.objects.filter(name=name, owner=owner).delete()


class _PgAdvisoryLock:
    """A session-level pg advisory lock, held on a connection of its own."""

    def __init__(self, name: str) -> None:
        self.key = zlib.crc32(f"bangui:{name}".encode())
        self.conn = connections.create_connection("default")

    def acquire(self) -> bool:
        with self.conn.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [self.key])
            return bool(cursor.fetchone()[0])

    def close(self) -> None:
        self.conn.close()


class LockKeeper:
    """Holds a lock for the life of the process: heartbeat thread and release at exit."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.owner = ""
        self._stop = threading.Event()
        self._pg: _PgAdvisoryLock | None = None

    def acquire(self) -> None:
        if connections["default"].vendor == "postgresql":
            self._pg = _PgAdvisoryLock(self.name)
            if not self._pg.acquire():
                self._pg.close()
                raise LockHeld(InstanceLock.objects.filter(name=self.name).first(), self.name)
        self.owner = lock_acquire(self.name)
        thread = threading.Thread(target=self._beat, name=f"bangui-lock-{self.name}", daemon=True)
        thread.start()

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT):
            try:
                if not lock_renew(self.name, self.owner):
                    log.critical(
                        "lost the %s lock to another instance; stopping this process", self.name
                    )
                    os.kill(os.getpid(), signal.SIGTERM)
                    return
            except Exception:  # a DB hiccup must not kill the heartbeat
                log.exception("could not renew the %s lock", self.name)
            finally:
                connections.close_all()

    def release(self) -> None:
        self._stop.set()
        try:
            lock_release(self.name, self.owner)
        except Exception:
            log.exception("could not release the %s lock", self.name)
        if self._pg is not None:
            self._pg.close()
