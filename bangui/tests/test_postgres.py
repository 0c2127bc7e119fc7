"""What must hold on every database engine; scripts/test runs it on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from jails.history.selectors import IpQuery, ban_record_list
from jails.models import BanRecord

T0 = datetime(2026, 3, 1, tzinfo=UTC)
# Texts whose byte order differs from a language's order ("." and "/" are ignored
# at first there, and "10" sorts next to "1.").
IPS = ["1.2.3.4", "1.20.3.4", "1.2/24", "10.2.3.4", "1.23.0.1", "2001:db8::1", "2001:db80::1"]


@pytest.mark.django_db
def test_the_archive_orders_addresses_byte_by_byte():
    BanRecord.objects.bulk_create(
        BanRecord(ip=ip, jail="sshd", banned_at=T0 + timedelta(minutes=n), bantime=60)
        for n, ip in enumerate(IPS)
    )
    ordered = list(BanRecord.objects.order_by("ip").values_list("ip", flat=True))
    assert ordered == sorted(IPS, key=str.encode)
    for prefix in ("1.2", "1.2.", "2001:db8:", "10.", "1.2/"):
        found = sorted(r.ip for r in ban_record_list(ip=IpQuery("prefix", prefix)))
        assert found == sorted(ip for ip in IPS if ip.startswith(prefix)), prefix


@pytest.mark.django_db
def test_the_models_and_the_applied_migrations_agree():
    executor = MigrationExecutor(connection)
    assert executor.migration_plan(executor.loader.graph.leaf_nodes()) == []
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


# Values PostgreSQL refuses where SQLite takes them (NUL in text, an address that is
# no inet), or that break a naive query (quotes, LIKE wildcards, huge numbers).
HOSTILE_GET = ["\x00", "203.0.113.\x00", "a\x00b", "'", "%", "_", "1e999", "-1", "9" * 40]
ARCHIVE_PAGES = {
    "/history/": ("ip", "jail", "origin", "country", "sort", "page", "since", "range", "map"),
    "/history/export/": ("ip", "jail", "format"),
    "/": ("range", "origin", "jail", "page"),
    "/map/": ("range", "origin", "jail", "country", "page"),
    "/audit/": ("action", "user", "q", "page", "ok"),
    "/admin/jails/banrecord/": ("q", "jail", "origin__exact", "p", "o"),
    "/admin/jails/auditevent/": ("q", "p"),
    "/admin/geo/geocache/": ("q", "source__exact", "p"),
}


def test_hostile_query_strings_on_the_archive_pages_are_no_server_error(admin_client):
    BanRecord.objects.create(ip="203.0.113.7", jail="sshd", banned_at=T0, bantime=60)
    admin_client.raise_request_exception = False  # an HTTP 500 is a failure to list, not to raise
    failures = []
    for path, names in ARCHIVE_PAGES.items():
        for name in names:
            for value in HOSTILE_GET:
                response = admin_client.get(path, {name: value})
                if response.status_code >= 500:
                    failures.append(f"{path}?{name}={value!r}: {response.status_code}")
    assert failures == []


@pytest.mark.parametrize(
    "path",
    [
        "/admin/jails/banrecord/?jail=%00",
        "/admin/auth/user/?q=a%00b",
        "/admin/geo/geocache/?source__exact=%00",
    ],
)
def test_a_nul_character_in_an_admin_filter_is_refused_plainly(admin_client, path):
    admin_client.raise_request_exception = False
    response = admin_client.get(path)
    assert response.status_code == 400
    assert b"NUL characters" in response.content
