"""Configuration → Files and Regex tester in a real browser, against a real fail2ban.

Screenshots come last in each test: taking them leaves ``style=""`` on the page.
"""

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


def _files(conf) -> dict[str, bytes]:  # type: ignore[no-untyped-def]
    return {str(p): p.read_bytes() for p in conf.rglob("*") if p.is_file()}


def _open_new_file(page, base: str, subdir: str, name: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/config/files/")
    page.get_by_role("link", name="Files", exact=True).click()
    page.select_option("#id_subdir", subdir)
    page.fill("#id_name", name)
    page.get_by_role("button", name="Open the editor").click()


def test_create_a_local_and_see_fail2ban_apply_it(  # type: ignore[no-untyped-def]
    page, console, live_server, f2b_private, private_setup
):
    base = live_server.url
    log_in(page, base)
    _open_new_file(page, base, "jail.d", "zz-test.local")
    page.fill("#id_content", "[alpha]\nmaxretry = 9\n")
    page.get_by_role("button", name="Test and save").click()
    expect(page.locator(".messages")).to_contain_text("Saved jail.d/zz-test.local")
    expect(page.locator("pre.file-view")).to_contain_text("maxretry = 9")
    assert f2b_private.cli("get", "alpha", "maxretry").strip() == "9"

    page.get_by_role("link", name="Files", exact=True).first.click()
    row = page.locator(".files-table tr", has_text="zz-test.local")
    expect(row).to_contain_text(".local")
    (f2b_private.conf_dir / "filter.d" / "sshd.local").write_text("[Definition]\n")
    page.get_by_role("link", name="filter.d/").click()
    page.fill("#id_fq", "ssh")
    page.get_by_role("button", name="Show").click()
    expect(page.locator(".files-table tr", has_text="sshd.conf")).to_contain_text(
        "overridden by .local"
    )
    assert console.errors == []
    screenshot_schemes(page, "config-files")


def test_a_broken_file_shows_fail2ban_error_and_changes_nothing(  # type: ignore[no-untyped-def]
    page, console, live_server, f2b_private, private_setup
):
    base = live_server.url
    before = _files(f2b_private.conf_dir)
    log_in(page, base)
    _open_new_file(page, base, "jail.d", "broken.local")
    page.fill("#id_content", "[alpha]\nmaxretry = 9\nthis is not ini\n")
    page.get_by_role("button", name="Test and save").click()
    failure = page.locator(".apply-failure")
    expect(failure).to_contain_text("Not applied")
    expect(failure.locator("pre.f2b-output")).to_be_visible()
    expect(page.locator("#id_content")).to_have_value("[alpha]\nmaxretry = 9\nthis is not ini\n")
    assert _files(f2b_private.conf_dir) == before
    assert sorted(f2b_private.client().jails()) == ["alpha", "beta", "sshd"]
    assert f2b_private.cli("get", "alpha", "maxretry").strip() == "3"
    assert console.errors == []
    screenshot_schemes(page, "config-file-error")


def test_regex_tester_highlights_the_host(  # type: ignore[no-untyped-def]
    page, console, live_server, f2b_private, private_setup
):
    base = live_server.url
    log_in(page, base)
    page.goto(f"{base}/config/files/")
    page.get_by_role("link", name="Regex tester").click()
    page.fill("#id_failregex", r"^\s*lab: auth failure from <HOST>(?: user \S+)?$")
    page.fill("#id_ignoreregex", r"from 10\.")
    page.fill(
        "#id_lines",
        "Nov 25 10:00:00 lab: auth failure from 192.0.2.1 user root\n"
        "Nov 25 10:00:03 lab: auth failure from 2001:db8::7\n"
        "Nov 25 10:00:04 lab: session opened for user alice\n"
        "Nov 25 10:00:05 lab: auth failure from 10.0.0.5\n",
    )
    expect(page.locator("#id_log_path")).to_be_hidden()  # only the chosen source shows
    page.get_by_role("button", name="Test", exact=True).click()
    matched = page.locator(".loglines.matched mark")
    expect(matched).to_have_count(2)
    expect(matched.first).to_have_text("192.0.2.1")
    expect(page.locator(".loglines.missed")).to_contain_text("session opened")
    expect(page.locator(".loglines.ignored")).to_contain_text("10.0.0.5")
    assert page.url.endswith("/config/regex/")  # htmx swapped the results in place
    assert console.errors == []
    screenshot_schemes(page, "config-regex")
