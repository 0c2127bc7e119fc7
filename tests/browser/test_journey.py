"""The first run in a real browser: setup, login, dashboard, fail2ban going away, logout."""

from __future__ import annotations

import os
import re

import pytest
from django.core.cache import cache

from bangui.setup.services import setup_token
from conftest import ADMIN_PASSWORD
from tests.browser.shots import screenshot, screenshot_schemes

try:
    from playwright.sync_api import expect
except ImportError:
    if os.environ.get("CI", "").lower() == "true":
        raise
    pytest.skip("the playwright Python package is missing", allow_module_level=True)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BANNED = ["203.0.113.7", "198.51.100.23"]


def _path(page) -> str:  # type: ignore[no-untyped-def]
    return re.sub(r"^https?://[^/]+", "", page.url)


def _assert_clean(page, console) -> None:  # type: ignore[no-untyped-def]
    assert page.evaluate("() => typeof window.htmx") == "object", "htmx did not load"
    assert console.csp_violations == [], "Content-Security-Policy violations"
    assert console.errors == [], "errors in the browser console"


def _fill_setup(page, f2b, *, password: str, confirm: str) -> None:  # type: ignore[no-untyped-def]
    page.fill("#id_password", password)
    page.fill("#id_password_confirm", confirm)
    page.fill("#id_fail2ban_socket", f2b.socket_path)
    page.fill("#id_fail2ban_config_dir", str(f2b.conf_dir))
    page.select_option("#id_timezone", "Europe/Berlin")
    page.fill("#id_session_minutes", "60")


def _log_in(page, base: str) -> None:  # type: ignore[no-untyped-def]
    page.fill("#id_password", ADMIN_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/")


def test_first_run_journey(page, console, live_server, f2b):  # type: ignore[no-untyped-def]
    base = live_server.url
    f2b.client().ban("beta", BANNED)

    # Every page leads to setup until it is done.
    response = page.goto(f"{base}/")
    assert _path(page) == "/setup/"
    # The console checks below only mean something under the strict policy.
    assert "script-src 'self';" in response.headers["content-security-policy"]
    expect(page.get_by_role("heading", name="Set up BanGUI")).to_be_visible()
    # Without the one-time token (printed in the log, kept in the data dir) no form.
    expect(page.locator("#id_password")).to_have_count(0)
    expect(page.get_by_text("setup-token")).to_be_visible()
    _assert_clean(page, console)
    screenshot_schemes(page, "setup-token")
    page.goto(f"{base}/setup/?token={setup_token()}")
    expect(page.locator("#id_username")).to_have_value("admin")
    _assert_clean(page, console)
    screenshot_schemes(page, "setup")

    # A mistake is reported next to its field, and nothing is saved.
    _fill_setup(page, f2b, password=ADMIN_PASSWORD, confirm=ADMIN_PASSWORD + "x")
    page.get_by_role("button", name="Finish setup").click()
    page.wait_for_load_state()
    assert _path(page).startswith("/setup/")
    error = page.locator(".field.has-error", has=page.locator("#id_password_confirm"))
    expect(error.get_by_role("alert")).to_have_text("The two passwords differ; type both again.")
    # The other fields keep what was typed.
    expect(page.locator("#id_fail2ban_socket")).to_have_value(f2b.socket_path)
    screenshot_schemes(page, "setup-error")

    _fill_setup(page, f2b, password=ADMIN_PASSWORD, confirm=ADMIN_PASSWORD)
    page.get_by_role("button", name="Finish setup").click()
    page.wait_for_url(re.compile(r"/login/$"))
    expect(page.locator(".msg-success")).to_have_text(
        "Setup is complete. Log in with the user name you chose."
    )
    # Password only while there is a single user.
    expect(page.locator("#id_username")).to_have_count(0)
    expect(page.locator("#id_password")).to_be_focused()
    screenshot_schemes(page, "login")

    # Setup is closed once done.
    page.goto(f"{base}/setup/")
    assert _path(page) == "/login/"

    _log_in(page, base)
    # Chromium keeps Secure cookies from http://localhost (a secure context), so
    # the browser tests run with the production cookie settings.
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["bangui_session"]["secure"] and cookies["bangui_session"]["httpOnly"]
    assert cookies["csrftoken"]["secure"]
    bar = page.locator("#status-bar")
    expect(bar).to_have_class(re.compile(r"\bis-online\b"))
    expect(bar.locator(".state")).to_have_text(re.compile(r"^\s*fail2ban \S+ online\s*$"))
    expect(bar).to_contain_text("3 jails")
    expect(bar).to_contain_text("2 banned now")
    cards = page.get_by_role("region", name="fail2ban now")
    expect(cards.locator(".card", has_text="Banned now").locator(".card-value")).to_have_text("2")
    expect(cards.locator(".card", has_text="Active jails").locator(".card-value")).to_have_text("3")
    expect(page.get_by_role("link", name="Dashboard")).to_have_attribute("aria-current", "page")
    _assert_clean(page, console)
    screenshot_schemes(page, "dashboard")

    # fail2ban goes away: the next page load says so.
    f2b.stop()
    cache.clear()
    page.reload()
    expect(bar).to_have_class(re.compile(r"\bis-offline\b"))
    expect(bar.locator(".state")).to_have_text("fail2ban unreachable")
    expect(page.get_by_role("heading", name="fail2ban is unreachable")).to_be_visible()
    expect(cards.locator(".card", has_text="Banned now").locator(".card-value")).to_have_text("—")
    screenshot_schemes(page, "dashboard-offline")
    f2b.start()

    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(re.compile(r"/login/$"))
    expect(page.get_by_role("status")).to_have_text("You are logged out.")
    screenshot(page, "logged-out-light")

    page.goto(f"{base}/")
    assert _path(page) == "/login/?next=/"
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    _assert_clean(page, console)


def test_status_bar_refreshes_without_a_reload(  # type: ignore[no-untyped-def]
    page, console, live_server, f2b, configured
):
    base = live_server.url
    page.goto(f"{base}/login/")
    _log_in(page, base)
    bar = page.locator("#status-bar")
    expect(bar).to_have_class(re.compile(r"\bis-online\b"))
    # Gone after a reload; still there after an htmx swap.
    page.evaluate("() => { window.__sameDocument = true; }")

    f2b.stop()
    cache.clear()  # the live probe is cached for a few seconds
    with page.expect_response(lambda r: "/status/bar/" in r.url) as response:
        page.evaluate("() => htmx.trigger('#status-bar', 'refresh')")
    assert response.value.status == 200
    expect(bar).to_have_class(re.compile(r"\bis-offline\b"))
    expect(bar.locator(".state")).to_have_text("fail2ban unreachable")
    # Said once to screen readers, and the dashboard's own live part follows at once.
    expect(page.locator("#status-announce")).to_have_text("fail2ban is unreachable")
    expect(page.locator("#dashboard-status")).to_contain_text("fail2ban is unreachable")
    assert page.evaluate("() => window.__sameDocument") is True
    screenshot(page, "statusbar-offline-swapped-light", full_page=False)

    # And back once fail2ban answers again.
    f2b.start()
    cache.clear()
    with page.expect_response(lambda r: "/status/bar/" in r.url):
        page.evaluate("() => htmx.trigger('#status-bar', 'refresh')")
    expect(bar).to_have_class(re.compile(r"\bis-online\b"))
    expect(bar.locator(".state")).to_have_text(re.compile(r"^\s*fail2ban \S+ online\s*$"))
    expect(page.locator("#status-announce")).to_have_text("fail2ban is online")
    expect(page.locator("#dashboard-status")).not_to_contain_text("unreachable")
    assert page.evaluate("() => window.__sameDocument") is True
    _assert_clean(page, console)
