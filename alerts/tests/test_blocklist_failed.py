"""A blocklist source that keeps failing: one alert per quiet period, the rest in a digest."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from alerts.evaluate import alerts_evaluate
from alerts.models import Notification
from alerts.tests.helpers import rule, webhook
from blocklists.models import BlocklistSource, ImportRun
from blocklists.services import import_run, runs_queue
from blocklists.tests.httpserver import LocalServer, respond
from jails.audit.services import Actor


def _import(source: BlocklistSource) -> ImportRun:
    (run,) = runs_queue([source], actor=Actor.system("test"), trigger="schedule")
    return import_run(run)


def test_a_failing_source_alerts_once_per_quiet_period(config_admin_client, hooks) -> None:  # type: ignore[no-untyped-def]
    watch = rule("blocklist_failed", [webhook(hooks)], quiet_minutes=30)
    with LocalServer() as server:
        # 404: not worth retrying, so the import fails at once (a 500 is retried for a while).
        server.route("/list.txt", respond("gone", status=404))
        source = BlocklistSource.objects.create(
            name="flaky <b>list</b>", url=server.url("/list.txt")
        )
        start = timezone.now()
        for minutes in range(0, 25, 5):  # an import every 5 minutes, each one failing
            assert _import(source).status == ImportRun.Status.FAILED
            alerts_evaluate(start + timedelta(minutes=minutes, seconds=30))
    [first] = [r.json() for r in hooks.received]
    assert first["subject"] == "Blocklist import failed: “flaky <b>list</b>”"
    assert "404" in first["text"]
    assert "/blocklists/runs/" in first["link"]

    # The quiet period is over: one digest with the four failures since.
    alerts_evaluate(start + timedelta(minutes=31))
    alerts_evaluate(start + timedelta(minutes=32))
    assert len(hooks.received) == 2
    digest = hooks.received[1].json()
    assert digest["subject"] == "4 alerts for “blocklist_failed”"
    assert digest["text"].count("Blocklist import failed") == 4
    assert Notification.objects.filter(rule=watch, outcome="sent").count() == 2


def test_a_scheduled_source_without_success_for_two_periods_is_overdue(db, hooks) -> None:  # type: ignore[no-untyped-def]
    rule("blocklist_failed", [webhook(hooks)], quiet_minutes=0)
    source = BlocklistSource.objects.create(
        name="stale", url="https://lists.example/ssh.txt", schedule="hourly"
    )
    ImportRun.objects.create(
        source=source, source_name="stale", url=source.url, status="ok",
        finished_at=timezone.now() - timedelta(minutes=90),
    )  # fmt: skip
    now = timezone.now()
    alerts_evaluate(now)
    assert hooks.received == []  # 90 min: late, not yet twice the hour
    alerts_evaluate(now + timedelta(minutes=40))
    alerts_evaluate(now + timedelta(minutes=50))
    [overdue] = [r.json() for r in hooks.received]
    assert overdue["subject"] == "Blocklist overdue: “stale”"
    assert "last succeeded" in overdue["text"]
