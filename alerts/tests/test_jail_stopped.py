"""A jail stopped in the real fail2ban: one alert, and one when it runs again."""

from __future__ import annotations

from django.utils import timezone

from alerts.evaluate import alerts_evaluate
from alerts.tests.helpers import rule, webhook
from bangui import tasks


def test_a_stopped_jail_alerts_once_and_again_when_it_runs(configured, f2b, hooks) -> None:  # type: ignore[no-untyped-def]
    rule("jail_stopped", [webhook(hooks)], quiet_minutes=0)
    tasks.health_check()
    alerts_evaluate()
    assert hooks.received == []  # alpha, beta and sshd run as configured

    f2b.client().stop_jail("beta")
    tasks.health_check()
    for _ in range(3):
        alerts_evaluate()
    [stopped] = [r.json() for r in hooks.received]
    assert stopped["subject"] == "Jail stopped: “beta”"
    assert "Running: “alpha”, “sshd”." in stopped["text"]

    f2b.reload()  # a reload starts the enabled jails again
    tasks.health_check()
    alerts_evaluate(timezone.now())
    assert hooks.received[-1].json()["subject"] == "Jail running again: “beta”"
    assert len(hooks.received) == 2


def test_while_fail2ban_is_down_it_is_the_unreachable_rule_that_speaks(
    configured, f2b, hooks
) -> None:  # type: ignore[no-untyped-def]
    rule("jail_stopped", [webhook(hooks)])
    tasks.health_check()
    alerts_evaluate()
    f2b.stop()
    try:
        tasks.health_check()
        alerts_evaluate()
    finally:
        f2b.start()
    assert hooks.received == []
