"""Alert channels, the rules that use them, and the record of every notification."""

from __future__ import annotations

from django.db import models


class Channel(models.Model):
    """Where a notification goes: email addresses, an apprise URL, or a signed JSON webhook.

    ``secret`` is the webhook's signing key, or the whole apprise URL (its tokens
    are the credential); it is written once and never shown or logged again.
    ``target`` is what the page shows: the addresses, the webhook URL, or the
    apprise URL's scheme and host only.
    """

    class Kind(models.TextChoices):
        EMAIL = "email", "Email"
        APPRISE = "apprise", "Apprise URL (ntfy, Gotify, Telegram, Discord, Slack, Teams…)"
        WEBHOOK = "webhook", "JSON webhook (HMAC-SHA256 signed)"

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    target = models.CharField(max_length=1000, blank=True)
    secret = models.CharField(max_length=2000, blank=True)
    enabled = models.BooleanField(default=True)
    # The last delivery's outcome, for the page and the status bar's "alerts failing".
    last_ok_at = models.DateTimeField(null=True, blank=True)
    last_failed_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def failing(self) -> bool:
        """Its last attempt failed (a later success clears it)."""
        return self.last_failed_at is not None and (
            self.last_ok_at is None or self.last_failed_at > self.last_ok_at
        )


class Rule(models.Model):
    """An event to watch, its parameters and filters, the channels, and a quiet period.

    ``state`` is the evaluation job's memory for this rule: cursors (the last
    audit row or import run seen), an open condition ("down since …"), and the
    digest lines held back during the quiet period.
    """

    class Event(models.TextChoices):
        UNREACHABLE = "unreachable", "fail2ban unreachable, and back again"
        BAN_SPIKE = "ban_spike", "Ban spike"
        BLOCKLIST_FAILED = "blocklist_failed", "Blocklist import failed or overdue"
        CONFIG_CHANGE = "config_change", "Configuration change applied or rolled back"
        HISTORY_LAG = "history_lag", "History sync lagging or failing"
        GEOIP_OLD = "geoip_old", "GeoIP database old or unusable"
        JAIL_STOPPED = "jail_stopped", "A jail stopped, or missing after a reload"
        REPEAT_OFFENDER = "repeat_offender", "An address banned again within N days"

    class Scope(models.TextChoices):
        OVERALL = "overall", "All jails together"
        PER_JAIL = "jail", "Per jail"
        PER_COUNTRY = "country", "Per country"

    name = models.CharField(max_length=100, unique=True)
    event = models.CharField(max_length=20, choices=Event.choices)
    enabled = models.BooleanField(default=True)
    channels = models.ManyToManyField(Channel, related_name="rules")
    # Unreachable / history lag: seconds; GeoIP, repeat offender: days;
    # ban spike: more than ``threshold`` bans ...
    threshold = models.PositiveIntegerField(default=60)
    # ... within this many minutes.
    window_minutes = models.PositiveIntegerField(default=5)
    scope = models.CharField(max_length=8, choices=Scope.choices, default=Scope.OVERALL)
    # Optional filters of the ban spike: only this jail, origin, country.
    jail = models.CharField(max_length=64, blank=True)
    origin = models.CharField(max_length=16, blank=True)
    country = models.CharField(max_length=2, blank=True)
    quiet_minutes = models.PositiveIntegerField(default=15)
    state = models.JSONField(default=dict, blank=True)
    last_sent_at = models.DateTimeField(null=True, blank=True)
    evaluated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Notification(models.Model):
    """One message to one channel: what was said, and whether it arrived.

    A failed delivery is tried again with a growing pause (``next_attempt_at``)
    until ``MAX_ATTEMPTS``; the other channels of the same message do not wait.
    """

    class Outcome(models.TextChoices):
        SENT = "sent", "Sent"
        RETRYING = "retrying", "Failed, will retry"
        FAILED = "failed", "Failed"

    rule = models.ForeignKey(
        Rule, null=True, blank=True, on_delete=models.SET_NULL, related_name="notifications"
    )
    channel = models.ForeignKey(
        Channel, null=True, blank=True, on_delete=models.SET_NULL, related_name="notifications"
    )
    # Kept as text so that the record outlives a deleted rule or channel.
    rule_name = models.CharField(max_length=100, blank=True)
    channel_name = models.CharField(max_length=100)
    event = models.CharField(max_length=20, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    subject = models.CharField(max_length=200)
    body = models.TextField()
    link = models.CharField(max_length=500, blank=True)
    outcome = models.CharField(max_length=8, choices=Outcome.choices)
    error = models.CharField(max_length=500, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    sent_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The retry pass looks only at deliveries still waiting for another try.
            models.Index(
                fields=["next_attempt_at"],
                name="alerts_notif_retry",
                condition=models.Q(outcome="retrying"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.channel_name}: {self.subject}"
