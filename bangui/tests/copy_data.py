"""Run in a subprocess by test_copy_to_postgres: fill a small install, or dump one as JSON.

``python -m bangui.tests.copy_data fill|dump|insert`` under the environment of the
database to act on.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import django

BANS = 700


def fill() -> None:
    from django.contrib.admin.models import CHANGE, LogEntry
    from django.contrib.auth.models import Group, Permission, User
    from django.contrib.contenttypes.models import ContentType
    from django_otp.plugins.otp_static.models import StaticDevice
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from blocklists.models import BlocklistSource, ImportRun
    from geo.models import GeoCache
    from jails.history.rollup import rollup_fill
    from jails.models import AuditEvent, BanRecord

    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    admin = User.objects.create_user("admin", password="correct-horse-battery-9")
    viewer = User.objects.create_user("viewer", password="correct-horse-battery-8")
    group = Group.objects.create(name="auditors")
    group.permissions.add(Permission.objects.get(codename="view_banrecord"))
    viewer.groups.add(group)
    viewer.user_permissions.add(Permission.objects.get(codename="view_geocache"))
    TOTPDevice.objects.create(user=admin, name="phone")
    StaticDevice.objects.create(user=admin, name="recovery").token_set.create(token="abcd1234")
    LogEntry.objects.create(
        user=admin, content_type=ContentType.objects.get_for_model(User),
        object_id=str(viewer.pk), object_repr="viewer", action_flag=CHANGE,
    )  # fmt: skip
    BanRecord.objects.bulk_create(
        BanRecord(
            ip=f"203.0.{n // 250}.{n % 250}" if n % 7 else f"2001:db8::{n:x}",
            jail=("sshd", "nginx", "manual")[n % 3],
            banned_at=t0 + timedelta(hours=n),
            bantime=600 if n % 5 else -1,
            matches=f"line {n}\nline ✓",
            country_code="DE" if n % 2 else "",
            asn=64500 + n if n % 4 else None,
            unbanned_at=t0 + timedelta(hours=n, minutes=5) if n % 9 == 0 else None,
        )
        for n in range(BANS)
    )
    rollup_fill(now=t0 + timedelta(hours=BANS))
    AuditEvent.objects.create(
        user=admin, username="admin", client_ip="2001:db8::1", action="ban", target="203.0.0.1",
        params={"jail": "sshd", "ips": ["203.0.0.1"]}, ok=False, result="refused",
    )  # fmt: skip
    GeoCache.objects.bulk_create(
        GeoCache(ip=ip, country_code="DE", source="mmdb", resolved_at=t0, last_seen=t0)
        for ip in ("203.0.0.1", "2001:db8::1", "::ffff:198.51.100.7")
    )
    source = BlocklistSource.objects.create(name="spamhaus", url="http://127.0.0.1:9/drop.txt")
    ImportRun.objects.create(
        source=source, url=source.url, status="done", in_flight=["203.0.0.9"], client_ip="10.0.0.1"
    )


def _natural(field: Any, value: Any) -> Any:
    from django.contrib.auth.models import Permission
    from django.contrib.contenttypes.models import ContentType

    if value is not None and field.related_model is ContentType:
        return ".".join(ContentType.objects.get(pk=value).natural_key())
    if value is not None and field.related_model is Permission:
        return ".".join(Permission.objects.get(pk=value).natural_key())
    return value


def dump() -> None:
    """Every row of every copied table, ids of content types and permissions as names."""
    from bangui.dbcopy import copied_models

    tables: dict[str, list[list[Any]]] = {}
    for model in copied_models():
        fields = model._meta.concrete_fields
        rows = model._base_manager.order_by(model._meta.pk.attname).values_list(
            *(f.attname for f in fields)
        )
        # Sorted here: the geo cache's key is text in SQLite, an inet in PostgreSQL.
        tables[model._meta.label_lower] = sorted(
            ([_natural(f, v) for f, v in zip(fields, row, strict=True)] for row in rows),
            key=lambda row: json.dumps(row, default=str),
        )
    json.dump(tables, sys.stdout, default=str, sort_keys=True)


def insert() -> None:
    """New rows in the tables that got copied ids: fails if a sequence was not moved."""
    from django.contrib.auth.models import User

    from blocklists.models import ImportRun
    from jails.models import AuditEvent, BanRecord

    User.objects.create_user("newcomer")
    AuditEvent.objects.create(username="newcomer", action="login")
    BanRecord.objects.create(ip="192.0.2.1", jail="sshd", banned_at=datetime.now(UTC), bantime=60)
    ImportRun.objects.create(url="http://127.0.0.1:9/x")
    print("inserted")


if __name__ == "__main__":
    django.setup()
    {"fill": fill, "dump": dump, "insert": insert}[sys.argv[1]]()
