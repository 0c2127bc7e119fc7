"""Alerts in a real browser: add a channel, send a test, add a rule, see what it sent."""

from __future__ import annotations

import html
import os
from collections.abc import Iterator
from email.header import decode_header, make_header
from email.message import Message as EmailMessage

import pytest

from alerts.tests.receivers import HookServer, hook_server, smtp_sink
from tests.browser.helpers import assert_clean, log_in
from tests.browser.shots import screenshot, screenshot_schemes

try:
    from playwright.sync_api import expect
except ImportError:
    if os.environ.get("CI", "").lower() == "true":
        raise
    pytest.skip("the playwright Python package is missing", allow_module_level=True)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def hooks() -> Iterator[HookServer]:
    with hook_server() as server:
        yield server


@pytest.fixture
def smtp(settings) -> Iterator[list[EmailMessage]]:  # type: ignore[no-untyped-def]
    with smtp_sink(settings) as messages:
        yield messages


def _add_channel(page, name: str, kind: str, target: str, secret: str = "") -> None:  # type: ignore[no-untyped-def]
    page.locator(".al-add summary", has_text="Add a channel").click()
    form = page.locator("form[action$='/channels/add/']")
    form.locator("#id_name").fill(name)
    form.locator("#id_kind").select_option(kind)
    form.locator("#id_target").fill(target)
    if secret:
        form.locator("#id_secret").fill(secret)
    form.get_by_role("button", name="Add channel").click()
    expect(page.locator(".messages")).to_contain_text(f"Saved the channel “{name}”")


def test_a_channel_a_test_a_rule_and_the_notification_in_the_list(  # type: ignore[no-untyped-def]
    page, console, live_server, private_setup, hooks, smtp
):
    from alerts.evaluate import alerts_evaluate
    from jails.models import ConfigChange

    base = live_server.url
    log_in(page, base)
    page.goto(f"{base}/config/")
    page.get_by_role("link", name="Alerts").click()
    expect(page.get_by_role("heading", name="Channels")).to_be_visible()

    _add_channel(page, "ops webhook", "webhook", hooks.url(), secret="browser-secret")
    assert "browser-secret" not in page.content()
    _add_channel(page, "ops mail", "email", "ops@example.test")

    row = page.locator("tr", has_text="ops webhook")
    row.get_by_role("button", name="Send test").click()
    expect(row.locator(".al-test")).to_contain_text("test sent")
    expect(page.locator("#al-notifications")).to_contain_text("Test from BanGUI (ops webhook)")
    assert hooks.received[0].json()["test"] is True

    form = page.locator("form[action$='/rules/add/']")
    form.locator("#id_name").fill("config changes")
    form.locator("#id_event").select_option("config_change")
    form.get_by_label("ops webhook").check()
    form.get_by_label("ops mail").check()
    form.get_by_role("button", name="Add rule").click()
    expect(page.locator(".messages")).to_contain_text("Saved the rule “config changes”")

    # An apply happens; the job runs (here, in this process) and sends it.
    ConfigChange.objects.create(
        username="alice", what="sshd: bantime 1h", files=["jail.d/sshd.local"], ok=True,
        step="reload",
    )  # fmt: skip
    alerts_evaluate()
    page.reload()
    notes = page.locator("#al-notifications")
    expect(notes).to_contain_text("Configuration applied: “sshd: bantime 1h”")
    expect(notes.locator("tr", has_text="ops mail").first).to_contain_text("sent")
    assert_clean(console)
    screenshot_schemes(page, "alerts-page")

    # The webhook breaks: the test says so, the row and the status bar too.
    hooks.status = 500
    row.get_by_role("button", name="Send test").click()
    expect(row.locator(".al-test")).to_contain_text("test failed HTTP 500 from the webhook")
    page.reload()
    expect(page.locator("#status-bar")).to_contain_text("alerts failing")
    expect(page.locator("tr", has_text="ops webhook").first).to_contain_text("failing")
    page.locator(".al-add summary", has_text="Add a rule").click()
    screenshot(page, "alerts-failing")

    [mail] = smtp
    body = mail.get_payload(decode=True).decode().replace("\r\n", "\n")
    assert "Files: “jail.d/sshd.local”\nOutcome: applied and reloaded." in body
    subject = str(make_header(decode_header(mail["Subject"])))
    assert subject == "[BanGUI] Configuration applied: “sshd: bantime 1h”"
    page.set_content(
        "<pre style='font: 14px monospace; padding: 1rem'>"
        f"Subject: {html.escape(subject)}\nTo: {html.escape(str(mail['To']))}\n\n"
        f"{html.escape(body)}</pre>"
    )
    screenshot(page, "alerts-email", full_page=False)
