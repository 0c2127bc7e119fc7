"""Sending one message through one channel: email, apprise, or a signed JSON webhook.

``deliver`` raises ``DeliveryError`` with a short reason that never holds the
channel's secret; the caller records it and decides about a retry.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass

import requests
from django.conf import settings
from django.core.mail import EmailMessage, get_connection

from alerts.models import Channel

TIMEOUT_SECONDS = 10
SIGNATURE_HEADER = "X-BanGUI-Signature"


class DeliveryError(Exception):
    """The channel did not take the message; the text is safe to show and store."""


@dataclass(frozen=True)
class Message:
    event: str
    subject: str
    body: str
    link: str = ""
    test: bool = False


def _redacted(text: str, channel: Channel) -> str:
    text = text.replace(channel.secret, "[secret]") if channel.secret else text
    return text[:500]


def sign(secret: str, body: bytes) -> str:
    """The signature header's value: ``sha256=`` and the hex HMAC of the raw body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _email(channel: Channel, message: Message) -> None:
    recipients = [a.strip() for a in channel.target.split(",") if a.strip()]
    connection = get_connection(
        "django.core.mail.backends.smtp.EmailBackend",
        host=settings.BANGUI_SMTP_HOST,
        port=settings.BANGUI_SMTP_PORT,
        username=settings.BANGUI_SMTP_USER or None,
        password=settings.BANGUI_SMTP_PASSWORD or None,
        use_tls=settings.BANGUI_SMTP_TLS == "starttls",
        use_ssl=settings.BANGUI_SMTP_TLS == "ssl",
        timeout=TIMEOUT_SECONDS,
    )
    body = f"{message.body}\n\nIn BanGUI: {message.link}\n" if message.link else f"{message.body}\n"
    email = EmailMessage(
        subject=f"[BanGUI] {message.subject}",
        body=body,
        from_email=settings.BANGUI_SMTP_FROM,
        to=recipients,
        connection=connection,
        headers={"X-BanGUI-Event": message.event},
    )
    try:
        email.send(fail_silently=False)
    except (OSError, ValueError) as exc:  # smtplib's errors are OSErrors
        raise DeliveryError(f"SMTP {settings.BANGUI_SMTP_HOST}: {exc}") from None


def _apprise(channel: Channel, message: Message) -> None:
    import apprise  # imported here: only the job and a test send need it

    notifier = apprise.Apprise()
    if not notifier.add(channel.secret):
        raise DeliveryError("apprise does not understand this URL")
    body = f"{message.body}\n\nIn BanGUI: {message.link}" if message.link else message.body
    with apprise.LogCapture(level=logging.WARNING) as captured:
        ok = notifier.notify(
            body=body, title=message.subject, body_format=apprise.NotifyFormat.TEXT
        )
        said = captured.getvalue().strip().splitlines()
    if not ok:
        raise DeliveryError(_redacted(said[-1] if said else "apprise could not deliver", channel))


def webhook_body(message: Message) -> bytes:
    return json.dumps(
        {
            "event": message.event,
            "subject": message.subject,
            "text": message.body,
            "link": message.link,
            "test": message.test,
        },
        ensure_ascii=False,
    ).encode()


def _webhook(channel: Channel, message: Message) -> None:
    body = webhook_body(message)
    headers = {"Content-Type": "application/json", "User-Agent": "BanGUI alerts"}
    if channel.secret:
        headers[SIGNATURE_HEADER] = sign(channel.secret, body)
    try:
        response = requests.post(
            channel.target,
            data=body,
            headers=headers,
            timeout=TIMEOUT_SECONDS,
            allow_redirects=False,
        )
    except requests.RequestException as exc:
        raise DeliveryError(_redacted(f"{type(exc).__name__}: {exc}", channel)) from None
    if not 200 <= response.status_code < 300:
        raise DeliveryError(f"HTTP {response.status_code} from the webhook")


_SENDERS: dict[str, Callable[[Channel, Message], None]] = {
    Channel.Kind.EMAIL: _email,
    Channel.Kind.APPRISE: _apprise,
    Channel.Kind.WEBHOOK: _webhook,
}


def deliver(channel: Channel, message: Message) -> None:
    """Send now; raise ``DeliveryError`` when the channel does not take it."""
    sender = _SENDERS.get(channel.kind)
    if sender is None:
        raise DeliveryError(f"unknown channel kind {channel.kind!r}")
    sender(channel, message)
