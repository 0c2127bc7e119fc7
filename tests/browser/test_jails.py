"""Jails and bans in a real browser: ban from the UI, see it, unban it, find it audited."""

from __future__ import annotations

import os
import re

import pytest

from tests.browser.helpers import log_in
from tests.browser.shots import screenshot, screenshot_schemes

try:
    from playwright.sync_api import expect
except ImportError:
    if os.environ.get("CI", "").lower() == "true":
        raise
    pytest.skip("the playwright Python package is missing", allow_module_level=True)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

IP = "203.0.113.77"


def _clean(page, console) -> None:  # type: ignore[no-untyped-def]
    assert console.csp_violations == []
    assert console.errors == []


def test_ban_see_unban_and_audit(page, console, live_server, f2b, configured):  # type: ignore[no-untyped-def]
    base = live_server.url
    log_in(page, base)

    page.get_by_role("link", name="Jails", exact=True).click()
    expect(page.get_by_role("heading", name="Jails")).to_be_visible()
    screenshot_schemes(page, "jails")

    page.get_by_role("link", name="Ban IPs").click()
    page.fill("#id_ips", IP)
    page.select_option("#id_jail", "beta")
    page.get_by_role("button", name="Ban", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="banned in")).to_contain_text("1 banned")
    assert IP in f2b.cli("status", "beta")

    page.get_by_role("link", name="beta").first.click()
    row = page.locator("#bans-table tr", has_text=IP)
    expect(row).to_be_visible()
    screenshot(page, "jail-detail-light")
    row.get_by_role("button", name="Unban").click()
    expect(page.locator(".messages")).to_contain_text(f"Unbanned {IP} from jail beta.")
    assert IP not in f2b.cli("status", "beta")

    page.get_by_role("link", name="Audit log").click()
    log = page.locator("table")
    expect(log).to_contain_text(IP)
    expect(log.locator("tr", has_text="Unban")).to_have_count(1)
    expect(log.locator("tr", has_text=re.compile(r"\bBan\b"))).not_to_have_count(0)
    screenshot(page, "audit-after-journey-light")
    _clean(page, console)


def test_ban_form_warns_about_an_ignored_address(page, console, live_server, f2b, configured):  # type: ignore[no-untyped-def]
    base = live_server.url
    f2b.client().add_ignore("alpha", ["192.0.2.0/24"])
    log_in(page, base)
    page.goto(f"{base}/bans/new/?jail=alpha")
    page.fill("#id_ips", "192.0.2.44\n203.0.113.78\n203.0.113.78")
    page.get_by_role("button", name="Ban", exact=True).click()
    expect(page.get_by_role("heading", name="Check before banning")).to_be_visible()
    screenshot_schemes(page, "ban-form-warning")
    assert f2b.client().banned_ips("alpha") == []
    page.get_by_role("button", name="Ban anyway").click()
    expect(page.get_by_role("status").filter(has_text="banned in")).to_contain_text("2 banned")
    f2b.reload()
    _clean(page, console)


def test_a_jail_with_many_bans(page, console, live_server, f2b, configured):  # type: ignore[no-untyped-def]
    ips = [f"10.0.{i // 250}.{i % 250 + 1}" for i in range(3000)]
    f2b.client().ban("alpha", ips)
    log_in(page, live_server.url)
    page.goto(f"{live_server.url}/jails/alpha/")
    expect(page.locator("#bans-table")).to_contain_text("3000 banned addresses")
    screenshot_schemes(page, "jail-many-bans")
    page.fill("#id_bq", "10.0.11.")
    expect(page.locator("#bans-table")).to_contain_text("match “10.0.11.”")
    page.get_by_role("link", name="Older →").click()
    expect(page.locator("#bans-table")).to_contain_text("Page 2 of")
    _clean(page, console)
