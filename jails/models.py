"""Records of the jails area: the audit log of every change made through BanGUI."""

from __future__ import annotations

from django.conf import settings
from django.db import models


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

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The audit page filters by action and lists newest first.
            models.Index(fields=["action", "-created_at"], name="jails_audit_action_time"),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.username} {self.action} {self.target}"
