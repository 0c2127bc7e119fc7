"""The audit log in a real browser: a page of events, live filters, paging, no CSP errors."""

from __future__ import annotations

import os
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from jails.audit.services import Action, Actor, audit_record
from jails.models import AuditEvent
from tests.browser.helpers import assert_clean, log_in
from tests.browser.shots import screenshot, screenshot_schemes

try:
    from playwright.sync_api import expect
except ImportError:
    if os.environ.get("CI", "").lower() == "true":
        raise
    pytest.skip("the playwright Python package is missing", allow_module_level=True)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EVENTS = 64


def _record(i: int) -> None:
    """One of a varied mix of events: bans single and batched, unbans, controls, failures."""
    people = [
        Actor(user=None, username="admin", client_ip="192.0.2.10"),
        Actor(user=None, username="operator", client_ip="2001:db8:1::42"),
        Actor.system("scheduler"),
    ]
    actor = people[i % 3]
    kind = i % 8
    if kind == 0:
        ips = [f"198.51.100.{n}" for n in range(1, 25)]
        args = dict(
            action=Action.BAN,
            target="beta",
            params={"jail": "beta", "count": len(ips), "ips": [*ips[:20], "…"]},
            result=f"{len(ips)} banned, 0 already banned, 0 failed",
        )
    elif kind == 1:
        args = dict(
            action=Action.BAN,
            target=f"203.0.113.{i}",
            params={"jail": "sshd", "count": 1, "ips": [f"203.0.113.{i}"]},
            result="1 banned, 0 already banned, 0 failed",
        )
    elif kind == 2:
        args = dict(action=Action.UNBAN, target=f"203.0.113.{i}", params={"jail": "*"}, result="1")
    elif kind == 3:
        args = dict(
            action=Action.JAIL_STOP,
            target="alpha",
            ok=False,
            result="Could not reach fail2ban at /run/fail2ban/fail2ban.sock: "
            "[Errno 111] Connection refused. Is fail2ban-server running, and may "
            "BanGUI's user open the socket?",
        )
    elif kind == 4:
        args = dict(action=Action.JAIL_RELOAD, target="sshd", result="OK")
    elif kind == 5:
        args = dict(
            action=Action.IGNORE_ADD,
            target="alpha",
            params={"entries": ["10.0.0.0/8", "192.168.0.0/16"]},
            result="2 added",
        )
    elif kind == 6:
        args = dict(
            action=Action.CONFIG_WRITE,
            target="/etc/fail2ban/jail.d/sshd.local",
            params={"bytes": 412, "backup": "/var/lib/bangui/backups/sshd.local.1"},
            result="written",
        )
    else:
        args = dict(action=Action.FAIL2BAN_RELOAD, target="", result="OK")
    event = audit_record(actor=actor, **args)  # type: ignore[arg-type]
    AuditEvent.objects.filter(pk=event.pk).update(
        created_at=timezone.now() - timedelta(minutes=37 * (EVENTS - i))
    )


def test_the_audit_log_lists_filters_and_pages(page, console, live_server, configured):  # type: ignore[no-untyped-def]
    for i in range(EVENTS):
        _record(i)
    base = live_server.url
    log_in(page, base)  # recorded too: one "login" event more
    recorded = EVENTS + 1

    page.get_by_role("link", name="Audit log").click()
    expect(page.get_by_role("heading", name="Audit log")).to_be_visible()
    table = page.locator("#audit-table")
    expect(table).to_contain_text(f"{recorded} events recorded, showing 1–50; newest first.")
    expect(table.locator("tbody tr")).to_have_count(50)
    expect(table.locator(".badge-bad").first).to_have_text("Failed")
    screenshot_schemes(page, "audit")

    # A filter swaps only the table and puts the filter in the address bar.
    page.evaluate("() => { window.__sameDocument = true; }")
    page.select_option("#id_action", "jail_stop")
    expect(table).to_contain_text("8 events match the filters")
    expect(table.locator("tbody tr")).to_have_count(8)
    assert re.search(r"[?&]action=jail_stop\b", page.url)

    page.select_option("#id_action", "all")
    page.fill("#id_q", "2001:db8:1::42")
    expect(table).to_contain_text("21 events match the filters")
    assert "q=2001" in page.url
    page.fill("#id_q", "")
    expect(table).to_contain_text(f"{recorded} events recorded")

    # Paging too; the second page holds the oldest events.
    table.get_by_role("link", name="Older →").click()
    expect(table).to_contain_text("Page 2 of 2")
    expect(table.locator("tbody tr")).to_have_count(recorded - 50)
    assert re.search(r"[?&]page=2\b", page.url)
    assert page.evaluate("() => window.__sameDocument") is True
    screenshot(page, "audit-page-2-light", full_page=False)

    # The shared URL gives the same view on a fresh load.
    page.goto(f"{base}/audit/?result=failed&page=1")
    expect(table).to_contain_text("8 events match the filters")
    expect(page.locator("#id_result")).to_have_value("failed")

    # Bad input is reported on the page, not as an error page.
    page.goto(f"{base}/audit/?since=notadate&page=abc")
    expect(page.get_by_role("alert")).to_contain_text("Enter the start date as YYYY-MM-DD.")
    expect(table).to_contain_text("There is no page “abc”; showing the first page.")
    screenshot(page, "audit-bad-input-light", full_page=False)
    assert_clean(console)
