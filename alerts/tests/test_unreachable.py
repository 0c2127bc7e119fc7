"""fail2ban stopped for real: one "unreachable" after the threshold, one "back" after."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from alerts.evaluate import alerts_evaluate
from alerts.tests.helpers import rule, webhook
from bangui import tasks


def test_a_stopped_fail2ban_gives_one_alert_after_the_threshold_and_one_when_back(
    configured, f2b, hooks
) -> None:  # type: ignore[no-untyped-def]
    rule("unreachable", [webhook(hooks)], threshold=120, quiet_minutes=60)
    assert tasks.health_check() == "online"
    alerts_evaluate()
    f2b.stop()
    try:
        assert tasks.health_check().startswith("offline")
        now = timezone.now()
        alerts_evaluate(now + timedelta(seconds=60))  # below the threshold
        assert hooks.received == []
        for minutes in (3, 4, 5, 30):  # the job runs every minute; one message
            alerts_evaluate(now + timedelta(minutes=minutes))
        [down] = [r.json() for r in hooks.received]
        assert down["event"] == "unreachable"
        assert down["subject"] == "fail2ban is unreachable"
        assert "has not answered since" in down["text"]
    finally:
        f2b.start()
    assert tasks.health_check() == "online"
    # Back within the quiet period of the "down" message: still sent.
    alerts_evaluate(timezone.now() + timedelta(minutes=31))
    alerts_evaluate(timezone.now() + timedelta(minutes=32))
    subjects = [r.json()["subject"] for r in hooks.received]
    assert subjects == ["fail2ban is unreachable", "fail2ban is back"]
    assert "answers again after" in hooks.received[1].json()["text"]


def test_a_short_outage_below_the_threshold_says_nothing(configured, f2b, hooks) -> None:  # type: ignore[no-untyped-def]
    rule("unreachable", [webhook(hooks)], threshold=300)
    f2b.stop()
    try:
        tasks.health_check()
        alerts_evaluate(timezone.now() + timedelta(seconds=100))
    finally:
        f2b.start()
    tasks.health_check()
    alerts_evaluate(timezone.now() + timedelta(seconds=200))
    assert hooks.received == []
