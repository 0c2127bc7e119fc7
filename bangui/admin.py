"""The admin of BanGUI's own records, and the admin base classes every app uses.

The admin shows the raw records; BanGUI's pages and services are what change
them, because they keep what the records promise (an audit entry for every
action, a rescheduled import, a rollup that agrees with the archive). So most
models are view-only here: each admin says why, and what may be done.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.db.models import Model
from django.http import HttpRequest

from bangui.admin_paginator import CappedPaginator
from bangui.models import (
    AppSettings,
    Counter,
    DataVersion,
    InstanceLock,
    JobStat,
    ServerStatus,
    UserProfile,
)


class BigTableChangeList(ChangeList):
    """Lists a result that fits on one page by the keys the paginator's count read.

    A filter that matches few rows of a big table is the slow case: the count
    reads every candidate row to find them, and listing them would read all
    candidates again; instead the page is fetched by primary key.
    """

    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        keys = getattr(self.paginator, "all_keys", None)
        if keys is not None and not self.multi_page:
            self.result_list = self.queryset.filter(pk__in=keys)


class BigTableAdmin(admin.ModelAdmin):
    """Changelist settings for a table that may hold a million rows.

    No exact count anywhere: the paginator stops counting at its cap, the
    unfiltered total is not counted at all, and the filters' facet counts
    (one COUNT per choice) are never offered.
    """

    paginator = CappedPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    list_per_page = 100

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return BigTableChangeList


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written only by BanGUI itself: viewable, never added, changed or deleted here.

    An admin that may delete overrides ``has_delete_permission`` and says why.
    """

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


@admin.register(AppSettings)
class AppSettingsAdmin(admin.ModelAdmin):
    """The settings chosen at setup; changed here (BanGUI has no settings page after setup).

    The single row is made by setup, so no add and no delete.
    """

    list_display = (
        "fail2ban_socket",
        "fail2ban_config_dir",
        "timezone",
        "session_minutes",
        "setup_completed_at",
        "updated_at",
    )
    readonly_fields = ("setup_completed_at", "updated_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


@admin.register(InstanceLock)
class InstanceLockAdmin(ReadOnlyAdmin):
    """Read-only, no delete: the holder renews its row every few seconds, and a holder
    whose row is gone stops its own process ("lost the lock"). A dead holder's row
    needs no deleting either: once expired, or on this host with its process gone,
    the next instance takes it over."""

    list_display = ("name", "hostname", "pid", "acquired_at", "heartbeat_at", "expires_at")
    search_fields = ("name", "hostname", "owner")


@admin.register(ServerStatus)
class ServerStatusAdmin(ReadOnlyAdmin):
    """Read-only, no delete: the single row is rewritten by the health_check job every
    run; deleting it would only make the status bar ask fail2ban live until then."""

    list_display = (
        "online",
        "busy",
        "version",
        "jail_count",
        "currently_banned",
        "currently_failed",
        "checked_at",
        "changed_at",
    )
    list_filter = ("online", "busy")


@admin.register(UserProfile)
class UserProfileAdmin(ReadOnlyAdmin):
    """Read-only, no delete: roles are given on BanGUI's Users page (``bangui.accounts``),
    which keeps the last active admin, keeps is_staff/is_superuser in step with the
    role and writes the audit log; a role edited or deleted here would skip all three."""

    list_display = ("user", "role")
    list_filter = ("role",)
    list_select_related = ("user",)
    search_fields = ("user__username",)


@admin.register(DataVersion)
class DataVersionAdmin(ReadOnlyAdmin):
    """Read-only, no delete: each row counts the writes to one kind of data, and pages
    keep what they rendered under it (``bangui.pagecache``). A row edited by hand would
    only make them render again, or, set back, keep an old page for up to a minute."""

    list_display = ("name", "value", "changed_at")


@admin.register(JobStat)
class JobStatAdmin(ReadOnlyAdmin):
    """Read-only, no delete: the job cluster adds each run here and /metrics serves the
    totals as counters, which Prometheus takes to have restarted if they go down."""

    list_display = ("name", "runs", "failures", "last_run_at", "last_success_at")


@admin.register(Counter)
class CounterAdmin(ReadOnlyAdmin):
    """Read-only, no delete: counters several processes add to (the archive size, geo
    lookups by tier), served by /metrics; set back by hand they would lie there."""

    list_display = ("name", "value", "changed_at")
