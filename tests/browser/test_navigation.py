"""Issue 15, items 3 and 9 as a person sees them: numbers that agree right after a change,
and the links and messages that are where one looks for them."""

from __future__ import annotations

import json
import os
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from jails.models import BanRecord
from tests.browser.helpers import assert_clean, log_in

try:
    from playwright.sync_api import expect
except ImportError:
    if os.environ.get("CI", "").lower() == "true":
        raise
    pytest.skip("the playwright Python package is missing", allow_module_level=True)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

IPS = ["203.0.113.41", "203.0.113.42", "203.0.113.43"]


def _bar_number(page, label: str) -> int:  # type: ignore[no-untyped-def]
    text = page.locator("#status-bar").inner_text()
    found = re.search(rf"(\d+)\s+{label}", text)
    assert found, text
    return int(found[1])


def test_the_numbers_agree_right_after_a_ban_and_a_jail_stop(  # type: ignore[no-untyped-def]
    page, console, live_server, f2b, configured
):
    base = live_server.url
    log_in(page, base)
    jails_before = _bar_number(page, "jails?")
    assert _bar_number(page, "banned now") == 0

    page.goto(f"{base}/bans/new/")
    page.fill("#id_ips", "\n".join(IPS))
    page.select_option("#id_jail", "beta")
    page.get_by_role("button", name="Ban", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="banned in")).to_contain_text("3 banned")

    # No wait for a cache to expire: the bar and the cards say 3 at once, as fail2ban does.
    page.goto(f"{base}/")
    assert _bar_number(page, "banned now") == 3
    cards = page.locator("#dashboard-status")
    expect(cards.locator(".card", has_text="Banned now")).to_contain_text("3")
    expect(cards).to_contain_text("as of")

    page.goto(f"{base}/jails/beta/")
    page.get_by_role("button", name="Stop…").click()
    page.locator("main").get_by_role("button").filter(has_text=re.compile("Stop", re.I)).click()
    expect(page.locator(".messages")).to_contain_text("beta")
    page.goto(f"{base}/jails/")
    assert _bar_number(page, "jails?") == jails_before - 1
    assert _bar_number(page, "banned now") == 0  # the stopped jail's bans are lifted
    assert "beta" not in f2b.cli("status")
    assert_clean(console)


def test_links_and_messages_are_where_one_looks(  # type: ignore[no-untyped-def]
    page, console, live_server, f2b, configured
):
    BanRecord.objects.create(
        ip=IPS[0], jail="alpha", banned_at=timezone.now() - timedelta(hours=1), bantime=600,
        bancount=1, failures=3, origin="detected", country_code="DE",
    )  # fmt: skip
    base = live_server.url
    log_in(page, base)

    # The IP page links the address's history.
    page.goto(f"{base}/ip/?q={IPS[0]}")
    page.get_by_role("link", name=f"Ban history of {IPS[0]}").click()
    expect(page.locator("main")).to_contain_text(IPS[0])
    expect(page.locator("main")).to_contain_text("alpha")

    # The history's country filter takes a name.
    page.goto(f"{base}/history/")
    page.fill("#id_country", "Germany")
    expect(page.locator("#history-table")).to_contain_text("1 ban")
    expect(page.locator("#history-table")).to_contain_text(IPS[0])
    expect(page.locator(".error")).to_have_count(0)

    # An ignore-list error shows next to its form, the entry kept for correcting.
    page.goto(f"{base}/jails/alpha/")
    field = page.locator("#id_entries")
    field.fill("0.0.0.0")
    page.locator("#ignore-add").get_by_role("button").click()
    error = page.locator("#ignore-add ~ p.error")
    expect(error).to_contain_text("unspecified address")
    expect(page.locator("#id_entries")).to_have_value("0.0.0.0")
    field_box = page.locator("#id_entries").bounding_box()
    error_box = error.bounding_box()
    assert field_box and error_box and 0 < error_box["y"] - field_box["y"] < 150

    # The regex tester fills in the log file of the chosen filter's jail, also after a test run.
    page.goto(f"{base}/config/regex/")
    select = page.locator("select[data-logpaths]")
    logs = json.loads(select.get_attribute("data-logpaths") or "{}")
    assert logs, "the lab's jails have log files"
    chosen = sorted(logs)[0]
    select.select_option(chosen)
    expect(page.locator("#id_log_path")).to_have_value(logs[chosen])
    page.goto(f"{base}/config/regex/?filter={chosen}")
    expect(page.locator("#id_log_path")).to_have_value(logs[chosen])
    # The refused ignore entry is answered 400 (a form error), which the console notes.
    assert console.csp_violations == []
    assert [e for e in console.errors if "status of 400" not in e] == []
