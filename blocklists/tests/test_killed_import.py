"""An import process killed while fail2ban works through a batch: found dead, counted right.

The import runs as ``manage.py import_blocklist`` in a process of its own, as
in the job cluster. fail2ban is paused (SIGSTOP) while a batch is in flight,
so the batch sits in its socket; the import process is killed; fail2ban goes
on and takes the batch. The run must be reaped once its heartbeat is stale
(no two minutes of "Running"), and its counts must be what fail2ban holds.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from bangui.demo.lab import Fail2banLab
from blocklists import services
from blocklists.jail import BASE_JAIL
from blocklists.models import BlocklistSource, ImportRun
from blocklists.services import runs_reap
from blocklists.tests.httpserver import LocalServer, respond

ROOT = Path(__file__).resolve().parents[2]
LIST = [f"1.3.{n // 250}.{n % 250 + 1}" for n in range(3000)]


def _wait(predicate, seconds: float = 30.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError("timed out")


@pytest.mark.django_db(transaction=True)
def test_a_killed_import_is_reaped_with_the_bans_fail2ban_holds(f2b_private: Fail2banLab) -> None:
    from bangui.setup.services import setup_complete

    setup_complete(
        password="correct-horse-battery-9",
        fail2ban_socket=f2b_private.socket_path,
        fail2ban_config_dir=str(f2b_private.conf_dir),
        timezone_name="UTC",
        session_minutes=60,
    )
    with LocalServer() as server:
        server.route("/big.txt", respond("\n".join(LIST)))
        BlocklistSource.objects.create(name="big", url=server.url("/big.txt"))
        env = {
            **os.environ,
            "BANGUI_DATA_DIR": str(settings.DATA_DIR),
            "BANGUI_DB_NAME": str(connection.settings_dict["NAME"]),
            "BANGUI_BLOCKLIST_ALLOW_HOSTS": "127.0.0.1",  # the list server above
        }
        proc = subprocess.Popen(
            [sys.executable, "manage.py", "import_blocklist", "--source", "big"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        server_pid = f2b_private.proc.pid  # type: ignore[union-attr]
        stopped = False
        try:
            # The first batch on its way: pause fail2ban so one batch stays in flight.
            run = _wait(
                lambda: ImportRun.objects.filter(status="running").exclude(in_flight=[]).first()
            )
            os.kill(server_pid, signal.SIGSTOP)
            stopped = True
            time.sleep(0.5)
            run.refresh_from_db()
            assert run.in_flight, "the batch in flight is recorded before it is sent"
            proc.kill()
            proc.wait(10)
        finally:
            if stopped:
                os.kill(server_pid, signal.SIGCONT)
            if proc.poll() is None:
                proc.kill()
    run.refresh_from_db()
    assert run.status == ImportRun.Status.RUNNING  # nobody has noticed yet
    # The batch in flight reaches fail2ban after all, once it runs again.
    expected = run.newly_banned + len(run.in_flight)
    _wait(lambda: len(f2b_private.client().banned_ips(BASE_JAIL)) == expected, 10)
    # Still beating? No: the heartbeat died with the process.
    assert runs_reap(now=timezone.now()) == 0
    stale = run.heartbeat_at + timedelta(seconds=services.STALE_SECONDS + 1)
    assert stale - run.heartbeat_at <= timedelta(seconds=30)
    assert runs_reap(now=stale) == 1
    run.refresh_from_db()
    assert run.status == ImportRun.Status.INTERRUPTED
    assert run.in_flight == []
    assert run.newly_banned == expected, (run.newly_banned, expected, run.error)
    assert "fail2ban holds" in run.error and "counted as banned" in run.error
