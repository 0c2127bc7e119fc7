"""The dashboard in a real browser: range and origin switch in place, charts, screenshots."""

from __future__ import annotations

import os
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from conftest import ADMIN_PASSWORD
from jails.models import BanRecord
from tests.browser.shots import screenshot_schemes

try:
    from playwright.sync_api import expect
except ImportError:
    if os.environ.get("CI", "").lower() == "true":
        raise
    pytest.skip("the playwright Python package is missing", allow_module_level=True)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

JAILS = ["sshd", "sshd", "sshd", "nginx-http-auth", "nginx-http-auth", "postfix", "dovecot"]
COUNTRIES = ["CN", "US", "DE", "RU", "BR", "CN", "NL", "IN", "CN", "US", "VN", "", "FR", "KR"]


def _archive() -> None:
    """A week of bans, more in the last day, several countries, jails and origins."""
    now = timezone.now()
    records = []
    for i in range(420):
        hours = i * 0.4 if i < 120 else 48 + (i - 120) * 0.4
        origin = "manual" if i % 29 == 0 else "blocklist" if i % 13 == 0 else "detected"
        jail = {"manual": "manual", "blocklist": "blocklist-import"}.get(origin, JAILS[i % 7])
        ip = f"{[203, 198, 192, 45][i % 4]}.{(i * 7) % 250}.{i % 200}.{(i * 13) % 254 + 1}"
        records.append(
            BanRecord(
                ip=ip,
                jail=jail,
                banned_at=now - timedelta(hours=hours, minutes=i % 50),
                bantime=600,
                bancount=1 + i % 4,
                failures=5,
                matches=f"Nov 25 05:22:27 web sshd[9{i}]: Failed password for root from {ip} "
                f"port {51000 + i} ssh2\nsecond line"
                if origin == "detected"
                else "",
                origin=origin,
                country_code=COUNTRIES[i % len(COUNTRIES)],
            )
        )
    BanRecord.objects.bulk_create(records)


def test_the_dashboard_switches_range_and_origin_in_place(
    page, console, live_server, f2b, configured
):  # type: ignore[no-untyped-def]
    _archive()
    base = live_server.url
    page.goto(f"{base}/login/")
    page.fill("#id_password", ADMIN_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/")

    live = page.locator("#dash-live")
    expect(live).to_contain_text("Last 24 hours")
    expect(live.locator("svg.chart-trend rect.bar")).to_have_count(24)
    first_count = page.locator("#dash-count").inner_text()
    page.evaluate("() => { window.__sameDocument = true; }")

    page.locator("label.seg", has_text="7d").click()
    expect(live).to_contain_text("Last 7 days")
    expect(live.locator("svg.chart-trend rect.bar")).to_have_count(28)
    assert re.search(r"[?&]range=7d\b", page.url)
    assert page.locator("#dash-count").inner_text() != first_count

    page.select_option("#id_origin", "manual")
    expect(live.locator(".dash-bans tbody tr").first.locator(".badge").first).to_have_text("Manual")
    page.wait_for_url(re.compile(r"origin=manual"))
    assert "range=7d" in page.url
    expect(live.locator(".dash-bans tbody tr .badge", has_text="Detected")).to_have_count(0)
    page.select_option("#id_origin", "all")
    # Wait for the swap (the old list had no "Detected" badge) before clicking in it.
    expect(live.locator(".dash-bans tbody tr .badge", has_text="Detected").first).to_be_visible()
    expect(live.locator("svg.chart-bars")).to_have_count(2)

    live.get_by_role("link", name="Ban count").click()
    expect(live.locator("th[aria-sort=descending]")).to_have_text("Ban count ↓")
    page.wait_for_url(re.compile(r"sort=-bancount"))

    page.go_back()
    expect(live.locator("th[aria-sort=descending]")).to_have_text("Time ↓")
    assert page.evaluate("() => window.__sameDocument") is True

    # A shared URL gives the same view on a fresh load.
    page.goto(f"{base}/?range=30d&origin=detected")
    expect(live).to_contain_text("Last 30 days")
    expect(page.locator("#id_origin")).to_have_value("detected")
    expect(page.locator("#id_range_2")).to_be_checked()
    assert console.csp_violations == [] and console.errors == []

    page.goto(f"{base}/?range=7d")
    expect(live.locator("svg.chart-trend")).to_be_visible()
    screenshot_schemes(page, "dashboard-data")
