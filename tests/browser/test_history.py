"""The ban history in a real browser: live filters, sorting, paging, the per-IP page."""

from __future__ import annotations

import os
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from jails.models import BanRecord, HistorySyncState
from jails.tests.history.test_history_sync import wait_banned
from tests.browser.helpers import assert_clean, log_in
from tests.browser.shots import screenshot, screenshot_schemes

try:
    from playwright.sync_api import expect
except ImportError:
    if os.environ.get("CI", "").lower() == "true":
        raise
    pytest.skip("the playwright Python package is missing", allow_module_level=True)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BANS = 150
OFFENDER = "203.0.113.7"
JAILS = ["sshd", "nginx-http-auth", "postfix", "manual", "blocklist-import"]
COUNTRIES = ["DE", "US", "CN", "", "NL", "BR"]


def _archive() -> None:
    """A varied archive: 150 bans over two weeks, one address banned again and again."""
    now = timezone.now()
    records = []
    for i in range(BANS):
        jail = JAILS[i % len(JAILS)]
        origin = {"manual": "manual", "blocklist-import": "blocklist"}.get(jail, "detected")
        ip = OFFENDER if i % 25 == 0 else f"{[198, 203, 192][i % 3]}.51.{i % 7}.{i}"
        detected = origin == "detected"
        records.append(
            BanRecord(
                ip=ip,
                jail=jail,
                banned_at=now - timedelta(hours=2.3 * i + 0.5),
                bantime=-1 if jail == "manual" else [600, 3600, 86400][i % 3],
                bancount=1 + (i % 4 if jail == "sshd" else 0),
                failures=5 if detected else 0,
                matches="\n".join(
                    f"Nov 25 0{n}:12:0{n} web sshd[{900 + n}]: Failed password for invalid user "
                    f"admin from {ip} port {51000 + n} ssh2"
                    for n in range(3)
                )
                if detected
                else "",
                origin=origin,
                country_code=COUNTRIES[i % len(COUNTRIES)],
                unbanned_at=now - timedelta(hours=2.3 * i) if i % 11 == 3 else None,
                unbanned_by="admin" if i % 11 == 3 else "",
            )
        )
    BanRecord.objects.bulk_create(records)
    HistorySyncState.objects.create(
        pk=1, high_water=now - timedelta(minutes=1), last_run_at=now, last_ok_at=now
    )


def test_the_history_filters_sorts_and_opens_an_address(
    page, console, live_server, f2b, configured
):  # type: ignore[no-untyped-def]
    _archive()
    f2b.client().ban("alpha", [OFFENDER])
    wait_banned(f2b, "alpha", OFFENDER)
    base = live_server.url
    log_in(page, base)

    page.get_by_role("link", name="History", exact=True).click()
    expect(page.get_by_role("heading", name="Ban history")).to_be_visible()
    table = page.locator("#history-table")
    expect(table).to_contain_text(f"{BANS} bans archived, showing 1–100.")
    expect(table.locator("tbody tr")).to_have_count(100)
    expect(page.locator("#history-sync")).to_contain_text("Last sync")
    screenshot_schemes(page, "history")
    # Playwright's screenshot leaves style="" on inputs, which htmx's settle would
    # then copy (a CSP refusal that no user sees); start from a fresh page.
    page.reload()

    # A filter swaps only the table and puts it in the address bar.
    page.evaluate("() => { window.__sameDocument = true; }")
    page.fill("#id_ip", "203.0.113.")
    expect(table).to_contain_text("6 bans match the filters.")
    assert "ip=203.0.113." in page.url
    page.fill("#id_ip", "")
    page.select_option("#id_jail", "sshd")
    expect(table).to_contain_text("30 bans match the filters.")
    assert re.search(r"[?&]jail=sshd\b", page.url)

    # Sorting by fail2ban's ban count: the heading toggles, the form keeps the sort.
    table.get_by_role("link", name="Ban #").click()
    expect(table.locator("th[aria-sort=descending]")).to_have_text("Ban # ↓")
    expect(table.locator("tbody tr").first.locator("td").nth(6)).to_have_text("4")
    assert "sort=-bancount" in page.url
    page.select_option("#id_period", "7d")
    expect(table).to_contain_text("15 bans match the filters.")
    expect(table.locator("th[aria-sort=descending]")).to_have_text("Ban # ↓")
    assert "sort=-bancount" in page.url and "period=7d" in page.url

    # Bad input is explained, not an error page.
    page.fill("#id_country", "1")
    expect(page.get_by_role("alert")).to_contain_text(
        "Country: “1” is not a country BanGUI knows; use its name or its two-letter code, "
        "such as Germany or DE. This filter is not applied."
    )
    assert page.evaluate("() => window.__sameDocument") is True

    # Paging, and a shared URL gives the same view on a fresh load.
    page.goto(f"{base}/history/")
    table.get_by_role("link", name="Next →").click()
    expect(table).to_contain_text("showing 101–150")
    assert re.search(r"[?&]page=2\b", page.url)
    page.goto(f"{base}/history/?ip=203.0.113.7&sort=time")
    expect(table).to_contain_text("6 bans match the filters.")
    expect(page.locator("#id_ip")).to_have_value("203.0.113.7")

    # The per-IP page: totals, every ban, the log lines, banned now with unban.
    table.get_by_role("link", name=OFFENDER).first.click()
    expect(page.get_by_role("heading", name=f"IP {OFFENDER}")).to_be_visible()
    expect(page.locator(".cards")).to_contain_text("Bans archived")
    expect(page.locator("#now-h")).to_have_text("Banned now in 1 jail")
    timeline = page.locator(".history-timeline")
    expect(timeline.locator("details")).to_have_count(6)
    timeline.locator("summary").first.click()
    expect(timeline.locator("details[open] li").first).to_contain_text("Failed password")
    screenshot_schemes(page, "history-ip")

    page.get_by_role("button", name="Unban").click()
    expect(page.locator(".messages")).to_contain_text(f"Unbanned {OFFENDER} from jail alpha.")
    expect(page.locator("#now-h")).to_have_text("Not banned now")
    screenshot(page, "history-ip-unbanned-light", full_page=False)
    assert_clean(console)


def test_the_history_map_opens_follows_the_filters_and_picks_a_country(
    page, console, live_server, configured
):  # type: ignore[no-untyped-def]
    _archive()
    base = live_server.url
    log_in(page, base)
    page.goto(f"{base}/history/")
    panel = page.locator("#history-map")
    expect(panel.locator(".worldmap")).to_have_count(0)  # fetched only when opened

    panel.locator("summary").click()
    expect(panel.locator(".map-summary")).to_contain_text("150 bans from 5 countries")
    # Changing a filter swaps the table, and the open map follows it.
    page.select_option("#id_jail", "sshd")
    expect(page.locator("#history-table")).to_contain_text("30 bans match the filters.")
    expect(panel.locator(".map-summary")).to_contain_text("30 bans from 5 countries")

    # A country on the map (by keyboard: the countries are links) filters the table.
    germany = panel.locator("#map-DE")
    germany.focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"[?&]country=DE\b"))
    expect(page.locator("#id_country")).to_have_value("DE")
    expect(page.locator("#history-table")).to_contain_text("5 bans match the filters.")
    expect(page.locator("#history-map[open] #map-DE.is-selected")).to_have_count(1)
    for cell in page.locator("#history-table tbody td:nth-child(5)").all():
        expect(cell).to_contain_text("Germany")  # as archived, whatever a lookup says now
    screenshot_schemes(page, "history-map")
    assert_clean(console)
