from __future__ import annotations

from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest

from bangui.models import AppSettings, InstanceLock, ServerStatus


@admin.register(AppSettings)
class AppSettingsAdmin(admin.ModelAdmin):
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
class InstanceLockAdmin(admin.ModelAdmin):
    list_display = ("name", "hostname", "pid", "acquired_at", "heartbeat_at", "expires_at")
    search_fields = ("name", "hostname", "owner")
    readonly_fields = (
        "name",
        "owner",
        "hostname",
        "pid",
        "acquired_at",
        "heartbeat_at",
        "expires_at",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(ServerStatus)
class ServerStatusAdmin(admin.ModelAdmin):
    list_display = (
        "online",
        "version",
        "jail_count",
        "currently_banned",
        "currently_failed",
        "checked_at",
        "changed_at",
    )
    list_filter = ("online",)
    readonly_fields = [f.name for f in ServerStatus._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
