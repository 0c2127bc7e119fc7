"""When sources are imported: local times, DST, and the every-minute job."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime, time

import pytest

from blocklists.models import BlocklistSource, ImportRun
from blocklists.scheduling import due_sources, next_run_at

pytestmark = pytest.mark.django_db

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")


def _source(schedule: str, at: time, weekday: int = 0, enabled: bool = True) -> BlocklistSource:
    return BlocklistSource(name="s", url="https://example.org/s.txt", schedule=schedule,
                           run_at=at, weekday=weekday, enabled=enabled)  # fmt: skip


def test_hourly_runs_at_the_minute_of_the_time() -> None:
    after = datetime(2026, 6, 1, 10, 20, tzinfo=UTC)
    assert next_run_at(_source("hourly", time(3, 17)), after=after, zone=UTC) == datetime(
        2026, 6, 1, 11, 17, tzinfo=UTC
    )
    assert next_run_at(_source("hourly", time(3, 25)), after=after, zone=UTC) == datetime(
        2026, 6, 1, 10, 25, tzinfo=UTC
    )


def test_daily_runs_at_the_local_time_across_a_dst_change() -> None:
    # Sunday 2026-03-29: Berlin goes from +01:00 to +02:00 at 02:00.
    before = datetime(2026, 3, 27, 12, 0, tzinfo=UTC)
    first = next_run_at(_source("daily", time(3, 17)), after=before, zone=BERLIN)
    second = next_run_at(_source("daily", time(3, 17)), after=first, zone=BERLIN)  # type: ignore[arg-type]
    assert first is not None and second is not None
    assert first.astimezone(BERLIN).hour == 3 and second.astimezone(BERLIN).hour == 3
    assert (second - first).total_seconds() == 23 * 3600


def test_weekly_runs_on_its_day() -> None:
    wednesday = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    monday = next_run_at(_source("weekly", time(4, 0), weekday=0), after=wednesday, zone=UTC)
    assert monday == datetime(2026, 11, 30, 4, 0, tzinfo=UTC)
    today_later = next_run_at(_source("weekly", time(13, 0), weekday=2), after=wednesday, zone=UTC)
    assert today_later == datetime(2026, 11, 25, 13, 0, tzinfo=UTC)


def test_manual_and_disabled_sources_never_run_by_themselves() -> None:
    now = datetime(2026, 11, 25, tzinfo=UTC)
    assert next_run_at(_source("manual", time(3, 0)), after=now) is None
    assert next_run_at(_source("daily", time(3, 0), enabled=False), after=now) is None


def test_due_sources_skips_those_already_importing() -> None:
    now = datetime(2026, 11, 25, 12, tzinfo=UTC)
    due = BlocklistSource.objects.create(name="a", url="https://e.org/a", next_run_at=now)
    busy = BlocklistSource.objects.create(name="b", url="https://e.org/b", next_run_at=now)
    BlocklistSource.objects.create(
        name="c", url="https://e.org/c", next_run_at=now.replace(hour=13)
    )
    ImportRun.objects.create(source=busy, url=busy.url, status=ImportRun.Status.RUNNING)
    assert due_sources(now=now) == [due]


def test_the_minute_job_imports_due_sources_and_reschedules_them(  # type: ignore[no-untyped-def]
    config_admin_client, f2b_private, http_server, monkeypatch
) -> None:
    from django_q.conf import Conf

    from blocklists.tasks import blocklist_import_due
    from blocklists.tests.httpserver import respond

    # The minute job only queues; the import is a task of its own, run inline here.
    monkeypatch.setattr(Conf, "SYNC", True)
    http_server.route("/due.txt", respond("1.2.3.4\n"))
    source = BlocklistSource.objects.create(
        name="due", url=http_server.url("/due.txt"), next_run_at=datetime(2020, 1, 1, tzinfo=UTC)
    )
    assert blocklist_import_due() == "queued due"
    assert ImportRun.objects.get().status == ImportRun.Status.OK
    source.refresh_from_db()
    assert source.next_run_at is not None and source.next_run_at > datetime.now(UTC)
    assert ImportRun.objects.get().trigger == ImportRun.Trigger.SCHEDULE
    assert "1.2.3.4" in f2b_private.client().banned_ips("blocklist-import")
    assert blocklist_import_due() == "no source due"
