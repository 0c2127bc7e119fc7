"""The Jails and Filters configuration tabs in a real browser, against a real fail2ban."""

from __future__ import annotations

import os

import pytest

from tests.browser.helpers import log_in
from tests.browser.shots import screenshot_schemes

try:
    from playwright.sync_api import expect
except ImportError:
    if os.environ.get("CI", "").lower() == "true":
        raise
    pytest.skip("the playwright Python package is missing", allow_module_level=True)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

JAILS = ["alpha", "beta", "sshd"]


def test_an_admin_edits_a_jail_and_a_broken_filter_is_rolled_back(
    page, console, live_server, f2b_private, private_setup
):  # type: ignore[no-untyped-def]
    base = live_server.url
    log_in(page, base)

    page.goto(f"{base}/config/jails/")
    expect(page.locator("table.cfg-jails")).to_contain_text("alpha")
    page.get_by_role("link", name="alpha", exact=True).click()
    page.wait_for_url(f"{base}/config/jails/alpha/")
    page.fill("#id_maxretry", "6")
    page.get_by_role("button", name="Save and reload alpha").click()
    expect(page.locator(".msg-success")).to_contain_text("Saved to jail.d/alpha.local")
    expect(page.locator("#id_maxretry")).to_have_value("6")
    assert f2b_private.cli("get", "alpha", "maxretry").strip() == "6"

    # A filter fail2ban refuses (two <HOST> groups): created unused, then assigned, refused
    # by the check on a throwaway server before the live one is touched.
    page.goto(f"{base}/config/filters/new/")
    page.fill("#id_name", "relay")
    page.fill("#id_failregex", r"^\s*app: <HOST> relayed by <HOST>\s*$")
    page.get_by_role("button", name="Create filter").click()
    expect(page.locator(".msg-success")).to_contain_text("Filter relay created")
    # A regex that does not compile is refused next to the field, before fail2ban sees it.
    page.fill("#id_failregex", "(unclosed <HOST>")
    page.get_by_role("button", name="Save filter").click()
    expect(page.locator(".has-error .error")).to_contain_text("does not compile")
    before = (f2b_private.conf_dir / "jail.d" / "alpha.local").read_bytes()
    page.select_option("#id_jail", "beta")
    page.get_by_role("button", name="Use relay in this jail").click()
    result = page.locator(".cfg-result")
    expect(result).to_contain_text("fail2ban rejected the change")
    expect(result).to_contain_text("Nothing was written")
    assert not (f2b_private.conf_dir / "jail.d" / "beta.local").exists()
    assert (f2b_private.conf_dir / "jail.d" / "alpha.local").read_bytes() == before
    assert sorted(f2b_private.client().jails()) == JAILS
    assert f2b_private.cli("get", "alpha", "maxretry").strip() == "6"
    assert console.csp_violations == []

    # Screenshots last: Playwright leaves style="" attributes behind.
    screenshot_schemes(page, "config-filter-rollback")
    (f2b_private.conf_dir / "jail.d" / "dormant.conf").write_text(
        "[dormant]\nenabled = false\nfilter = nginx-http-auth\nlogpath = /var/log/nginx/gone.log\n"
    )  # the fixture removes it
    page.goto(f"{base}/config/jails/")
    expect(page.locator("table.cfg-jails")).to_contain_text("inactive")
    screenshot_schemes(page, "config-jails")
    page.goto(f"{base}/config/jails/dormant/")
    expect(page.get_by_role("button", name="Activate")).to_be_disabled()
    screenshot_schemes(page, "config-jail-inactive")
    page.goto(f"{base}/config/jails/sshd/")
    screenshot_schemes(page, "config-jail-edit")
    page.goto(f"{base}/config/filters/")
    screenshot_schemes(page, "config-filters")
    # The long list narrows as one types (and shows whole again when emptied).
    rows = page.locator("#cfg-filters-table tbody tr")
    page.fill("#cfg-find", "apache-")
    expect(rows.filter(visible=True).first).to_contain_text("apache-")
    assert all("apache-" in r.inner_text() for r in rows.filter(visible=True).all())
    page.fill("#cfg-find", "")
    expect(rows.filter(visible=True)).to_have_count(rows.count())
    assert console.csp_violations == []
