"""Roles in a real browser: an admin adds an operator; the operator bans and unbans but
cannot configure; a viewer sees and changes nothing."""

from __future__ import annotations

import os
import re

import pytest

from conftest import ADMIN_PASSWORD
from tests.browser.shots import screenshot_schemes

try:
    from playwright.sync_api import expect
except ImportError:
    if os.environ.get("CI", "").lower() == "true":
        raise
    pytest.skip("the playwright Python package is missing", allow_module_level=True)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

IP = "203.0.113.91"
OPERATOR_PASSWORD = "Operator-long-pass-42"
VIEWER_PASSWORD = "Viewer-long-pass-42"


def _log_in(page, base: str, username: str | None, password: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/login/")
    if username is not None:
        page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/")


def _log_out(page) -> None:  # type: ignore[no-untyped-def]
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(re.compile(r"/login/$"))


def _post(page, base: str, path: str, form: dict[str, str]):  # type: ignore[no-untyped-def]
    """A POST with the page's cookies and CSRF token, as a forged form would send it."""
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    return page.request.post(
        f"{base}{path}", form=form, headers={"X-CSRFToken": token, "Referer": f"{base}/"}
    )


def test_an_admin_adds_an_operator_who_bans_but_cannot_configure(  # type: ignore[no-untyped-def]
    page, console, live_server, f2b, configured
):
    base = live_server.url
    _log_in(page, base, None, ADMIN_PASSWORD)
    page.get_by_role("link", name="Users").click()
    expect(page.get_by_role("heading", name="Users", exact=True)).to_be_visible()
    page.fill("#id_username", "opal")
    page.select_option("#id_role", "operator")
    page.fill("#id_password", OPERATOR_PASSWORD)
    page.fill("#id_password_confirm", OPERATOR_PASSWORD)
    page.get_by_role("button", name="Add user").click()
    expect(page.locator(".msg-success")).to_have_text("Added opal as operator.")
    expect(page.locator("table")).to_contain_text("opal")
    screenshot_schemes(page, "users")
    _log_out(page)

    # The operator bans and unbans.
    _log_in(page, base, "opal", OPERATOR_PASSWORD)
    expect(page.locator(".role-tag")).to_have_text("operator")
    expect(page.get_by_role("link", name="Users")).to_have_count(0)
    page.get_by_role("link", name="Jails", exact=True).click()
    expect(page.get_by_role("button", name="Reload fail2ban…")).to_have_count(0)
    page.get_by_role("link", name="Ban IPs").click()
    page.fill("#id_ips", IP)
    page.select_option("#id_jail", "beta")
    page.get_by_role("button", name="Ban", exact=True).click()
    expect(page.locator(".panel-ok")).to_contain_text("1 banned in beta")
    assert IP in f2b.client().banned_ips("beta")
    page.goto(f"{base}/jails/beta/")
    page.locator("#bans-table tr", has_text=IP).get_by_role("button", name="Unban").click()
    expect(page.locator(".msg-success")).to_contain_text(f"Unbanned {IP}")
    assert IP not in f2b.client().banned_ips("beta")

    # Configuration: shown, not editable, and a forged POST is refused.
    page.goto(f"{base}/config/jails/alpha/")
    expect(page.get_by_text("Only admins can change this")).to_be_visible()
    expect(page.locator("fieldset.plain[disabled]")).to_have_count(1)
    expect(page.get_by_role("button", name="Deactivate")).to_have_count(0)
    screenshot_schemes(page, "config-jail-operator")
    before = (f2b.conf_dir / "jail.conf").read_bytes()
    response = _post(page, base, "/config/jails/alpha/", {"maxretry": "9", "bantime": "600"})
    assert response.status == 403
    assert "Your role cannot do this" in response.text()
    assert (f2b.conf_dir / "jail.conf").read_bytes() == before
    assert not (f2b.conf_dir / "jail.d" / "alpha.local").exists()
    assert console.csp_violations == [] and console.errors == []


def test_a_viewer_sees_the_dashboard_and_changes_nothing(  # type: ignore[no-untyped-def]
    page, console, live_server, f2b, configured
):
    from django.contrib.auth import get_user_model

    from bangui.models import UserProfile

    viewer = get_user_model().objects.create_user("vera", password=VIEWER_PASSWORD)
    UserProfile.objects.create(user=viewer, role="viewer")
    f2b.client().ban("alpha", [IP])
    base = live_server.url
    _log_in(page, base, "vera", VIEWER_PASSWORD)
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    page.get_by_role("link", name="Jails", exact=True).click()
    expect(page.get_by_role("link", name="Ban IPs")).to_have_count(0)
    page.goto(f"{base}/jails/alpha/")
    expect(page.locator("#bans-table")).to_contain_text(IP)
    expect(page.get_by_role("button", name="Unban")).to_have_count(0)
    screenshot_schemes(page, "jail-viewer")
    response = _post(page, base, "/bans/unban/", {"entry": IP, "jail": "alpha"})
    assert response.status == 403
    assert IP in f2b.client().banned_ips("alpha")
    page.goto(f"{base}/bans/new/")
    expect(page.get_by_role("heading", name="Your role cannot do this")).to_be_visible()
    assert console.csp_violations == []
