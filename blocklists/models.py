"""Blocklist sources and the record of every import run."""

from __future__ import annotations

from datetime import time

from django.db import models


class BlocklistSource(models.Model):
    """A public list of addresses imported into a dedicated fail2ban jail on a schedule."""

    class Schedule(models.TextChoices):
        HOURLY = "hourly", "Hourly"
        DAILY = "daily", "Daily"
        WEEKLY = "weekly", "Weekly"
        MANUAL = "manual", "Only when started by hand"

    name = models.CharField(max_length=100, unique=True)
    url = models.CharField(max_length=2000, unique=True)
    enabled = models.BooleanField(default=True)
    schedule = models.CharField(max_length=8, choices=Schedule.choices, default=Schedule.DAILY)
    # Daily and weekly runs start at this local time; hourly ones at its minute.
    run_at = models.TimeField(default=time(3, 17))
    weekday = models.PositiveSmallIntegerField(
        default=0, help_text="Weekly runs: 0 is Monday, 6 is Sunday."
    )
    bantime = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Seconds; empty uses the blocklist-import jail's ban time (24 h).",
    )
    next_run_at = models.DateTimeField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ImportRun(models.Model):
    """One import of one list: what was downloaded, what happened to every line."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        OK = "ok", "Imported"
        UNCHANGED = "unchanged", "Unchanged"
        PARTIAL = "partial", "Partly imported"
        FAILED = "failed", "Failed"
        INTERRUPTED = "interrupted", "Interrupted"

    class Trigger(models.TextChoices):
        MANUAL = "manual", "By hand"
        SCHEDULE = "schedule", "Schedule"
        COMMAND = "command", "Command line"

    FINISHED = (Status.OK, Status.UNCHANGED, Status.PARTIAL, Status.FAILED, Status.INTERRUPTED)

    source = models.ForeignKey(
        BlocklistSource, null=True, blank=True, on_delete=models.SET_NULL, related_name="runs"
    )
    source_name = models.CharField(max_length=100, blank=True)
    url = models.CharField(max_length=2000)
    jail = models.CharField(max_length=64, blank=True)
    trigger = models.CharField(max_length=8, choices=Trigger.choices, default=Trigger.MANUAL)
    username = models.CharField(max_length=150, blank=True)
    # The address of whoever started it: never banned by this run.
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    dry_run = models.BooleanField(default=False)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Progress, written while running: the page polls it.
    phase = models.CharField(max_length=16, blank=True)
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # The batch being sent to fail2ban right now: if the run dies, fail2ban is asked
    # which of these it holds, so the counts say what really happened.
    in_flight = models.JSONField(default=list, blank=True)
    # What was downloaded and what became of it.
    sha256 = models.CharField(max_length=64, blank=True)
    size = models.PositiveBigIntegerField(default=0)
    lines = models.PositiveIntegerField(default=0)
    valid = models.PositiveIntegerField(default=0)
    invalid = models.PositiveIntegerField(default=0)
    duplicates = models.PositiveIntegerField(default=0)
    skipped = models.JSONField(default=dict, blank=True, help_text="Reason → count.")
    newly_banned = models.PositiveIntegerField(default=0)
    already_banned = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    log = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["source", "-created_at"], name="blocklists_run_source")]

    def __str__(self) -> str:
        return f"{self.source_name or self.url} at {self.created_at:%Y-%m-%d %H:%M} ({self.status})"

    @property
    def finished(self) -> bool:
        return self.status in self.FINISHED

    @property
    def skipped_total(self) -> int:
        return sum(int(n) for n in self.skipped.values())

    @property
    def seconds(self) -> int | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return round((self.finished_at - self.started_at).total_seconds())

    @property
    def percent(self) -> int:
        return min(100, round(100 * self.done / self.total)) if self.total else 0
