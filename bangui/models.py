"""BanGUI's own records: setup settings, instance locks, fail2ban status, data versions."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import models
from django.utils import timezone

from bangui.roles import Role

_CACHE_KEY = "bangui:appsettings"


class AppSettings(models.Model):
    """The single row of settings chosen at first-run setup (pk is always 1)."""

    fail2ban_socket = models.CharField(max_length=255)
    fail2ban_config_dir = models.CharField(max_length=255)
    timezone = models.CharField(max_length=64, default="UTC")
    session_minutes = models.PositiveIntegerField(default=480)
    setup_completed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "settings"
        verbose_name_plural = "settings"

    def __str__(self) -> str:
        return "BanGUI settings"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.pk = 1
        super().save(*args, **kwargs)
        cache.delete(_CACHE_KEY)

    @property
    def setup_done(self) -> bool:
        return self.setup_completed_at is not None

    @classmethod
    def current(cls) -> AppSettings:
        """The saved row, or unsaved defaults from the environment before setup.

        Read on every request (timezone, socket path), so it is cached briefly.
        """
        row: AppSettings | None = cache.get(_CACHE_KEY)
        if row is None:
            row = cls.objects.filter(pk=1).first() or cls(
                pk=1,
                fail2ban_socket=settings.BANGUI_FAIL2BAN_SOCKET,
                fail2ban_config_dir=settings.BANGUI_FAIL2BAN_CONFIG_DIR,
            )
            cache.set(_CACHE_KEY, row, 10)
        return row

    @classmethod
    def forget(cls) -> None:
        """Drop the cached row (after a write that did not go through ``save()``)."""
        cache.delete(_CACHE_KEY)


class InstanceLock(models.Model):
    """An advisory lock: at most one web instance and one job scheduler per database.

    The holder renews ``expires_at`` by heartbeat; an expired lock, or one whose
    holder process is gone from this host, is taken over.
    """

    name = models.CharField(max_length=50, primary_key=True)
    owner = models.CharField(max_length=200)
    hostname = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    acquired_at = models.DateTimeField(default=timezone.now)
    heartbeat_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} held by {self.hostname}:{self.pid}"


class ServerStatus(models.Model):
    """The latest fail2ban health snapshot (single row), written by the health_check job."""

    online = models.BooleanField(default=False)
    version = models.CharField(max_length=32, blank=True)
    jail_count = models.PositiveIntegerField(default=0)
    currently_banned = models.PositiveIntegerField(default=0)
    currently_failed = models.PositiveIntegerField(default=0)
    total_banned = models.PositiveIntegerField(default=0)
    total_failed = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    # When ``online`` last flipped; the status bar says "offline since …".
    changed_at = models.DateTimeField(null=True, blank=True)
    # Reachable but slow: the socket takes connections and the answer times out.
    busy = models.BooleanField(default=False)
    # The last time fail2ban answered a probe at all.
    answered_at = models.DateTimeField(null=True, blank=True)
    # BanGUI's own long work on fail2ban (a blocklist import) says it keeps it busy until then.
    busy_until = models.DateTimeField(null=True, blank=True)
    busy_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name = "fail2ban status"
        verbose_name_plural = "fail2ban status"

    def __str__(self) -> str:
        return "online" if self.online else "offline"


class UserProfile(models.Model):
    """A BanGUI user's role (one of viewer, operator, admin; see ``bangui.roles``)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="bangui_profile"
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)

    class Meta:
        verbose_name = "user role"

    def __str__(self) -> str:
        return f"{self.user} ({self.role})"


class DataVersion(models.Model):
    """A counter per kind of data the pages show (``archive``), bumped by each write to it.

    Pages keep what they rendered under the versions they read (``bangui.pagecache``).
    A row, not a number in memory, because the job cluster writes in another process:
    the history sync bumps ``archive`` and every process sees it at its next read.
    """

    name = models.CharField(max_length=50, primary_key=True)
    value = models.BigIntegerField(default=0)
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "data version"

    def __str__(self) -> str:
        return f"{self.name} v{self.value}"


class JobStat(models.Model):
    """Counters of one scheduled job's runs for /metrics, kept by the job cluster.

    Written when django-q2's monitor stores a result (``bangui.metrics.jobs``), not
    read from django-q2's task table: that one is pruned (``save_limit``), and a
    Prometheus counter must never go down.
    """

    name = models.CharField(max_length=50, primary_key=True)
    runs = models.BigIntegerField(default=0)
    failures = models.BigIntegerField(default=0)
    seconds_total = models.FloatField(default=0)
    last_seconds = models.FloatField(default=0)
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "job statistic"

    def __str__(self) -> str:
        return f"{self.name}: {self.runs} runs, {self.failures} failed"


class Counter(models.Model):
    """A number kept up to date by the code that changes it, for /metrics.

    ``archive_rows`` (the history archive's size: counting a million rows per
    scrape is what this avoids) and ``geo_lookups:<tier>`` (summed over the
    web process and the job workers, each adding what it counted).
    """

    name = models.CharField(max_length=80, primary_key=True)
    value = models.BigIntegerField(default=0)
    changed_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.name} = {self.value}"
