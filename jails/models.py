"""Records of the jails area: audit log, history archive, rollup, config changes.

Also the names of BanGUI's own jails, which every area of the app knows.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

# BanGUI's jail for manual bans, and the blocklist jails (``blocklist-import``, and
# ``blocklist-import-7d`` and the like for sources with a ban time of their own).
MANUAL_JAIL = "manual"
BLOCKLIST_JAIL = "blocklist-import"


class AuditEvent(models.Model):
    """One action someone took through BanGUI, with what happened.

    Written by every mutating service, whether the action worked or not.
    ``username`` is kept as text so the record survives the user's deletion.
    """

    class Action(models.TextChoices):
        BAN = "ban", "Ban"
        UNBAN = "unban", "Unban"
        UNBAN_ALL = "unban_all", "Unban all"
        JAIL_START = "jail_start", "Start jail"
        JAIL_STOP = "jail_stop", "Stop jail"
        JAIL_RELOAD = "jail_reload", "Reload jail"
        JAIL_IDLE = "jail_idle", "Set jail idle"
        IGNORE_ADD = "ignore_add", "Add to ignore list"
        IGNORE_REMOVE = "ignore_remove", "Remove from ignore list"
        IGNORESELF = "ignoreself", "Set ignoreself"
        FAIL2BAN_RELOAD = "fail2ban_reload", "Reload fail2ban"
        FAIL2BAN_RESTART = "fail2ban_restart", "Restart fail2ban"
        CONFIG_WRITE = "config_write", "Write config file"
        BLOCKLIST_ADD = "blocklist_add", "Add blocklist"
        BLOCKLIST_EDIT = "blocklist_edit", "Edit blocklist"
        BLOCKLIST_DELETE = "blocklist_delete", "Delete blocklist"
        BLOCKLIST_IMPORT = "blocklist_import", "Import blocklist"
        LOGIN = "login", "Log in"
        LOGIN_FAILED = "login_failed", "Failed login"
        LOGOUT = "logout", "Log out"
        SETUP = "setup", "Setup"
        USER_ADD = "user_add", "Add user"
        USER_CHANGE = "user_change", "Change user"
        PASSWORD = "password", "Change password"
        TOTP = "totp", "Two-factor login"
        ALERT_CHANNEL = "alert_channel", "Change alert channel"
        ALERT_RULE = "alert_rule", "Change alert rule"

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    username = models.CharField(max_length=150, blank=True)
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    action = models.CharField(max_length=32, choices=Action.choices)
    target = models.CharField(max_length=255, blank=True, help_text="Jail, IP or file acted on.")
    params = models.JSONField(default=dict, blank=True)
    ok = models.BooleanField(default=True)
    result = models.TextField(blank=True, help_text="What fail2ban answered, or the error.")
    request_id = models.CharField(
        max_length=64,
        blank=True,
        help_text="The request's X-Request-ID, or task:<id> for a job: find its log lines.",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The audit page filters by action and lists newest first.
            models.Index(fields=["action", "-created_at"], name="jails_audit_action_time"),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.username} {self.action} {self.target}"


class BanRecord(models.Model):
    """One ban in BanGUI's history archive, kept after fail2ban forgets it.

    fail2ban purges its ``bans`` table after ``dbpurgeage`` and a manual unban
    deletes that IP's rows; the history_sync job copies them here first.
    ``ip`` is text because fail2ban also bans networks ("203.0.113.0/24").
    """

    class Origin(models.TextChoices):
        DETECTED = "detected", "Detected"
        MANUAL = "manual", "Manual"
        BLOCKLIST = "blocklist", "Blocklist"

    ip = models.CharField(max_length=64)
    jail = models.CharField(max_length=64)
    banned_at = models.DateTimeField()
    bantime = models.IntegerField(help_text="Seconds; -1 is permanent.")
    bancount = models.PositiveIntegerField(default=1)
    failures = models.PositiveIntegerField(default=0)
    matches = models.TextField(blank=True, help_text="Matched log lines, at most 10.")
    origin = models.CharField(max_length=16, choices=Origin.choices, default=Origin.DETECTED)
    country_code = models.CharField(max_length=2, blank=True)
    asn = models.PositiveIntegerField(null=True, blank=True)
    unbanned_at = models.DateTimeField(null=True, blank=True)
    unbanned_by = models.CharField(max_length=150, blank=True)
    synced_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-banned_at", "-id"]
        constraints = [
            # fail2ban has no key for a ban; this triple is what makes a sync idempotent.
            models.UniqueConstraint(
                fields=["ip", "jail", "banned_at"], name="jails_banrecord_unique"
            )
        ]
        indexes = [
            # History page, newest first, and the dashboard's time windows.
            models.Index(fields=["-banned_at"], name="jails_ban_time"),
            # Per-IP page and IP-prefix filters (range scans on ip).
            models.Index(fields=["ip", "-banned_at"], name="jails_ban_ip_time"),
            # History filtered by jail; bans per jail on the dashboard.
            models.Index(fields=["jail", "-banned_at"], name="jails_ban_jail_time"),
            # Map and top countries over a time window.
            models.Index(fields=["country_code", "-banned_at"], name="jails_ban_country_time"),
            # Origin filter (dashboard and history).
            models.Index(fields=["origin", "-banned_at"], name="jails_ban_origin_time"),
        ]

    def __str__(self) -> str:
        return f"{self.ip} in {self.jail} at {self.banned_at:%Y-%m-%d %H:%M:%S}"

    @property
    def permanent(self) -> bool:
        return self.bantime < 0


class HistorySyncState(models.Model):
    """Where the history sync stands (single row): high-water mark and last outcome."""

    db_path = models.CharField(max_length=255, blank=True)
    high_water = models.DateTimeField(null=True, blank=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_ok_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_added = models.PositiveIntegerField(default=0)
    longest_read_ms = models.FloatField(default=0)

    class Meta:
        verbose_name = "history sync state"

    def __str__(self) -> str:
        return f"history sync up to {self.high_water}"


class BanDayCount(models.Model):
    """Archived bans of one UTC day per (jail, origin, country): the dashboard's rollup.

    Written only for days that are over, together with their ``BanRollupDay``
    marker, by ``jails.history.rollup.rollup_fill``; any write to the archive for a day
    deletes both first, so a count row is never stale.
    """

    day = models.DateField()
    jail = models.CharField(max_length=64)
    origin = models.CharField(max_length=16)
    country_code = models.CharField(max_length=2, blank=True)
    count = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "jail", "origin", "country_code"], name="jails_daycount_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.jail} {self.origin} {self.country_code}: {self.count}"


class BanRollupDay(models.Model):
    """A UTC day whose counts are in ``BanDayCount`` (a day with no bans has no counts)."""

    day = models.DateField(primary_key=True)
    filled_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"rollup of {self.day}"


class ConfigChange(models.Model):
    """One apply of configuration files through BanGUI, with what the files held before.

    ``previous`` maps each path (relative to the config dir) to its old content
    (base64) or None when BanGUI created the file: enough to undo an apply that
    passed its checks but after which fail2ban went down (pending recovery).
    """

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    username = models.CharField(max_length=150, blank=True)
    what = models.CharField(max_length=255, help_text="What the change was, for people.")
    files = models.JSONField(default=list)
    previous = models.JSONField(default=dict)
    reload_jail = models.CharField(max_length=64, blank=True)
    ok = models.BooleanField(default=False)
    step = models.CharField(max_length=16, blank=True)
    message = models.TextField(blank=True)
    rolled_back_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.what} ({self.step})"
