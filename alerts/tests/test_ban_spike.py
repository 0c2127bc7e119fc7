"""500 bans in a minute from generated attack lines: one spike alert with the right counts."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from django.utils import timezone

from alerts.evaluate import alerts_evaluate
from alerts.tests.helpers import rule, webhook
from jails.history.services import history_sync
from jails.models import BanRecord

# Real networks the test geo database knows, so that top countries are not all "??".
NETS = {"beta": ["81.2.69.", "81.2.70."], "alpha": ["89.160.20."]}


def _attack(lab, jail: str, prefixes: list[str], count: int, lines_each: int) -> list[str]:  # type: ignore[no-untyped-def]
    ips = [f"{prefixes[i % len(prefixes)]}{i // len(prefixes) + 1}" for i in range(count)]
    now = datetime.now()
    text = "".join(
        f"{now:%Y-%m-%d %H:%M:%S} lab: auth failure from {ip} user root\n"
        for ip in ips
        for _ in range(lines_each)
    )
    with lab.log_path(jail).open("a") as fh:
        fh.write(text)
    return ips


def _wait_archived(lab, expected: int, timeout: float = 60) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        history_sync(client=lab.client())
        if BanRecord.objects.count() >= expected:
            return
        assert time.monotonic() < deadline, f"{BanRecord.objects.count()} of {expected} archived"
        time.sleep(0.5)


def test_500_bans_in_a_minute_give_one_spike_alert_with_the_counts(configured, f2b, hooks) -> None:  # type: ignore[no-untyped-def]
    overall = rule("ban_spike", [webhook(hooks)], threshold=100, window_minutes=1)
    rule("ban_spike", [webhook(hooks, "jails", "/jails")], name="per jail", threshold=150,
         window_minutes=1, scope="jail")  # fmt: skip
    alerts_evaluate()  # nothing banned yet
    _attack(f2b, "beta", NETS["beta"], 400, 2)  # beta bans after 2 failures
    _attack(f2b, "alpha", NETS["alpha"], 100, 3)
    _wait_archived(f2b, 500)
    now = timezone.now()
    for seconds in (1, 20, 40):  # the job runs again while the spike lasts: no repeat
        alerts_evaluate(now + timedelta(seconds=seconds))

    overall_msgs = [r.json() for r in hooks.received if r.path == "/hook"]
    [spike] = overall_msgs
    assert spike["subject"] == "Ban spike: 500 bans in 1 min"
    text = spike["text"]
    assert text.startswith("500 bans in the last 1 min (the rule says more than 100).")
    assert "Top networks: “81.2.69.0/24” 200, “81.2.70.0/24” 200, “89.160.20.0/24” 100" in text
    assert "Jails: “beta” 400, “alpha” 100" in text
    assert "Top countries: GB 400, SE 100" in text  # from the test geo database
    assert spike["link"].startswith("/history/?period=24h")

    [per_jail] = [r.json() for r in hooks.received if r.path == "/jails"]
    assert per_jail["subject"] == "Ban spike: 400 bans in 1 min in jail “beta”"
    assert "jail=beta" in per_jail["link"]

    # After the window the spike is over; a new one alerts again (as a digest: quiet period).
    overall.refresh_from_db()
    assert overall.state["open"] == [""]
    alerts_evaluate(now + timedelta(minutes=3))
    overall.refresh_from_db()
    assert overall.state["open"] == []
    assert len(hooks.received) == 2
