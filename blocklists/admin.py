"""The admin of blocklist sources and import runs.

Sources may be edited here because saving goes through the same form and
services as the Blocklists page: the same checks of name, URL and ban time,
the next import put on the new schedule, an audit entry for every add, edit
and delete. Import runs are view-only.
"""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest

from bangui.admin import BigTableAdmin, ReadOnlyAdmin
from blocklists import sources
from blocklists.forms import SourceForm
from blocklists.models import BlocklistSource, ImportRun
from jails.audit.services import actor_from


@admin.register(BlocklistSource)
class BlocklistSourceAdmin(admin.ModelAdmin):
    """Editable, through ``blocklists.sources``: see the module's docstring."""

    form = SourceForm
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "name",
                    "url",
                    "enabled",
                    "schedule",
                    "run_at",
                    "weekday",
                    "bantime_text",
                ),
                "description": (
                    "Saved as on the Blocklists page (/blocklists/): the same checks, the "
                    "next import rescheduled, the change written to the audit log. "
                    "Imports are started from that page."
                ),
            },
        ),
        ("Schedule", {"fields": ("next_run_at", "created_at", "updated_at")}),
    )
    readonly_fields = ("next_run_at", "created_at", "updated_at")
    list_display = ("name", "url", "enabled", "schedule", "run_at", "bantime", "next_run_at")
    list_filter = ("enabled", "schedule")
    # Both columns are unique, so indexed.
    search_fields = ("name", "url")

    def save_model(
        self, request: HttpRequest, obj: BlocklistSource, form: ModelForm, change: bool
    ) -> None:
        actor = actor_from(request)
        if change:
            sources.source_update(actor=actor, source=obj)
        else:
            sources.source_create(actor=actor, source=obj)

    def delete_model(self, request: HttpRequest, obj: BlocklistSource) -> None:
        sources.source_delete(actor=actor_from(request), source=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        actor = actor_from(request)
        for source in queryset:
            sources.source_delete(actor=actor, source=source)


# Read-only, no delete: a queued or running run is the import worker's state (its
# progress, the batch in flight that a killed run is reconciled with), and a
# finished one is the record of what a list banned. Runs outlive their source.
@admin.register(ImportRun)
class ImportRunAdmin(ReadOnlyAdmin, BigTableAdmin):
    list_display = (
        "created_at",
        "source_name",
        "jail",
        "trigger",
        "username",
        "dry_run",
        "status",
        "newly_banned",
        "already_banned",
        "failed",
        "finished_at",
    )
    # ``source`` is the (source, -created_at) index; created_at has its own.
    # No date_hierarchy: runs pile up hourly per source and its year links read every row.
    list_filter = ("status", "trigger", "dry_run", "source", "created_at")
    search_fields = ("source_name", "jail", "username")
    ordering = ("-created_at", "-id")
    sortable_by = ("created_at",)
