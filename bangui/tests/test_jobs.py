"""The schedule registry, sync_schedules and the jobs through django-q2."""

from __future__ import annotations

import subprocess
from datetime import timedelta
from io import StringIO
from unittest import mock

import pytest
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.utils import timezone
from django_q.conf import Conf
from django_q.models import Schedule, Success
from django_q.tasks import async_task, result

from bangui.models import ServerStatus
from bangui.schedules import JOBS


@pytest.mark.django_db
def test_sync_schedules_creates_every_job_once():
    out = StringIO()
    call_command("sync_schedules", stdout=out)
    names = set(Schedule.objects.values_list("name", flat=True))
    assert names == {
        "health_check",
        "health_check#2",
        "session_cleanup",
        "blocklist_import",
        "history_sync",
        "history_purge",
        "geo_cache_flush",
        "geo_re_resolve",
        "geo_cache_cleanup",
        "alerts_purge",
        "alerts_evaluate",
    }
    # 30 s as two one-minute schedules, half a minute apart.
    first, second = (Schedule.objects.get(name=n) for n in ("health_check", "health_check#2"))
    assert first.minutes == second.minutes == 1
    assert (second.next_run - first.next_run) == timedelta(seconds=30)
    assert Schedule.objects.get(name="session_cleanup").minutes == 360
    call_command("sync_schedules", stdout=out)
    assert Schedule.objects.count() == 11
    assert "updated health_check" in out.getvalue()


@pytest.mark.django_db
def test_sync_schedules_prunes_only_when_asked():
    Schedule.objects.create(name="old_job", func="x.y", schedule_type=Schedule.MINUTES, minutes=5)
    call_command("sync_schedules", stdout=StringIO())
    assert Schedule.objects.filter(name="old_job").exists()
    call_command("sync_schedules", "--prune", stdout=StringIO())
    assert not Schedule.objects.filter(name="old_job").exists()


def test_every_registered_job_is_importable():
    from django.utils.module_loading import import_string

    for job in JOBS:
        assert callable(import_string(job.func))


def test_the_health_job_runs_through_django_q(configured):
    task_id = async_task("bangui.tasks.health_check", sync=True)
    assert result(task_id) == "online"
    assert ServerStatus.objects.get().online


def test_the_scheduler_runs_due_jobs(configured):
    from django_q.scheduler import scheduler

    call_command("sync_schedules", stdout=StringIO())
    Schedule.objects.update(next_run=timezone.now() - timedelta(seconds=1))
    with mock.patch.object(Conf, "SYNC", True):
        scheduler()
    assert Success.objects.filter(func="bangui.tasks.health_check").exists()
    assert Success.objects.filter(func="bangui.tasks.session_cleanup").exists()
    assert ServerStatus.objects.get().online


@pytest.mark.django_db
def test_session_cleanup_deletes_only_expired_sessions():
    from bangui.tasks import session_cleanup

    now = timezone.now()
    Session.objects.create(session_key="old", session_data="x", expire_date=now - timedelta(1))
    Session.objects.create(session_key="new", session_data="x", expire_date=now + timedelta(1))
    assert session_cleanup() == "deleted 1 expired sessions"
    assert list(Session.objects.values_list("session_key", flat=True)) == ["new"]


def test_the_auth_filter_matches_our_log_lines(f2b_lab, tmp_path):
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    log = tmp_path / "auth.log"
    log.write_text(
        '2026-11-25 07:55:36,123 WARNING bangui.auth: login failed from 203.0.113.5 user="admin"\n'
        "2026-11-25 07:55:37,001 WARNING bangui.auth: login refused (throttled) from 2001:db8::5\n"
        '2026-11-25 07:55:38,001 INFO bangui.auth: login ok from 203.0.113.9 user="admin"\n'
        "2026-11-25 07:55:39,001 WARNING bangui.auth: login failed from 203.0.113.6"
        ' user="x from 6.6.6.6"\n'
    )
    out = subprocess.run(
        [
            "fail2ban-regex",
            "-v",
            str(log),
            str(root / "contrib/fail2ban/filter.d/bangui-auth.conf"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    assert "Lines: 4 lines, 0 ignored, 3 matched, 1 missed" in out
    for ip in ("203.0.113.5", "2001:db8::5", "203.0.113.6"):
        assert ip in out
    assert "6.6.6.6" not in out.split("Missed line(s)")[0]
