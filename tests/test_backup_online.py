"""A backup made while the history sync and a blocklist import write, restored elsewhere.

Everything is real and in processes of its own, as in production: fail2ban
bans addresses all along, a history sync loop copies them into the archive,
``manage.py import_blocklist`` downloads a list from an HTTP server on
127.0.0.1 and writes its progress, and ``manage.py backup`` runs in the
middle of it. The backup is restored into a fresh data dir with
``manage.py restore``; every row committed before the backup started must be
there, and a gunicorn on the restored data dir must serve the history page to
a session made before the backup.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection

from bangui.demo.lab import Fail2banLab
from bangui.tests.test_startup_guard import _free_port, _gunicorn, _stop, _wait_live
from blocklists.models import BlocklistSource, ImportRun
from blocklists.tests.httpserver import LocalServer, respond, stream
from jails.models import AuditEvent, BanRecord

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "correct-horse-battery-9"

SYNC_LOOP = """
import os, sys, time
import django
django.setup()
from bangui.fail2ban.configured import get_client
from jails.history.services import history_sync
while not os.path.exists(sys.argv[1]):
    result = history_sync(client=get_client())
    print(f"{time.time():.3f} ok={result.ok} added={result.added} {result.error}", flush=True)
    time.sleep(0.05)
"""


def _env(data_dir: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BANGUI_", "DJANGO_"))}
    env.update(BANGUI_DATA_DIR=data_dir, DJANGO_SETTINGS_MODULE="bangui.settings", **extra)
    return env


def _live_env() -> dict[str, str]:
    """The environment of a process on the test's own database."""
    return _env(
        str(settings.DATA_DIR),
        BANGUI_DB_NAME=str(connection.settings_dict["NAME"]),
        BANGUI_BLOCKLIST_ALLOW_HOSTS="127.0.0.1",
    )


def _manage(
    env: dict[str, str], *args: str, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def _wait(predicate, seconds: float = 60.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out")


class Banner(threading.Thread):
    """Bans a few new addresses in fail2ban every 50 ms until stopped."""

    def __init__(self, lab: Fail2banLab) -> None:
        super().__init__(daemon=True)
        self.lab = lab
        self.stop = threading.Event()
        self.banned = 0

    def run(self) -> None:
        client = self.lab.client()
        while not self.stop.is_set():
            n = self.banned
            ips = [f"10.{20 + (n + i) // 62500}.{(n + i) // 250 % 250}.{(n + i) % 250 + 1}"
                   for i in range(20)]  # fmt: skip
            client.ban("alpha", ips)
            self.banned += len(ips)
            time.sleep(0.05)


def _slow_list(ips: list[str], pieces: int, pause: float) -> tuple[callable, int]:  # type: ignore[valid-type]
    body = ("\n".join(ips) + "\n").encode()
    size = len(body) // pieces + 1

    def gen() -> Iterator[bytes]:
        for start in range(0, len(body), size):
            yield body[start : start + size]
            time.sleep(pause)

    return gen, len(body)


def _seed_archive(count: int) -> None:
    """An archive of some size, so that the backup takes several steps."""
    start = datetime.now(UTC) - timedelta(days=30)
    BanRecord.objects.bulk_create(
        BanRecord(
            ip=f"198.18.{n // 250 % 250}.{n % 250 + 1}", jail="sshd",
            banned_at=start + timedelta(seconds=n), bantime=600,
            matches=f"Failed password for root from 198.18.{n // 250 % 250}.{n % 250 + 1}",
        )
        for n in range(count)
    )  # fmt: skip


def _committed() -> dict[str, set[tuple[object, ...]]]:
    """The rows committed now, as the test's own connection sees them."""
    return {
        "auth_user": set(User.objects.values_list("id", "username", "password")),
        "jails_auditevent": set(AuditEvent.objects.values_list("id", "action", "target")),
        "jails_banrecord": set(BanRecord.objects.values_list("id", "ip", "jail")),
        "blocklists_importrun": set(ImportRun.objects.values_list("id", "url")),
    }


COLUMNS = {
    "auth_user": "id, username, password",
    "jails_auditevent": "id, action, target",
    "jails_banrecord": "id, ip, jail",
    "blocklists_importrun": "id, url",
}


def _rows_in(path: Path) -> dict[str, set[tuple[object, ...]]]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        return {t: set(conn.execute(f"SELECT {c} FROM {t}").fetchall()) for t, c in COLUMNS.items()}
    finally:
        conn.close()


@pytest.fixture
def fresh_dir() -> Iterator[str]:
    path = tempfile.mkdtemp(prefix="bangui-restored-")
    yield path
    subprocess.run(["rm", "-rf", path], check=False)


@pytest.mark.django_db(transaction=True)
def test_a_backup_during_a_sync_and_an_import_restores_every_committed_row(
    f2b_private: Fail2banLab, tmp_path: Path, fresh_dir: str, client
) -> None:  # type: ignore[no-untyped-def]
    from bangui.setup.services import setup_complete

    admin = setup_complete(
        password=PASSWORD,
        fail2ban_socket=f2b_private.socket_path,
        fail2ban_config_dir=str(f2b_private.conf_dir),
        timezone_name="UTC",
        session_minutes=480,
    )
    for name in ("alice", "bob", "carol"):
        User.objects.create_user(name, password=PASSWORD)
    client.force_login(admin)  # a session made before the backup
    session_key = client.cookies[settings.SESSION_COOKIE_NAME].value
    for ip in ("203.0.113.50", "203.0.113.51"):  # bans by hand: audit rows
        assert client.post("/bans/new/", {"ips": ip, "jail": "beta"}).status_code < 400
    _seed_archive(40_000)
    env = _live_env()
    stop_file = tmp_path / "stop"
    backup = tmp_path / "backups" / "bangui.sqlite3"
    backup.parent.mkdir(mode=0o700)
    listed = [f"1.4.{n // 250}.{n % 250 + 1}" for n in range(20_000)]
    banner = Banner(f2b_private)
    sync = importer = None
    with LocalServer() as server:
        server.route("/small.txt", respond("1.5.0.10\n1.5.0.11\n"))
        gen, length = _slow_list(listed, pieces=50, pause=0.2)  # a 10 s download
        server.route("/big.txt", stream(gen, length=length))
        BlocklistSource.objects.create(name="small", url=server.url("/small.txt"))
        BlocklistSource.objects.create(name="big", url=server.url("/big.txt"))
        # An import that finished before the backup: its run and audit rows must be kept.
        done = _manage(env, "import_blocklist", "--source", "small")
        assert done.returncode == 0, done.stderr
        try:
            banner.start()
            sync = subprocess.Popen(
                [sys.executable, "-c", SYNC_LOOP, str(stop_file)],
                cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            )  # fmt: skip
            _wait(lambda: BanRecord.objects.filter(jail="alpha").count() >= 40)
            importer = subprocess.Popen(
                [sys.executable, "manage.py", "import_blocklist", "--source", "big"],
                cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            )  # fmt: skip
            _wait(lambda: ImportRun.objects.filter(source_name="big", phase="download", done__gt=0))

            before = _committed()
            archived_before = len(before["jails_banrecord"])
            made = _manage(env, "backup", str(backup))
            assert made.returncode == 0, made.stdout + made.stderr
            # Both writers were at work all through the backup, and kept adding rows.
            assert importer.poll() is None, "the import ended before the backup did"
            assert sync.poll() is None
            assert BanRecord.objects.count() > archived_before
        finally:
            stop_file.touch()
            banner.stop.set()
            banner.join(10)
            if sync is not None:
                sync_out = sync.communicate(timeout=60)[0]
            if importer is not None:
                import_out = importer.communicate(timeout=120)[0]
    assert "Backup written to" in made.stdout and "archived bans" in made.stdout
    assert "secret key" in made.stdout and "is inside the backup" in made.stdout
    # No sync run failed or waited out a lock while the backup read the database.
    runs = [line for line in sync_out.splitlines() if " ok=" in line]
    assert runs and all(" ok=True " in line for line in runs), sync_out[-2000:]
    assert importer.returncode == 0, import_out[-2000:]
    big = ImportRun.objects.get(source_name="big")
    assert big.status == ImportRun.Status.OK and big.newly_banned == len(listed)

    restored = _manage(_env(fresh_dir), "restore", str(backup))
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert "Restored into" in restored.stdout
    assert "The secret key was restored" in restored.stdout

    db = Path(fresh_dir) / "bangui.sqlite3"
    copy, now = _rows_in(db), _rows_in(backup)
    assert len(before["jails_auditevent"]) >= 3  # setup and the two bans
    for table, rows in before.items():
        missing = rows - copy[table]
        assert not missing, f"{table}: {len(missing)} committed rows missing, e.g. {min(missing)}"
        assert copy[table] == now[table]
    assert len(copy["blocklists_importrun"]) >= 2

    checked = _manage(_env(fresh_dir), "check")
    assert checked.returncode == 0, checked.stderr
    _serves_the_archive(fresh_dir, session_key, ip="198.18.0.1")


def _serves_the_archive(data_dir: str, session_key: str, ip: str) -> None:
    """gunicorn on the restored data dir shows the archive to a session from before."""
    static = _manage(
        _env(data_dir, BANGUI_STATIC_ROOT=os.path.join(data_dir, "static")),
        "collectstatic", "--noinput", "-v0",
    )  # fmt: skip
    assert static.returncode == 0, static.stderr
    port = _free_port()
    web = _gunicorn(data_dir, port, BANGUI_SECURE_COOKIES="false")
    try:
        _wait_live(port, web)
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/history/ip/{ip}/",
            headers={"Cookie": f"{settings.SESSION_COOKIE_NAME}={session_key}"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 200
            assert response.url.endswith(f"/history/ip/{ip}/"), "sent to the login page"
            assert ip in response.read().decode()
    finally:
        _stop(web)
