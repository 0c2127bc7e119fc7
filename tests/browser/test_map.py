"""The world map in a real browser: filters and country clicks update in place, screenshots."""

from __future__ import annotations

import os
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from jails.models import BanRecord
from tests.browser.helpers import assert_clean, log_in
from tests.browser.shots import screenshot_schemes

try:
    from playwright.sync_api import expect
except ImportError:
    if os.environ.get("CI", "").lower() == "true":
        raise
    pytest.skip("the playwright Python package is missing", allow_module_level=True)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Bans in the last six days per country, roughly what an exposed server sees.
COUNTRIES = {
    "CN": 260, "US": 140, "RU": 95, "DE": 55, "BR": 38, "IN": 27, "NL": 21, "VN": 17,
    "FR": 12, "KR": 9, "GB": 7, "ID": 5, "UA": 4, "ZA": 3, "AU": 2, "AR": 1, "": 6,
}  # fmt: skip
JAILS = ["sshd", "nginx-http-auth", "postfix"]


def _archive() -> None:
    now = timezone.now()
    records = []
    n = 0
    for code, count in COUNTRIES.items():
        for i in range(count):
            n += 1
            origin = "manual" if n % 23 == 0 else "blocklist" if n % 7 == 0 else "detected"
            records.append(
                BanRecord(
                    ip=f"{(n * 37) % 223 + 1}.{n % 250}.{(n * 7) % 256}.{i % 254 + 1}",
                    jail=JAILS[n % len(JAILS)],
                    banned_at=now - timedelta(minutes=(n * 97) % (6 * 24 * 60) + 1),
                    bantime=600,
                    origin=origin,
                    country_code=code,
                )
            )
    # One old ban: only in the 30-day view.
    records.append(
        BanRecord(
            ip="192.0.2.99", jail="sshd", banned_at=now - timedelta(days=20), bantime=600,
            country_code="JP",
        )
    )  # fmt: skip
    BanRecord.objects.bulk_create(records)


def test_the_map_filters_the_table_by_country(page, console, live_server, configured):  # type: ignore[no-untyped-def]
    _archive()
    base = live_server.url
    log_in(page, base)
    page.get_by_role("link", name="Map", exact=True).click()
    expect(page.get_by_role("heading", name="Where bans come from")).to_be_visible()
    body = page.locator("#map-body")
    expect(page.locator("#map-summary")).to_contain_text(
        "702 bans in the last 7 days from 16 countries"
    )
    expect(page.locator("#map-unresolved")).to_contain_text(
        "6 bans from addresses with no known country"
    )
    expect(page.locator('svg.worldmap a[data-country="CN"]')).to_have_class("country c4")
    expect(page.locator('svg.worldmap a[data-country="DE"]')).to_have_class("country c3")
    expect(page.locator('svg.worldmap a[data-country="JP"]')).to_have_count(0)
    page.evaluate("() => { window.__sameDocument = true; }")

    # Clicking a country on the map lists its bans in place.
    page.locator('svg.worldmap a[data-country="DE"]').click()
    expect(body.locator(".map-infobar h2")).to_contain_text("Germany")
    expect(body.locator("#map-bans-count")).to_contain_text(
        "55 bans in the last 7 days, showing 1–50"
    )
    expect(body.locator("tbody tr")).to_have_count(50)
    assert re.search(r"[?&]country=DE\b", page.url)
    expect(page.locator('svg.worldmap a[data-country="DE"]')).to_have_class(
        "country c3 is-selected"
    )

    # The next page, then a wider window keeps the country.
    body.get_by_role("link", name="Next →").click()
    expect(body.locator("tbody tr")).to_have_count(5)
    page.select_option("#id_range", "30d")
    expect(body.locator("#map-bans-count")).to_contain_text("55 bans in the last 30 days")
    expect(page.locator('svg.worldmap a[data-country="JP"]')).to_have_count(1)
    assert "range=30d" in page.url and "country=DE" in page.url

    # Keyboard: a country link takes the focus and Enter opens it.
    brazil = page.locator('svg.worldmap a[data-country="BR"]')
    brazil.focus()
    expect(brazil).to_be_focused()
    # The 30-second poll swaps the map but keeps the focus (same id).
    with page.expect_response(lambda r: "/map/" in r.url):
        page.evaluate("() => window.htmx.trigger('#map-body', 'refresh')")
    page.wait_for_timeout(200)
    expect(brazil).to_be_focused()
    page.keyboard.press("Enter")
    expect(body.locator(".map-infobar h2")).to_contain_text("Brazil")
    expect(body.locator("tbody tr")).to_have_count(38)

    # The top list does the same; "Show all countries" clears it.
    page.locator(".map-toplist").get_by_role("link", name="United States").click()
    expect(body.locator("#map-bans-count")).to_contain_text("140 bans")
    body.get_by_role("link", name="Show all countries").click()
    expect(body.locator(".map-hint")).to_be_visible()
    assert "country=" not in page.url
    assert page.evaluate("() => window.__sameDocument") is True

    # An address opens its history page.
    page.goto(f"{base}/map/?country=RU")
    first_ip = body.locator("tbody tr td.mono a").first
    ip = first_ip.inner_text()
    first_ip.click()
    expect(page.get_by_role("heading", name=f"IP {ip}")).to_be_visible()

    # Screenshots last (Playwright leaves style="" on inputs).
    page.goto(f"{base}/map/?country=DE")
    expect(body.locator("tbody tr")).to_have_count(50)
    assert_clean(console)
    screenshot_schemes(page, "map")
