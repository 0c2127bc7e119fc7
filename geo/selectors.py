"""Reading geo data: the lookups pages use, and the status of the geo subsystem.

Nothing here writes to the database. What a lookup resolves is kept in memory
and marked dirty; ``geo_cache_flush`` writes it in bulk later.

For a page that lists IPs, call ``geo_annotate(rows)`` in the view before
rendering: one batch lookup for the whole page (memory, then one database
query for the misses, then the MaxMind reader), instead of one lookup per
``{% geo %}`` tag.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, MutableMapping, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.db import DatabaseError
from django.utils import timezone

from geo import conf
from geo.health import last_error, note_error
from geo.info import GeoInfo
from geo.lookup import counts, store
from geo.lookup.memory import NEGATIVE_TTL, CacheEntry
from geo.lookup.mmdb import asn_db, country_db, country_db_location
from geo.lookup.pipeline import classify, from_http, from_mmdb, memory, state
from geo.models import GeoCache
from geo.worldmap import country_name

T = TypeVar("T")

_NEGATIVE_TTL = timedelta(seconds=NEGATIVE_TTL)


def geo_lookup(ip: str) -> GeoInfo:
    """Country and network owner of one IP (see ``geo_lookup_many``)."""
    return geo_lookup_many([ip])[ip]


def geo_lookup_many(ips: Iterable[str]) -> dict[str, GeoInfo]:
    """Geo data for each IP, keyed by the strings given; never raises, never writes.

    Invalid input comes back with ``special="invalid"``, special ranges with
    their label, both without any lookup. The rest: memory; then one database
    query for the misses; then the MaxMind reader (and the HTTP fallback when
    on: one request per 100 misses, 3 s to connect and 5 s to answer, never
    waiting for its rate limit or backoff). Failed lookups are retried after
    five minutes.
    """
    batch = classify(ips)
    if not batch.todo:
        return batch.answer({})
    mem = memory()
    now = timezone.now()
    hits = mem.get_many(batch.todo)
    counts.count("memory", len(hits))
    found = {ip: entry.info for ip, entry in hits.items()}
    seen: list[CacheEntry] = list(hits.values())
    rest = [ip for ip in batch.todo if ip not in hits]
    if rest:
        stored = _usable_rows(rest, now)
        counts.count("cache", len(stored))
        mem.put(stored.values())
        seen.extend(stored.values())
        found.update((ip, entry.info) for ip, entry in stored.items())
        fresh = _resolve([(ip, batch.todo[ip]) for ip in rest if ip not in stored])
        mem.put_fresh(fresh.values(), now, dirty=True)
        found.update(fresh)
    mem.mark_seen(seen, now)
    return batch.answer(found)


def _usable_rows(ips: Sequence[str], now: datetime) -> dict[str, CacheEntry]:
    """Stored rows worth using: resolved ones, and failures younger than five minutes."""
    try:
        rows = store.rows_for(ips)
    except DatabaseError as exc:
        # The reader still answers; the database tier is only a cache.
        note_error(f"geo cache table unreadable: {exc}")
        return {}
    return {
        ip: row for ip, row in rows.items() if row.final or now - row.resolved_at < _NEGATIVE_TTL
    }


def _resolve(todo: Sequence[tuple[str, str]]) -> dict[str, GeoInfo]:
    if not todo:
        return {}
    found, misses = from_mmdb(todo)
    answered, unanswered = from_http(misses, wait=False)
    found.update(answered)
    found.update(unanswered)
    counts.count_resolved(found.values())
    return found


def geo_annotate(
    rows: Iterable[T], attr: str = "ip", *, to: str = "geo", stored: str | None = None
) -> list[T]:
    """Set ``row.<to>`` (or ``row[to]`` for dicts) to the GeoInfo of ``row.<attr>``.

    One batch lookup for all rows; call it in the view, then render with
    ``{% geo row.geo %}``. Rows without an IP get None. With ``stored`` (an
    attribute holding the country code archived with the row), that country
    wins over a newer lookup, so a list agrees with the counts and filters
    made from the same archive.
    """
    items = list(rows)

    def ip_of(row: Any) -> str | None:
        value = row.get(attr) if isinstance(row, Mapping) else getattr(row, attr, None)
        return None if value is None else str(value)

    ips = [ip_of(row) for row in items]
    infos = geo_lookup_many(ip for ip in ips if ip is not None)
    for row, ip in zip(items, ips, strict=True):
        info = infos.get(ip) if ip is not None else None
        if stored is not None and info is not None:
            info = _archived(info, getattr(row, stored, "") or "")
        if isinstance(row, MutableMapping):
            row[to] = info
        else:
            setattr(row, to, info)
    return items


def geo_status(*, count: bool = True) -> dict[str, object]:
    """What the ready endpoint and the settings page show about geo lookups.

    ``ok`` is False when the country database cannot be used; BanGUI still
    runs then, showing "—" for every country.
    """
    path, origin = country_db_location()
    db = country_db().status()
    asn_file = asn_db()
    asn = asn_file.status() if asn_file else None
    error = last_error()
    mem = memory()
    client = state().http
    out: dict[str, object] = {
        "ok": db.ok,
        "database": path,
        "origin": origin,
        "type": db.type,
        "build_date": db.build_date,
        "error": db.error,
        "asn_database": None
        if asn is None
        else {
            "path": asn.path,
            "ok": asn.ok,
            "type": asn.type,
            "build_date": asn.build_date,
            "error": asn.error,
        },
        "http_fallback": conf.http_fallback(),
        "http_url": conf.http_url() if conf.http_fallback() else "",
        "http_blocked_seconds": round(client.blocked_for) if client else 0,
        "entries_in_memory": len(mem),
        "pending_writes": mem.dirty_count,
        "last_error": error.message if error else "",
        "last_error_at": error.at.isoformat() if error else None,
    }
    if count:
        try:
            out["entries_cached"] = GeoCache.objects.count()
            out["entries_unresolved"] = GeoCache.objects.filter(source=GeoCache.Source.NONE).count()
        except DatabaseError as exc:
            out["entries_cached"] = out["entries_unresolved"] = None
            out["error"] = out["error"] or f"geo cache table unreadable: {exc}"
    return out


def geo_ips_lacking(ips: Iterable[str]) -> list[str]:
    """The valid public IPs among ``ips`` with no stored country (no row, or a failure)."""
    batch = classify(ips)
    todo = list(batch.todo)
    stored = store.rows_for(todo)
    return [ip for ip in todo if ip not in stored or not stored[ip].final]


def geo_unresolved_ips() -> list[str]:
    """Cached IPs whose lookup failed, oldest attempt first."""
    return list(
        GeoCache.objects.filter(source=GeoCache.Source.NONE)
        .order_by("resolved_at")
        .values_list("ip", flat=True)
    )


def _archived(info: GeoInfo, code: str) -> GeoInfo:
    """``info`` with the archived country ``code`` when the lookup now says otherwise."""
    code = code.upper()
    if not code or (info.resolved and info.country_code.upper() == code):
        return info
    return info._replace(country_code=code, country_name=country_name(code), resolved=True)
