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
