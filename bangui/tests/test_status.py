"""fail2ban being down is a normal state: pages render, say so, and recover."""

from __future__ import annotations

import contextlib
import json
import os
import signal
from datetime import timedelta

import pytest
from django.utils import timezone

from bangui import tasks
from bangui.locks import lock_acquire
from bangui.models import ServerStatus
from bangui.status import BUSY_GRACE, status_busy, status_busy_end

PAGES = [
    "/", "/jails/", "/map/", "/history/", "/blocklists/", "/status/bar/",
    "/config/jails/", "/config/filters/", "/config/actions/", "/config/files/",
    "/config/regex/", "/config/log/", "/config/server/",
]  # fmt: skip


@pytest.mark.parametrize("url", PAGES)
def test_every_page_renders_while_fail2ban_is_online(admin_client, url):
    response = admin_client.get(url)
    assert response.status_code == 200
    assert "online" in response.content.decode()


def test_every_page_says_fail2ban_is_unreachable_when_it_is_stopped(admin_client, f2b):
    f2b.stop()
    tasks.health_check()
    for url in PAGES:
        response = admin_client.get(url)
        assert response.status_code == 200, url
        assert "fail2ban unreachable" in response.content.decode(), url


def test_status_recovers_after_a_restart_within_one_health_run(admin_client, f2b):
    f2b.stop()
    assert tasks.health_check().startswith("offline")
    assert "fail2ban unreachable" in admin_client.get("/status/bar/").content.decode()
    f2b.start()
    # One run of the health job, as the scheduler does every 30 s; BanGUI is not restarted.
    assert tasks.health_check() == "online"
    body = admin_client.get("/status/bar/").content.decode()
    assert "fail2ban 1.0.2 online" in body


def test_the_health_job_stores_counts_and_when_the_state_changed(configured, f2b, caplog):
    f2b.client().ban("alpha", ["192.0.2.50", "192.0.2.51"])
    tasks.health_check()
    row = ServerStatus.objects.get()
    assert row.online and row.jail_count == 3 and row.currently_banned == 2
    first_change = row.changed_at
    tasks.health_check()
    assert ServerStatus.objects.get().changed_at == first_change
    f2b.stop()
    with caplog.at_level("WARNING", logger="bangui.health"):
        tasks.health_check()
    row = ServerStatus.objects.get()
    assert not row.online and row.changed_at > first_change
    assert "fail2ban is offline" in caplog.text


def test_a_stale_snapshot_is_replaced_by_a_live_check(admin_client, f2b):
    tasks.health_check()
    ServerStatus.objects.update(checked_at=timezone.now() - timedelta(minutes=10))
    body = admin_client.get("/status/bar/").content.decode()
    assert "live, scheduler not running" in body
    assert "online" in body


def test_the_status_bar_polls_with_htmx(admin_client):
    body = admin_client.get("/").content.decode()
    assert 'hx-get="/status/bar/"' in body
    assert "every 10s" in body


def test_ready_is_503_when_fail2ban_is_offline(admin_client, f2b):
    assert admin_client.get("/health/ready").status_code == 200
    f2b.stop()
    response = admin_client.get("/health/ready")
    assert response.status_code == 503
    data = json.loads(response.content)
    assert data["status"] == "unavailable"
    assert data["checks"]["fail2ban"]["ok"] is False
    assert data["checks"]["database"]["ok"] is True


def test_ready_tells_strangers_status_words_only(client, configured, f2b):
    f2b.stop()
    response = client.get("/health/ready")
    assert response.status_code == 503
    data = json.loads(response.content)
    assert data == {
        "status": "unavailable",
        "checks": {"database": "ok", "fail2ban": "failing", "scheduler": "failing"},
    }
    assert f2b.socket_path not in response.content.decode()


def test_ready_reports_the_scheduler_heartbeat(admin_client):
    data = json.loads(admin_client.get("/health/ready").content)
    assert data["status"] == "degraded" and data["checks"]["scheduler"]["ok"] is False
    lock_acquire("scheduler")
    data = json.loads(admin_client.get("/health/ready").content)
    assert data["status"] == "ok"


def test_live_needs_no_login_and_no_database(client):
    response = client.get("/health/live")
    assert response.status_code == 200
    assert json.loads(response.content) == {"status": "ok"}


def test_pages_carry_a_strict_content_security_policy(admin_client):
    csp = admin_client.get("/")["Content-Security-Policy"]
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp


def test_the_admin_lists_bangui_records(admin_client):
    tasks.health_check()
    for url in [
        "/admin/bangui/appsettings/",
        "/admin/bangui/serverstatus/",
        "/admin/bangui/instancelock/",
        "/admin/django_q/schedule/",
    ]:
        assert admin_client.get(url).status_code == 200, url


def test_health_answers_whatever_the_host_header(client, settings):
    settings.ALLOWED_HOSTS = ["bangui.example.com"]
    assert client.get("/health/live", HTTP_HOST="10.0.0.5:8000").status_code == 200
    assert client.get("/", HTTP_HOST="10.0.0.5:8000").status_code == 400


@contextlib.contextmanager
def _paused(lab):  # type: ignore[no-untyped-def]
    """fail2ban alive but not answering (SIGSTOP): its socket takes connections, no reply."""
    os.kill(lab.proc.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(lab.proc.pid, signal.SIGCONT)


def test_a_fail2ban_that_answers_slowly_is_busy_not_offline(admin_client, f2b, caplog):
    f2b.client().ban("alpha", ["192.0.2.60", "192.0.2.61"])
    assert tasks.health_check() == "online"
    with _paused(f2b), caplog.at_level("WARNING", logger="bangui.health"):
        assert tasks.health_check() == "online"
        row = ServerStatus.objects.get()
        assert row.online and row.busy and row.currently_banned == 2  # the last counts stay
        body = admin_client.get("/status/bar/").content.decode()
        assert "fail2ban busy" in body and "unreachable" not in body
        ready = admin_client.get("/health/ready")
        assert ready.status_code == 200
        assert ready.json()["checks"]["fail2ban"]["busy"] is True
    assert "fail2ban is offline" not in caplog.text and "fail2ban is busy" in caplog.text
    assert tasks.health_check() == "online"
    assert not ServerStatus.objects.get().busy


def test_a_fail2ban_silent_for_longer_than_the_grace_is_offline(admin_client, f2b):
    assert tasks.health_check() == "online"
    ServerStatus.objects.update(answered_at=timezone.now() - BUSY_GRACE - timedelta(seconds=1))
    with _paused(f2b):
        assert tasks.health_check().startswith("offline")
        assert admin_client.get("/health/ready").status_code == 503
    assert "no answer since" in ServerStatus.objects.get().last_error


def test_while_banguis_own_import_keeps_it_busy_it_stays_busy_and_says_why(admin_client, f2b):
    assert tasks.health_check() == "online"
    ServerStatus.objects.update(answered_at=timezone.now() - timedelta(minutes=10))
    status_busy("BanGUI is importing “big list”", seconds=60)
    with _paused(f2b):
        assert tasks.health_check() == "online"
        body = admin_client.get("/status/bar/").content.decode()
    assert "fail2ban busy" in body and "BanGUI is importing “big list”" in body
    status_busy_end()
    assert tasks.health_check() == "online"
