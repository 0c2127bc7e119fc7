"""An address the real fail2ban bans again within N days: one message listing it."""

from __future__ import annotations

import time

from django.utils import timezone

from alerts.evaluate import alerts_evaluate
from alerts.tests.helpers import rule, webhook
from jails.history.services import history_sync
from jails.models import BanRecord


def _ban_and_archive(lab, jail: str, ip: str) -> None:  # type: ignore[no-untyped-def]
    lab.client().ban(jail, [ip])
    deadline = time.monotonic() + 10
    while not BanRecord.objects.filter(ip=ip, jail=jail).exists():
        assert time.monotonic() < deadline, f"{ip} never reached the archive"
        history_sync(client=lab.client())
        time.sleep(0.1)


def test_an_address_banned_again_is_reported_once(configured, f2b, hooks) -> None:  # type: ignore[no-untyped-def]
    rule("repeat_offender", [webhook(hooks)], threshold=7, quiet_minutes=0)
    _ban_and_archive(f2b, "alpha", "203.0.113.77")
    _ban_and_archive(f2b, "alpha", "203.0.113.78")
    alerts_evaluate()
    assert hooks.received == []  # banned once each
    time.sleep(1.1)  # fail2ban's ban time is in whole seconds
    _ban_and_archive(f2b, "beta", "203.0.113.77")
    for _ in range(3):
        alerts_evaluate(timezone.now())
    [again] = [r.json() for r in hooks.received]
    assert again["subject"] == "1 address banned again within 7 days"
    assert again["text"].startswith("“203.0.113.77”: 2 bans since ")
    assert again["link"] == "/history/ip/203.0.113.77/"
