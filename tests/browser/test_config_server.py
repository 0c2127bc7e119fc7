"""Server settings, fail2ban's log and the recovery banner in a real browser."""

from __future__ import annotations

import os
import re

import pytest

from tests.browser.helpers import assert_clean, log_in
from tests.browser.shots import screenshot_schemes

try:
    from playwright.sync_api import expect
except ImportError:
    if os.environ.get("CI", "").lower() == "true":
        raise
    pytest.skip("the playwright Python package is missing", allow_module_level=True)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_set_debug_then_read_the_coloured_log_and_filter_it(
    page, console, live_server, private_setup
):  # type: ignore[no-untyped-def]
    lab = private_setup
    base = live_server.url
    log_in(page, base)
    page.goto(f"{base}/config/server/")
    expect(page.get_by_role("heading", name="Server settings")).to_be_visible()
    page.select_option("#id_loglevel", "DEBUG")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator(".messages")).to_contain_text("Applied: loglevel = DEBUG")
    assert "'DEBUG'" in lab.cli("get", "loglevel")
    with open(lab.server_log, "a") as fh:
        fh.write(
            "2026-11-25 10:00:00,000 fail2ban.filter [1]: ERROR   Unable to open /var/gone.log\n"
            "2026-11-25 10:00:01,000 fail2ban.jail   [1]: WARNING No actions were defined for x\n"
        )
    screenshot_schemes(page, "config-server")

    page.get_by_role("link", name="fail2ban log").click()
    expect(page.get_by_role("heading", name="fail2ban log")).to_be_visible()
    expect(page.locator(".log-line.lv-error").last).to_contain_text("Unable to open")
    expect(page.locator(".log-line.lv-warn").last).to_contain_text("No actions were defined")
    assert page.locator(".log-line.lv-debug").count() > 0  # DEBUG lines after the reload
    page.fill("#id_q", "unable to open")
    expect(page.locator(".log-line")).to_have_count(1)
    expect(page).to_have_url(re.compile(r"/config/log/\?q=unable(\+|%20)to(\+|%20)open&n=500"))
    page.check("#id_follow")
    expect(page.locator("#log-view[data-poll]")).to_have_count(1)
    page.uncheck("#id_follow")
    expect(page.locator("#log-view[data-poll]")).to_have_count(0)
    page.fill("#id_q", "")
    expect(page.locator(".log-meta")).not_to_contain_text("containing")
    expect(page.locator(".log-line.lv-warn").last).to_contain_text("No actions were defined")
    assert_clean(console)
    screenshot_schemes(page, "config-log")


def test_the_recovery_banner_rolls_back(page, console, live_server, private_setup):  # type: ignore[no-untyped-def]
    from bangui.status import status_refresh
    from jails.audit.services import Actor
    from jails.config.services import config_apply

    lab = private_setup
    base = live_server.url
    log_in(page, base)
    applied = config_apply(
        actor=Actor.system("admin"),
        what="Server settings: loglevel = DEBUG",
        changes={"fail2ban.local": b"[Definition]\nloglevel = DEBUG\n"},
        reload_jail=None,
    )
    assert applied.ok
    lab.stop()
    status_refresh()
    page.goto(f"{base}/jails/")
    banner = page.get_by_role("alert").filter(has_text="fail2ban went offline")
    expect(banner).to_contain_text("after “Server settings: loglevel = DEBUG” by admin")
    screenshot_schemes(page, "recovery-banner")
    banner.get_by_role("button", name="Roll back this change").click()
    expect(page.locator(".messages")).to_contain_text("The previous files are back.")
    expect(page.get_by_role("alert").filter(has_text="fail2ban went offline")).to_have_count(0)
    assert not (lab.conf_dir / "fail2ban.local").exists()
    assert_clean(console)
