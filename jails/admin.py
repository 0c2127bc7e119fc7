from django.contrib import admin
from django.http import HttpRequest

from jails.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the audit log is written by BanGUI's services only."""

    list_display = ("created_at", "username", "client_ip", "action", "target", "ok")
    list_filter = ("action", "ok", "created_at")
    search_fields = ("username", "client_ip", "target", "result")
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
