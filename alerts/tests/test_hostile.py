"""Attacker-controlled text (log lines, hostnames, names) reaches no message unquoted or uncut."""

from __future__ import annotations

import re
from datetime import timedelta
from email.header import decode_header, make_header

import pytest
from django.utils import timezone

from alerts import services
from alerts.evaluate import alerts_evaluate
from alerts.models import Channel
from alerts.tests.helpers import rule, webhook
from alerts.text import CUT, one_line, quoted
from bangui.models import ServerStatus
from blocklists.models import ImportRun
from jails.models import BanRecord, ConfigChange
from tests.hostile import HOSTILE

HOSTNAME = "a" * 10_000 + ".example"
MARKUP = "<script>alert(1)</script>\n[BanGUI] fail2ban is back\r\nBcc: victim@example.test"
INJECTED = (
    f"{MARKUP}\n{HOSTNAME}",
    "x\n[DEFAULT]\nbantime = 1",
    "line one\u2028line two\u202eevil",
    "”closing our quote",
)


@pytest.mark.parametrize("text", HOSTILE)
def test_quoted_text_is_one_line_and_short(text: str) -> None:
    shown = quoted(text)
    assert "\n" not in shown and "\r" not in shown and "\x00" not in shown
    assert len(shown) <= CUT + 2
    assert not re.search(r"[\u2028\u2029\u202e]", shown)


def test_a_long_text_is_cut_with_an_ellipsis_and_a_short_one_kept() -> None:
    assert one_line("sshd") == "sshd"
    assert one_line(HOSTNAME) == "a" * (CUT - 1) + "…"
    assert one_line("a\nb") == "a\\nb"


def _subject(mail) -> str:  # type: ignore[no-untyped-def]
    return str(make_header(decode_header(mail["Subject"])))


def _hostile_world(now) -> None:  # type: ignore[no-untyped-def]
    for n, text in enumerate(INJECTED * 60):
        BanRecord.objects.create(
            ip=f"{text}{n}", jail=text, banned_at=now - timedelta(seconds=n % 50),
            bantime=600, matches=text, country_code="<b",
        )  # fmt: skip
    ConfigChange.objects.create(
        username=MARKUP, what=HOSTNAME, files=[MARKUP, HOSTNAME], ok=False, step=MARKUP,
        message=MARKUP + HOSTNAME,
    )  # fmt: skip
    ImportRun.objects.create(
        source_name=MARKUP, url=f"https://{HOSTNAME}/list.txt", status="failed",
        error=f"could not resolve {HOSTNAME}\n{MARKUP}", finished_at=now,
    )  # fmt: skip
    ServerStatus.objects.create(
        pk=1, online=False, last_error=f"{HOSTNAME}: {MARKUP}", checked_at=now,
        changed_at=now - timedelta(hours=1),
    )  # fmt: skip


def test_hostile_records_reach_webhooks_and_emails_only_quoted_and_cut(db, hooks, smtp) -> None:  # type: ignore[no-untyped-def]
    mail = services.channel_save(
        channel=Channel(name="mail", kind="email", target="ops@example.test"), secret=""
    )
    channels = [webhook(hooks), mail]
    past = timezone.now() - timedelta(minutes=1)
    for event in ("ban_spike", "blocklist_failed", "config_change", "unreachable"):
        made = rule(event, channels, threshold=10, window_minutes=5, scope="jail")
        type(made).objects.filter(pk=made.pk).update(created_at=past)
    now = timezone.now()
    _hostile_world(now)
    alerts_evaluate(now + timedelta(seconds=1))

    texts = [f"{r.json()['subject']}\n{r.json()['text']}" for r in hooks.received]
    assert len(texts) == 4, [t[:80] for t in texts]
    emails = [f"{_subject(m)}\n{m.get_payload(decode=True).decode()}" for m in smtp]
    assert len(emails) == 4
    for text in texts + emails:
        assert "a" * (CUT + 1) not in text, "a long hostname went through uncut"
        for raw in (MARKUP, "\n[DEFAULT]", "\u2028", "\u202e", "\nBcc:", "\n[BanGUI]"):
            assert raw not in text
    # What was said is still there, escaped: a reader sees the attempt.
    failed = next(t for t in texts if t.startswith("Blocklist import failed"))
    assert "“<script>alert(1)</script>\\n[BanGUI] fail2ban is back\\r\\nBcc:" in failed
    for m in smtp:
        assert m["Bcc"] is None and "\n" not in _subject(m)
        assert m["To"] == "ops@example.test"
