"""Configuration changes and rollbacks; the history sync lagging and catching up."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from alerts.evaluate import alerts_evaluate
from alerts.tests.helpers import rule, webhook
from jails.models import ConfigChange, HistorySyncState

pytestmark = pytest.mark.django_db


def test_an_apply_a_failed_apply_and_a_rollback_each_say_who_and_what(hooks) -> None:  # type: ignore[no-untyped-def]
    rule("config_change", [webhook(hooks)], quiet_minutes=0)
    alerts_evaluate()
    good = ConfigChange.objects.create(
        username="alice", what="sshd: maxretry 3", files=["jail.d/sshd.local"], ok=True
    )
    ConfigChange.objects.create(
        username="bob", what="new filter", files=["filter.d/x.local"], ok=False, step="test",
        message="fail2ban refused the filter",
    )  # fmt: skip
    alerts_evaluate()
    [both] = [r.json() for r in hooks.received]  # found in one run: one message
    assert both["subject"] == "2 alerts for “config_change”"
    assert "Configuration applied: “sshd: maxretry 3”" in both["text"]
    assert "Configuration change failed: “new filter”" in both["text"]

    ConfigChange.objects.filter(pk=good.pk).update(rolled_back_at=timezone.now())
    alerts_evaluate(timezone.now() + timedelta(seconds=1))
    rolled = hooks.received[-1].json()
    assert rolled["subject"] == "Configuration rolled back: “sshd: maxretry 3”"
    assert "“jail.d/sshd.local”" in rolled["text"]
    alerts_evaluate(timezone.now() + timedelta(seconds=2))
    assert len(hooks.received) == 2


def test_changes_from_before_the_rule_existed_are_not_reported(hooks) -> None:  # type: ignore[no-untyped-def]
    ConfigChange.objects.create(username="old", what="before", files=[], ok=True)
    rule("config_change", [webhook(hooks)])
    alerts_evaluate(timezone.now() + timedelta(seconds=1))
    assert hooks.received == []


def test_a_lagging_history_sync_alerts_once_and_says_when_it_caught_up(hooks) -> None:  # type: ignore[no-untyped-def]
    rule("history_lag", [webhook(hooks)], threshold=600)
    now = timezone.now()
    HistorySyncState.objects.create(
        pk=1, last_run_at=now, last_ok_at=now - timedelta(minutes=15),
        last_error="fail2ban's database is locked",
    )  # fmt: skip
    for minutes in (0, 1, 2):
        alerts_evaluate(now + timedelta(minutes=minutes))
    [lag] = [r.json() for r in hooks.received]
    assert lag["subject"] == "History sync is lagging"
    assert "“fail2ban's database is locked”" in lag["text"]
    HistorySyncState.objects.filter(pk=1).update(last_ok_at=now + timedelta(minutes=3))
    alerts_evaluate(now + timedelta(minutes=3))
    assert hooks.received[-1].json()["subject"] == "History sync caught up"
    assert len(hooks.received) == 2
