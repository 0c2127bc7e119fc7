"""Each channel kind against a real receiver on 127.0.0.1."""

from __future__ import annotations

import hmac
from datetime import timedelta

import pytest
from django.utils import timezone

from alerts import services
from alerts.delivery import Message, sign
from alerts.models import Channel, Notification

pytestmark = pytest.mark.django_db

MESSAGE = Message(event="test", subject="Hello", body="Two lines.\nSecond one.", link="/history/")


def _channel(kind: str, target: str = "", secret: str = "", name: str = "") -> Channel:
    return services.channel_save(
        channel=Channel(name=name or kind, kind=kind, target=target), secret=secret
    )


def test_it_emails_through_the_configured_smtp_server(smtp) -> None:  # type: ignore[no-untyped-def]
    channel = _channel("email", "ops@example.test, boss@example.test")
    [note] = services.notify(channels=[channel], message=MESSAGE)
    assert note.outcome == Notification.Outcome.SENT
    [mail] = smtp
    assert mail["Subject"] == "[BanGUI] Hello"
    assert mail["To"] == "ops@example.test, boss@example.test"
    assert mail["X-BanGUI-Event"] == "test"
    assert "Second one." in mail.get_payload(decode=True).decode()


def test_it_signs_the_webhook_body_with_the_channel_secret(hooks) -> None:  # type: ignore[no-untyped-def]
    channel = _channel("webhook", hooks.url(), secret="s3cret-key")
    services.notify(channels=[channel], message=MESSAGE)
    [got] = hooks.received
    assert got.json()["subject"] == "Hello"
    expected = sign("s3cret-key", got.body)
    assert hmac.compare_digest(got.headers["X-BanGUI-Signature"], expected)
    assert expected.startswith("sha256=") and len(expected) == 7 + 64


def test_it_posts_through_an_apprise_json_url(hooks) -> None:  # type: ignore[no-untyped-def]
    url = f"json://127.0.0.1:{hooks.port}/apprise?token=t0ken"
    channel = _channel("apprise", secret=url)
    [note] = services.notify(channels=[channel], message=MESSAGE)
    assert note.outcome == Notification.Outcome.SENT, note.error
    [got] = hooks.received
    assert got.path.startswith("/apprise")
    assert got.json()["title"] == "Hello"
    assert "Second one." in got.json()["message"]
    # The page shows the scheme and host, never the token.
    assert channel.target == "json://127.0.0.1/…"


def test_a_failing_channel_is_retried_with_backoff_and_the_others_still_get_it(hooks, smtp) -> None:  # type: ignore[no-untyped-def]
    broken = _channel("webhook", hooks.url("/broken"), secret="k", name="broken")
    mail = _channel("email", "ops@example.test")
    hooks.status = 500
    bad, good = services.notify(channels=[broken, mail], message=MESSAGE)
    assert good.outcome == Notification.Outcome.SENT and len(smtp) == 1
    assert bad.outcome == Notification.Outcome.RETRYING
    assert bad.error == "HTTP 500 from the webhook"
    broken.refresh_from_db()
    assert broken.failing

    # Not before its pause is over; then once per run until it gives up.
    assert services.retries_due(timezone.now()) == 0
    later = timezone.now()
    for _ in range(services.MAX_ATTEMPTS - 1):
        later += timedelta(hours=1)
        assert services.retries_due(later) == 1
    bad.refresh_from_db()
    assert bad.outcome == Notification.Outcome.FAILED
    assert bad.attempts == services.MAX_ATTEMPTS
    assert len(hooks.received) == services.MAX_ATTEMPTS
    assert services.retries_due(later + timedelta(days=1)) == 0
    assert len(smtp) == 1


def test_a_retry_that_succeeds_clears_the_failure(hooks) -> None:  # type: ignore[no-untyped-def]
    channel = _channel("webhook", hooks.url(), secret="k")
    hooks.status = 500
    [note] = services.notify(channels=[channel], message=MESSAGE)
    hooks.status = 204
    assert services.retries_due(timezone.now() + timedelta(minutes=2)) == 1
    note.refresh_from_db()
    channel.refresh_from_db()
    assert note.outcome == Notification.Outcome.SENT and note.attempts == 2
    assert not channel.failing


def test_an_unreachable_webhook_is_a_recorded_failure_without_its_secret() -> None:
    channel = _channel("webhook", "http://127.0.0.1:9/hook", secret="never-show-me")
    [note] = services.notify(channels=[channel], message=MESSAGE)
    assert note.outcome == Notification.Outcome.RETRYING
    assert "never-show-me" not in note.error and note.error


def test_an_apprise_failure_does_not_leak_the_url_tokens() -> None:
    channel = _channel("apprise", secret="json://127.0.0.1:9/p?token=very-secret-token")
    [note] = services.notify(channels=[channel], message=MESSAGE)
    assert note.outcome == Notification.Outcome.RETRYING
    assert "very-secret-token" not in note.error


def test_it_forgets_notifications_past_the_retention(hooks) -> None:  # type: ignore[no-untyped-def]
    channel = _channel("webhook", hooks.url())
    [old] = services.notify(channels=[channel], message=MESSAGE)
    Notification.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=91))
    services.notify(channels=[channel], message=MESSAGE)
    assert services.notifications_purge() == 1
    assert Notification.objects.count() == 1
