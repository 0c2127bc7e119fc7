"""Writes of the alerts app: channels, sending with retries, the record's retention."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.db import transaction
from django.utils import timezone

from alerts.delivery import DeliveryError, Message, deliver
from alerts.models import Channel, Notification, Rule
from jails.audit.services import Actor, audit_record
from jails.models import AuditEvent

log = logging.getLogger("bangui.alerts")

# A failed delivery is tried again after 1, 4 and 16 minutes, then given up.
MAX_ATTEMPTS = 4
BACKOFF = (timedelta(minutes=1), timedelta(minutes=4), timedelta(minutes=16))
RETENTION = timedelta(days=90)
# How long a failed channel keeps "alerts failing" in the status bar.
FAILING_FOR = timedelta(hours=24)


def apprise_shown(url: str) -> str:
    """What the page shows of an apprise URL: its scheme and host, never its tokens."""
    parts = urlsplit(url)
    host = (parts.hostname or "").split("@")[-1]
    return f"{parts.scheme}://{host}/…" if parts.scheme else "(apprise URL)"


def channel_save(*, channel: Channel, secret: str, actor: Actor | None = None) -> Channel:
    """Save a new or edited channel; an empty ``secret`` keeps the stored one.

    Audited by name and kind; the target and the secret stay out of the audit log.
    """
    op = "edit" if channel.pk else "add"
    if secret:
        channel.secret = secret
    if channel.kind == Channel.Kind.APPRISE:
        channel.target = apprise_shown(channel.secret)
    channel.full_clean()
    channel.save()
    # Name and kind only: the target may hold a token in its path.
    log.info("alert channel %r saved (%s)", channel.name, channel.kind)
    audit_record(
        actor=actor or Actor.system(),
        action=AuditEvent.Action.ALERT_CHANNEL,
        target=channel.name,
        params={"op": op, "kind": channel.kind, "enabled": channel.enabled},
    )
    return channel


def channel_delete(*, channel: Channel, actor: Actor | None = None) -> None:
    """Delete a channel; its notifications stay listed."""
    name, kind = channel.name, channel.kind
    channel.delete()
    audit_record(
        actor=actor or Actor.system(),
        action=AuditEvent.Action.ALERT_CHANNEL,
        target=name,
        params={"op": "delete", "kind": kind},
    )


def rule_save(
    *, rule: Rule, channels: list[Channel], restart: bool = False, actor: Actor | None = None
) -> Rule:
    """Save a rule and its channels; ``restart`` forgets what it had seen (a new event)."""
    op = "edit" if rule.pk else "add"
    if restart:
        rule.state, rule.last_sent_at = {}, None
    with transaction.atomic():
        rule.full_clean(exclude=["channels"])
        rule.save()
        rule.channels.set(channels)
        audit_record(
            actor=actor or Actor.system(),
            action=AuditEvent.Action.ALERT_RULE,
            target=rule.name,
            params={"op": op, "event": rule.event, "channels": [c.name for c in channels]},
        )
    return rule


def rule_delete(*, rule: Rule, actor: Actor | None = None) -> None:
    name, event = rule.name, rule.event
    rule.delete()
    audit_record(
        actor=actor or Actor.system(),
        action=AuditEvent.Action.ALERT_RULE,
        target=name,
        params={"op": "delete", "event": event},
    )


def _attempt(
    notification: Notification, channel: Channel, message: Message, *, retry: bool = True
) -> None:
    now = timezone.now()
    notification.attempts += 1
    try:
        deliver(channel, message)
    except DeliveryError as exc:
        notification.error = str(exc)[:500]
        if retry and notification.attempts < MAX_ATTEMPTS:
            notification.outcome = Notification.Outcome.RETRYING
            notification.next_attempt_at = now + BACKOFF[notification.attempts - 1]
        else:
            notification.outcome = Notification.Outcome.FAILED
            notification.next_attempt_at = None
        Channel.objects.filter(pk=channel.pk).update(
            last_failed_at=now, last_error=notification.error
        )
        log.warning("alert to channel %r failed: %s", channel.name, notification.error)
    else:
        notification.outcome = Notification.Outcome.SENT
        notification.sent_at = now
        notification.next_attempt_at = None
        Channel.objects.filter(pk=channel.pk).update(last_ok_at=now)
    notification.save()


def notify(
    *, channels: list[Channel], message: Message, rule: Rule | None = None, retry: bool = True
) -> list[Notification]:
    """Send ``message`` to each channel, one after another; a failing one does not stop the rest."""
    sent = []
    for channel in channels:
        notification = Notification(
            rule=rule,
            rule_name=rule.name if rule else "",
            channel=channel,
            channel_name=channel.name,
            event=message.event,
            subject=message.subject[:200],
            body=message.body[:4000],
            link=message.link[:500],
            outcome=Notification.Outcome.RETRYING,
        )
        _attempt(notification, channel, message, retry=retry)
        sent.append(notification)
    return sent


def channel_test(*, channel: Channel, username: str) -> Notification:
    """The page's "send test" button: one message now, recorded like any other."""
    message = Message(
        event="test",
        subject=f"Test from BanGUI ({channel.name})",
        body=f"{username} sent this test message from the Alerts page. Alerts reach you here.",
        test=True,
    )
    # Tried once: whoever pressed the button sees the outcome and can press it again.
    return notify(channels=[channel], message=message, retry=False)[0]


def retries_due(now: datetime | None = None) -> int:
    """Try again every delivery whose pause is over; the number tried."""
    now = now or timezone.now()
    due = Notification.objects.filter(
        outcome=Notification.Outcome.RETRYING, next_attempt_at__lte=now
    ).select_related("channel")
    tried = 0
    for notification in due:
        # Claimed by a conditional update: a second run of the job skips it.
        claimed = Notification.objects.filter(
            pk=notification.pk, attempts=notification.attempts, outcome="retrying"
        ).update(next_attempt_at=None)
        if not claimed:
            continue
        channel = notification.channel
        if channel is None or not channel.enabled:
            notification.outcome = Notification.Outcome.FAILED
            notification.error = "the channel was deleted or disabled"
            notification.next_attempt_at = None
            notification.save()
            continue
        message = Message(
            event=notification.event,
            subject=notification.subject,
            body=notification.body,
            link=notification.link,
        )
        _attempt(notification, channel, message)
        tried += 1
    return tried


def notifications_purge(now: datetime | None = None) -> int:
    """Forget notifications older than the retention (90 days)."""
    cutoff = (now or timezone.now()) - RETENTION
    with transaction.atomic():
        deleted, _ = Notification.objects.filter(created_at__lt=cutoff).delete()
    return deleted
