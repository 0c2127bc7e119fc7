"""The Django admin: every model of BanGUI's apps is in it, the records BanGUI writes are
read-only there, and the archive's changelist never counts a million rows."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.admin.utils import quote
from django.db import connection
from django.db.models import Model
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from bangui.admin_paginator import CappedCount, CappedPaginator
from blocklists.models import BlocklistSource, ImportRun
from geo.models import GeoCache
from jails.admin import ArchivePaginator, BanRecordAdmin
from jails.history.selectors import COUNT_CAP
from jails.models import (
    AuditEvent,
    BanDayCount,
    BanRecord,
    BanRollupDay,
    ConfigChange,
    HistorySyncState,
)

APPS = ("bangui", "jails", "geo", "blocklists")
T0 = datetime(2025, 3, 10, 12, 0, 0, tzinfo=UTC)


def _models() -> list[type[Model]]:
    return [m for label in APPS for m in apps.get_app_config(label).get_models()]


def _url(model: type[Model] | Model, view: str, *args: Any) -> str:
    meta = model._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_{view}", args=args)


def _ban(ip: str, *, at: datetime = T0, jail: str = "sshd", **fields: Any) -> BanRecord:
    values: dict[str, Any] = {"bantime": 600, "bancount": 1, "failures": 3, **fields}
    return BanRecord.objects.create(ip=ip, jail=jail, banned_at=at, **values)


def _one_of_each(user: Any) -> None:
    """One row of every model that has none after setup."""
    now = timezone.now()
    source = BlocklistSource.objects.create(name="list", url="https://lists.example/ssh.txt")
    makers: dict[str, Callable[[], object]] = {
        "bangui.instancelock": lambda: apps.get_model("bangui", "InstanceLock").objects.create(
            name="web", owner="o", hostname="host", pid=1, expires_at=now
        ),
        "bangui.serverstatus": lambda: apps.get_model("bangui", "ServerStatus").objects.create(
            online=True, version="1.0.2", checked_at=now
        ),
        "bangui.userprofile": lambda: apps.get_model("bangui", "UserProfile").objects.create(
            user=user, role="admin"
        ),
        "bangui.dataversion": lambda: apps.get_model("bangui", "DataVersion").objects.create(
            name="archive", value=3
        ),
        "bangui.jobstat": lambda: apps.get_model("bangui", "JobStat").objects.create(
            name="history_sync", runs=3, last_run_at=now
        ),
        "bangui.counter": lambda: apps.get_model("bangui", "Counter").objects.create(
            name="archive_rows", value=3
        ),
        "jails.auditevent": lambda: AuditEvent.objects.create(
            username="admin", action="ban", target="203.0.113.7", client_ip="192.0.2.1"
        ),
        "jails.banrecord": lambda: _ban("203.0.113.7", country_code="DE"),
        "jails.historysyncstate": lambda: HistorySyncState.objects.create(pk=1, high_water=now),
        "jails.bandaycount": lambda: BanDayCount.objects.create(
            day=T0.date(), jail="sshd", origin="detected", country_code="DE", count=3
        ),
        "jails.banrollupday": lambda: BanRollupDay.objects.create(day=T0.date()),
        "jails.configchange": lambda: ConfigChange.objects.create(
            username="admin", what="sshd: maxretry", files=["jail.d/sshd.local"], step="done"
        ),
        "geo.geocache": lambda: GeoCache.objects.create(
            ip="2001:db8::1", country_code="DE", source="mmdb", resolved_at=now, last_seen=now
        ),
        "blocklists.importrun": lambda: ImportRun.objects.create(
            source=source, source_name=source.name, url=source.url, status="ok"
        ),
    }
    for model in _models():
        if not model.objects.exists():
            makers[model._meta.label_lower]()


def test_every_model_is_in_the_admin() -> None:
    missing = [m._meta.label for m in _models() if not admin.site.is_registered(m)]
    assert not missing, f"not in the admin: {missing}"


def test_every_changelist_and_change_page_answers(admin_client) -> None:  # type: ignore[no-untyped-def]
    user = admin_client.get("/admin/").wsgi_request.user
    _one_of_each(user)
    for model in _models():
        model_admin = admin.site._registry[model]
        queries = (
            ["", "?q=203.0.", "?q=2001:db8::1", "?q=sshd"] if model_admin.search_fields else [""]
        )
        for query in queries:
            response = admin_client.get(_url(model, "changelist") + query)
            assert response.status_code == 200, f"{model._meta.label} changelist{query}"
        row = model.objects.first()
        assert row is not None
        response = admin_client.get(_url(model, "change", quote(row.pk)))
        assert response.status_code == 200, f"{model._meta.label} change page"


# Written only by BanGUI: no add, change or delete in the admin.
READ_ONLY = [
    "bangui.instancelock",
    "bangui.serverstatus",
    "bangui.userprofile",
    "jails.auditevent",
    "jails.banrecord",
    "jails.bandaycount",
    "jails.banrollupday",
    "jails.configchange",
    "jails.historysyncstate",
    "blocklists.importrun",
]


@pytest.mark.parametrize("label", READ_ONLY)
def test_records_bangui_writes_cannot_be_added_changed_or_deleted(admin_client, label) -> None:  # type: ignore[no-untyped-def]
    _one_of_each(admin_client.get("/admin/").wsgi_request.user)
    model = apps.get_model(label)
    row = model.objects.first()
    assert row is not None
    before = list(model.objects.values())
    assert admin_client.get(_url(model, "add")).status_code == 403
    assert admin_client.post(_url(model, "add"), {}).status_code == 403
    assert admin_client.post(_url(model, "change", quote(row.pk)), {}).status_code == 403
    assert (
        admin_client.post(_url(model, "delete", quote(row.pk)), {"post": "yes"}).status_code == 403
    )
    page = admin_client.get(_url(model, "change", quote(row.pk))).content.decode()
    assert 'name="_save"' not in page  # shown, not offered for saving
    assert list(model.objects.values()) == before


def test_the_archive_is_read_only_in_the_admin(admin_client) -> None:  # type: ignore[no-untyped-def]
    ban = _ban("203.0.113.7")
    changed = {"ip": "198.51.100.1", "jail": "manual", "banned_at_0": "2025-01-01"}
    assert admin_client.post(_url(BanRecord, "add"), changed).status_code == 403
    assert admin_client.post(_url(ban, "change", ban.pk), changed).status_code == 403
    assert admin_client.post(_url(ban, "delete", ban.pk), {"post": "yes"}).status_code == 403
    # No "delete selected" action either: posting it deletes nothing.
    listing = admin_client.get(_url(BanRecord, "changelist")).content.decode()
    assert "delete_selected" not in listing and 'name="_selected_action"' not in listing
    admin_client.post(
        _url(BanRecord, "changelist"),
        {"action": "delete_selected", "_selected_action": [ban.pk], "index": 0, "post": "yes"},
    )
    assert list(BanRecord.objects.values_list("ip", "jail", "banned_at")) == [
        ("203.0.113.7", "sshd", T0)
    ]


def _archive(count: int) -> None:
    BanRecord.objects.bulk_create(
        BanRecord(
            ip=f"203.0.{113 + n % 2}.{n % 250 + 1}",
            jail=("sshd", "postfix")[n % 2],
            banned_at=T0 - timedelta(minutes=n),
            bantime=600,
            origin=("detected", "manual")[n % 2],
        )
        for n in range(count)
    )


def _archive_reads(sql_list: list[str]) -> list[str]:
    """The queries reading archived rows (not the jail filter's loose index scan)."""
    return [
        sql
        for sql in sql_list
        if '"jails_banrecord"' in sql.split(" WHERE ")[0] and not sql.startswith("WITH RECURSIVE")
    ]


@pytest.mark.parametrize(
    "query", ["", "?origin__exact=manual", "?jail=sshd", "?q=203.0.113.", "?q=203.0.113.0/24"]
)
def test_the_archive_changelist_does_not_count_every_row(admin_client, query) -> None:  # type: ignore[no-untyped-def]
    _archive(300)
    with CaptureQueriesContext(connection) as captured:
        response = admin_client.get(_url(BanRecord, "changelist") + query)
    assert response.status_code == 200
    reads = _archive_reads([q["sql"] for q in captured.captured_queries])
    assert reads
    for sql in reads:
        # Every read of the archive is cut short: the count reads cap + 1 keys at most,
        # the page is a LIMIT; no COUNT(*) over all matching rows.
        assert "LIMIT" in sql, sql
        assert "COUNT(" not in sql.upper() or "LIMIT" in sql, sql
    assert any(f"LIMIT {COUNT_CAP + 1}" in sql for sql in reads)


def test_a_short_archive_list_is_read_once_then_by_key(admin_client) -> None:  # type: ignore[no-untyped-def]
    _archive(300)
    with CaptureQueriesContext(connection) as captured:
        body = admin_client.get(_url(BanRecord, "changelist") + "?q=203.0.113.7").content.decode()
    reads = _archive_reads([q["sql"] for q in captured.captured_queries])
    assert len(reads) == 2 and '"jails_banrecord"."id" IN (' in reads[1], reads
    assert re.search(r"\b2 ban records\b", body)
    assert body.count("203.0.113.7</a>") + body.count(">203.0.113.7<") >= 2


def test_the_archive_changelist_says_when_counting_stopped(admin_client, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    _archive(30)
    monkeypatch.setattr(ArchivePaginator, "cap", 12)
    monkeypatch.setattr(BanRecordAdmin, "list_per_page", 5)
    body = admin_client.get(_url(BanRecord, "changelist")).content.decode()
    assert re.search(r"12\+\s+ban records", body)
    assert admin_client.get(_url(BanRecord, "changelist") + "?p=3").status_code == 200
    # Past the cap there are no pages: the admin falls back to its first page (?e=1).
    assert admin_client.get(_url(BanRecord, "changelist") + "?p=4").status_code == 302


def test_the_archive_paginator_counts_to_the_history_pages_cap(db) -> None:  # type: ignore[no-untyped-def]
    assert ArchivePaginator.cap == COUNT_CAP
    _archive(7)
    records = BanRecord.objects.order_by("-banned_at", "-id")
    assert CappedPaginator(records, 5).count == 7

    class Small(CappedPaginator):
        cap = 4

    count = Small(records, 2).count
    assert isinstance(count, CappedCount) and count == 4 and str(count) == "4+"
    assert Small(records, 2).num_pages == 2


def test_the_archive_search_takes_addresses_networks_prefixes_and_jails(admin_client) -> None:  # type: ignore[no-untyped-def]
    _ban("203.0.113.7", jail="sshd")
    _ban("203.0.113.70", jail="postfix", at=T0 + timedelta(hours=1))
    _ban("198.51.100.4", jail="postfix", at=T0 + timedelta(hours=2))
    _ban("2001:db8::1", jail="nginx-http-auth", at=T0 + timedelta(hours=3))

    def found(term: str) -> set[str]:
        response = admin_client.get(_url(BanRecord, "changelist"), {"q": term})
        assert response.status_code == 200
        return set(response.context["cl"].result_list.values_list("ip", flat=True))

    assert found("203.0.113.7") == {"203.0.113.7"}
    assert found("203.0.113.") == {"203.0.113.7", "203.0.113.70"}
    assert found("203.0.113.0/24") == {"203.0.113.7", "203.0.113.70"}
    assert found("2001:db8::/32") == {"2001:db8::1"}
    assert found("post") == {"203.0.113.70", "198.51.100.4"}
    assert found("nginx-http-auth") == {"2001:db8::1"}
    assert found("no-such-jail") == set()
    assert found("203.0.113.0/99") == set()  # no network, no jail: nothing, no error
