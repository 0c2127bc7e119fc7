"""The admin of the geo cache: viewed and deleted here, written only by the lookup pipeline.

No add and no change: a row is what a lookup answered (MaxMind, the HTTP
fallback, or a failure kept as the negative cache), and rows are written in
bulk by ``geo.lookup.store`` only. Deleting is harmless and meaningful: it
is a cache, so a deleted address is looked up again the next time a page or
job asks for it (the way to drop a wrong or stale answer), and this process's
memory tier forgets it too so the new lookup really happens.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from django.contrib import admin
from django.db import connection
from django.db.models import Model, Q, QuerySet
from django.http import HttpRequest

from bangui.admin import BigTableAdmin
from geo.lookup.pipeline import memory_if_started
from geo.models import GeoCache

# The delete confirmation lists this many entries, then says how many more.
DELETE_LISTED = 100
_PREFIX_RE = re.compile(r"[0-9a-f.:]+")


def ip_search(term: str) -> Q | None:
    """An address, or the start of one, as a range scan on the primary key; None if neither.

    Never ``LIKE`` on SQLite, which cannot answer it from the index of a text
    column. On PostgreSQL the key is an ``inet``, which orders by number and
    refuses a partial address ("203.0.113." is no inet); there the start of an
    address is matched on its text (``HOST(ip) LIKE '203.0.113.%'``): a scan of
    the cache, for an admin's search only.
    """
    text = term.strip().lower()
    try:
        return Q(ip=str(ipaddress.ip_address(text)))
    except ValueError:
        pass
    if not _PREFIX_RE.fullmatch(text):
        return None
    if connection.vendor == "postgresql":
        return Q(ip__startswith=text)
    return Q(ip__gte=text, ip__lt=text[:-1] + chr(ord(text[-1]) + 1))


def _forget(ips: list[str]) -> None:
    cache = memory_if_started()
    if cache is not None:
        cache.discard(ips)


@admin.register(GeoCache)
class GeoCacheAdmin(BigTableAdmin):
    list_display = (
        "ip",
        "country_code",
        "country_name",
        "asn",
        "org",
        "source",
        "resolved_at",
        "last_seen",
    )
    list_filter = ("source",)
    search_fields = ("ip",)  # shows the box; ``get_search_results`` does the lookup
    search_help_text = "An address (203.0.113.7) or the start of one (203.0.113.)."
    # The primary key's order; no other column of this table has an index for sorting.
    ordering = ("ip",)
    sortable_by = ("ip",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        if not search_term.strip():
            return queryset, False
        condition = ip_search(search_term)
        return (queryset.none() if condition is None else queryset.filter(condition)), False

    def delete_model(self, request: HttpRequest, obj: GeoCache) -> None:
        ip = obj.ip  # the primary key: None once deleted
        super().delete_model(request, obj)
        _forget([ip])

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        ips = [str(ip) for ip in queryset.values_list("ip", flat=True)]
        super().delete_queryset(request, queryset)
        _forget(ips)

    def get_deleted_objects(
        self, objs: Any, request: HttpRequest
    ) -> tuple[list[Any], dict[str, int], set[str], list[Any]]:
        """The confirmation page lists the first entries only: "select all" may be 10,000+."""
        if not isinstance(objs, QuerySet):
            return super().get_deleted_objects(objs, request)
        listed = list(objs[: DELETE_LISTED + 1])
        if len(listed) <= DELETE_LISTED:
            return super().get_deleted_objects(listed, request)
        total = objs.count()
        shown, _, perms_needed, protected = super().get_deleted_objects(
            listed[:DELETE_LISTED], request
        )
        shown.append(f"… and {total - DELETE_LISTED:,} more")
        return shown, {str(GeoCache._meta.verbose_name_plural): total}, perms_needed, protected
