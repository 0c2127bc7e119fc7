"""The database tier: read cached rows for a batch of IPs, upsert a batch.

The upsert is one ``INSERT … ON CONFLICT (ip) DO UPDATE`` run with
``executemany`` (SQLite ≥ 3.24 and PostgreSQL share the syntax), not
``bulk_create(update_conflicts=True)``: for 100k rows on SQLite, bulk_create
takes 3.6 s (Django splits it into ~800 statements of 124 rows, the 999
parameter limit, and prepares every field of every object), the statement
below 0.35 s. Cold ingest of a blocklist would otherwise spend 80 % of its
time here. ``test_store`` checks the rows match what the ORM reads back.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from itertools import chain
from typing import Any

from django.db import connection, transaction

from geo.addresses import special_label
from geo.info import GeoInfo
from geo.lookup.memory import CacheEntry
from geo.models import GeoCache

# IPs per ``ip IN (…)`` query: SQLite's default limit is 999 parameters.
CHUNK = 500
WRITE_CHUNK = 10_000

_COLUMNS = (
    "ip",
    "country_code",
    "country_name",
    "asn",
    "org",
    "source",
    "resolved_at",
    "last_seen",
)
_STORED_SOURCES = frozenset(GeoCache.Source.values)
if GeoInfo._fields[:6] != _COLUMNS[:6]:
    raise ImportError("geo.lookup.store: GeoInfo's fields no longer match the GeoCache columns")


def info_from_row(
    ip: str, country_code: str, country_name: str, asn: int | None, org: str, source: str
) -> GeoInfo:
    if source not in _STORED_SOURCES:
        source = GeoCache.Source.NONE
    resolved = bool(country_code) and source in (GeoCache.Source.MMDB, GeoCache.Source.HTTP)
    return GeoInfo(
        ip=ip,
        country_code=country_code,
        country_name=country_name,
        asn=asn,
        org=org,
        source=source,  # type: ignore[arg-type]  # checked against the choices above
        resolved=resolved,
        special=special_label(ip) if source == GeoCache.Source.PRIVATE else "",
    )


def rows_for(ips: Sequence[str]) -> dict[str, CacheEntry]:
    """The stored entries of these (canonical) IPs, one query per 500 IPs."""
    found: dict[str, CacheEntry] = {}
    fields = (*_COLUMNS[:6], "resolved_at", "last_seen")
    for start in range(0, len(ips), CHUNK):
        chunk = ips[start : start + CHUNK]
        for ip, cc, name, asn, org, source, resolved_at, last_seen in GeoCache.objects.filter(
            ip__in=chunk
        ).values_list(*fields):
            found[ip] = CacheEntry(
                info_from_row(ip, cc, name, asn, org, source), resolved_at, last_seen
            )
    return found


def _upsert_sql() -> str:
    qn = connection.ops.quote_name
    cols = ", ".join(qn(c) for c in _COLUMNS)
    marks = ", ".join(["%s"] * len(_COLUMNS))
    updates = ", ".join(f"{qn(c)} = EXCLUDED.{qn(c)}" for c in _COLUMNS[1:])
    table = qn(GeoCache._meta.db_table)
    source = qn("source")
    # A failed lookup never replaces a known country, even when another
    # process stored it after this one read the row.
    return (
        f"INSERT INTO {table} ({cols}) VALUES ({marks}) "
        f"ON CONFLICT ({qn('ip')}) DO UPDATE SET {updates} "
        f"WHERE EXCLUDED.{source} <> 'none' OR {table}.{source} = 'none'"
    )


def upsert(*entries: Iterable[tuple[GeoInfo, datetime, datetime]]) -> int:
    """Insert or replace rows ``(info, resolved_at, last_seen)`` from one or more iterables.

    Returns how many rows were sent.

    Invalid input (source "invalid") is never stored, and a failure (source
    "none") does not overwrite a row that has a country.
    """
    ops = connection.ops
    stamps: dict[datetime, Any] = {}  # a batch shares a few timestamps; adapt each once
    rows: list[tuple[Any, ...]] = []
    for info, resolved_at, last_seen in chain.from_iterable(entries):
        if info.source not in _STORED_SOURCES:
            continue
        if resolved_at not in stamps:
            stamps[resolved_at] = ops.adapt_datetimefield_value(resolved_at)
        if last_seen not in stamps:
            stamps[last_seen] = ops.adapt_datetimefield_value(last_seen)
        # GeoInfo's first six fields are the first six columns (checked below).
        rows.append((*info[:6], stamps[resolved_at], stamps[last_seen]))
    if connection.vendor != "sqlite":
        # PostgreSQL's inet column wants the driver's address type.
        rows = [(ops.adapt_ipaddressfield_value(row[0]), *row[1:]) for row in rows]
    if not rows:
        return 0
    sql = _upsert_sql()
    with transaction.atomic(), connection.cursor() as cursor:
        for start in range(0, len(rows), WRITE_CHUNK):
            cursor.executemany(sql, rows[start : start + WRITE_CHUNK])
    return len(rows)


def touch(seen: dict[str, datetime]) -> int:
    """Move ``last_seen`` of existing rows forward; new rows are not created."""
    if not seen:
        return 0
    by_time: dict[datetime, list[str]] = {}
    for ip, when in seen.items():
        by_time.setdefault(when, []).append(ip)
    updated = 0
    with transaction.atomic():
        for when, ips in by_time.items():
            for start in range(0, len(ips), CHUNK):
                updated += GeoCache.objects.filter(ip__in=ips[start : start + CHUNK]).update(
                    last_seen=when
                )
    return updated
