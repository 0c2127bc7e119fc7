"""Audit rows carry the request ID of the request, or task:<id> of the job, that wrote them."""

from __future__ import annotations

import ipaddress
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from django.test import Client
from django_q.tasks import async_task

from bangui.tests.logcapture import capture_console
from bangui.tests.test_jobcluster import db_row, start_qcluster
from conftest import ADMIN_PASSWORD
from jails.models import AuditEvent

ROOT = Path(__file__).resolve().parents[3]
PROBE = "jails.tests.audit.jobprobe.log_and_audit"


def test_a_login_audit_row_has_the_proxys_request_id(configured, settings) -> None:  # type: ignore[no-untyped-def]
    settings.BANGUI_TRUSTED_PROXIES = [ipaddress.ip_network("127.0.0.1/32")]
    client = Client(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.7")
    wrong = client.post("/login/", {"password": "nope"}, HTTP_X_REQUEST_ID="edge-1")
    right = client.post("/login/", {"password": ADMIN_PASSWORD}, HTTP_X_REQUEST_ID="edge-2")
    assert (wrong["X-Request-ID"], right["X-Request-ID"]) == ("edge-1", "edge-2")
    rows = dict(AuditEvent.objects.values_list("action", "request_id"))
    assert rows == {"login_failed": "edge-1", "login": "edge-2"}
    page = client.get("/audit/").content.decode()  # the ID is the tooltip of the row's time
    assert 'title="Request ID edge-1"' in page and 'title="Request ID edge-2"' in page


def test_a_generated_request_id_is_in_the_audit_row_and_the_admin(admin_client) -> None:  # type: ignore[no-untyped-def]
    response = admin_client.post("/logout/")
    row = AuditEvent.objects.get(action="logout")
    assert row.request_id == response["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", row.request_id)
    admin_client.post("/login/", {"password": ADMIN_PASSWORD})
    page = admin_client.get(f"/admin/jails/auditevent/?q={row.request_id}").content.decode()
    assert row.request_id in page  # the column
    assert re.search(r"\b1 result\b", page)  # the exact search finds only that row


@pytest.mark.django_db
def test_a_job_run_in_this_process_carries_its_task_id() -> None:
    with capture_console("json") as log:
        task_id = async_task(PROBE, "192.0.2.1", sync=True)
    row = AuditEvent.objects.get(target="192.0.2.1")
    assert row.request_id == f"task:{task_id}"
    (line,) = [r for r in log.records() if r["message"] == "probe job ran for 192.0.2.1"]
    assert line["request_id"] == f"task:{task_id}"


ENQUEUE = "from django_q.tasks import async_task; print(async_task({func!r}, {arg!r}))"


def _env(data_dir: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BANGUI_", "DJANGO_"))}
    env |= {"BANGUI_DATA_DIR": data_dir, "DJANGO_SETTINGS_MODULE": "bangui.settings"}
    return env | {"BANGUI_LOG_FORMAT": "json"}


def _manage(data_dir: str, *args: str) -> str:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT, env=_env(data_dir), check=True, timeout=120, capture_output=True, text=True,
    ).stdout  # fmt: skip


def _audit_row(data_dir: str, target: str, timeout: float = 60) -> str:
    sql = "SELECT request_id FROM jails_auditevent WHERE target = ?"
    return str(db_row(data_dir, sql, (target,), timeout)[0])


def test_a_job_in_the_real_cluster_logs_and_audits_with_its_task_id(tmp_path: Path) -> None:
    """manage.py qcluster with BANGUI_LOG_FORMAT=json: JSON lines, task:<id> in both."""
    data_dir = tempfile.mkdtemp(prefix="bangui-jobids-")
    _manage(data_dir, "migrate", "--noinput", "-v0")
    log = tmp_path / "qcluster.log"
    proc = start_qcluster(_env(data_dir), log)
    try:
        task_id = _manage(data_dir, "shell", "-c", ENQUEUE.format(func=PROBE, arg="192.0.2.9"))
        task_id = task_id.strip().splitlines()[-1]
        assert _audit_row(data_dir, "192.0.2.9") == f"task:{task_id}"
        deadline = time.monotonic() + 30
        while "probe job ran" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(60)
    lines = log.read_text().splitlines()
    assert [line for line in lines if not line.startswith("{")] == []
    records = [json.loads(line) for line in lines]
    (probe,) = [r for r in records if r["message"] == "probe job ran for 192.0.2.9"]
    assert probe["request_id"] == f"task:{task_id}"
    assert any("Q Cluster" in r["message"] for r in records)  # django-q2's lines: JSON too
