"""The admin of the jails area's records: audit log, archive, rollup, config changes.

All of them are view-only: BanGUI's services write them, and each promises
something an edit here would break (see each admin). The archive and the
audit log grow without bound, so their changelists never count every row
(``BigTableAdmin``, the archive's paginator stops at the history page's
``COUNT_CAP``), filter and sort on indexed columns only, and search through
the same range scans as the history page.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.http import HttpRequest

from bangui.admin import BigTableAdmin, ReadOnlyAdmin
from bangui.admin_paginator import CappedPaginator
from jails.history.forms import parse_ip_query
from jails.history.selectors import COUNT_CAP, history_jails, ip_condition
from jails.models import (
    AuditEvent,
    BanDayCount,
    BanRecord,
    BanRollupDay,
    ConfigChange,
    HistorySyncState,
)


class ArchivePaginator(CappedPaginator):
    """Counts no further than the history page does."""

    cap = COUNT_CAP


class ArchiveJailFilter(admin.SimpleListFilter):
    """The jails of the archive, found by a loose index scan (one seek per jail).

    Django's own filter on a text field would run ``SELECT DISTINCT jail``,
    reading every entry of the jail index: a million of them.
    """

    title = "jail"
    parameter_name = "jail"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [(name, name) for name in history_jails()]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        return queryset.filter(jail=value) if value else queryset


def archive_search(request: HttpRequest, queryset: QuerySet, term: str) -> QuerySet:
    """Bans whose address matches ``term`` or whose jail's name starts with it.

    An address, a network (203.0.113.0/24) or the start of an address
    (203.0.113.) is the history page's IP filter: range scans on the ip index.
    A jail name prefix is an ``IN`` over the jails found by ``history_jails``.
    Never ``LIKE '%…%'``, which reads every row.
    """
    term = term.strip()
    jails = [name for name in history_jails() if name.startswith(term)]
    condition = Q(jail__in=jails) if jails else None
    try:
        query = parse_ip_query(term)
    except ValidationError:
        query = None  # not an address: the jail names are all there is to match
    if query is not None:
        try:
            ip = ip_condition(query)
        except ValidationError as exc:  # an IPv6 network holding too many addresses
            messages.warning(request, " ".join(exc.messages))
        else:
            condition = ip if condition is None else condition | ip
    return queryset.none() if condition is None else queryset.filter(condition)


# Read-only, no delete: the archive is what fail2ban forgot, copied by the
# history_sync job, and the daily rollup must agree with it row for row. An edit
# or a delete here would skip ``rollup_invalidate`` (the dashboard's counts of
# that day would go stale) and an edited (ip, jail, banned_at) would make the
# next sync copy the ban again. Old bans go with the history_purge job.
@admin.register(BanRecord)
class BanRecordAdmin(ReadOnlyAdmin, BigTableAdmin):
    paginator = ArchivePaginator
    list_display = (
        "banned_at",
        "ip",
        "jail",
        "origin",
        "bantime",
        "bancount",
        "failures",
        "country_code",
        "asn",
        "unbanned_at",
        "unbanned_by",
    )
    # Each filter is an index: (jail, -banned_at), (origin, -banned_at), (-banned_at).
    # No date_hierarchy: its year links come from SELECT DISTINCT over every row.
    list_filter = (ArchiveJailFilter, "origin", "banned_at")
    # Shows the search box; the search itself is ``archive_search`` (range scans).
    search_fields = ("ip", "jail")
    search_help_text = (
        "An address (203.0.113.7), a network (203.0.113.0/24), the start of an "
        "address (203.0.113.) or the start of a jail's name. Counting stops at "
        f"{COUNT_CAP:,}: narrow the filters to reach older bans."
    )
    # The indexes' order; sorting by another column would sort a million rows.
    ordering = ("-banned_at", "-id")
    sortable_by = ("banned_at", "ip", "jail")

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        if not search_term.strip():
            return queryset, False
        return archive_search(request, queryset, search_term), False


# Read-only, no delete: a count row and its day's marker are written and deleted
# together (``jails.history.rollup``), under the rollup lock. A count deleted or
# edited here would make the dashboard wrong for that day; a marker deleted alone
# would make the next fill of that day fail on the counts still there.
@admin.register(BanDayCount)
class BanDayCountAdmin(ReadOnlyAdmin, BigTableAdmin):
    list_display = ("day", "jail", "origin", "country_code", "count")
    list_filter = (ArchiveJailFilter, "origin", "day")
    # The unique index (day, jail, origin, country_code), read backwards.
    ordering = ("-day", "-jail", "-origin", "-country_code")
    sortable_by = ("day",)


@admin.register(BanRollupDay)
class BanRollupDayAdmin(ReadOnlyAdmin):
    """Read-only, no delete: see BanDayCountAdmin (a marker goes with its counts)."""

    list_display = ("day", "filled_at")
    list_filter = ("day",)
    ordering = ("-day",)


@admin.register(HistorySyncState)
class HistorySyncStateAdmin(ReadOnlyAdmin):
    """Read-only, no delete: the single row is the sync's high-water mark and the path
    of fail2ban's database. Without it the next sync reads the whole backfill window
    of fail2ban's database again (and drops the rollup of every day in it), and cannot
    run while fail2ban is down (the path is asked from fail2ban); nothing anybody needs."""

    list_display = (
        "high_water",
        "last_run_at",
        "last_ok_at",
        "last_added",
        "longest_read_ms",
        "db_path",
        "error",
    )

    @admin.display(description="last error")
    def error(self, obj: HistorySyncState) -> str:
        text = obj.last_error
        return text if len(text) <= 80 else text[:79] + "…"


@admin.register(ConfigChange)
class ConfigChangeAdmin(ReadOnlyAdmin):
    """Read-only, no delete: each row holds what the files were before an apply, which
    the recovery banner uses to undo an apply after which fail2ban went down, and
    is the record of who changed the configuration."""

    list_display = ("created_at", "username", "what", "reload_jail", "step", "ok", "rolled_back_at")
    list_filter = ("ok", "step", "created_at")
    search_fields = ("username", "what", "reload_jail")
    # One row per apply through BanGUI, by hand: few enough for the year query.
    date_hierarchy = "created_at"


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin, BigTableAdmin):
    """Read-only, no delete: the audit log is written by BanGUI's services only, and
    an audit log that can be edited or thinned out is no record."""

    list_display = ("created_at", "username", "client_ip", "action", "target", "ok", "request_id")
    # ``action`` is the (action, -created_at) index; created_at has its own. No
    # date_hierarchy: the log grows without bound and its year links read every row.
    list_filter = ("action", "ok", "created_at")
    search_fields = ("username", "client_ip", "target", "=request_id")
    ordering = ("-created_at", "-id")
    sortable_by = ("created_at",)
