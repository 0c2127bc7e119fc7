"""Bulk resolve, the flush of the memory tier, the jobs, the upsert."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import DatabaseError, connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from geo import tasks
from geo.info import GeoInfo
from geo.lookup import flusher, store
from geo.lookup.pipeline import memory
from geo.models import GeoCache
from geo.selectors import geo_lookup, geo_lookup_many
from geo.services import (
    geo_cache_cleanup,
    geo_cache_flush,
    geo_re_resolve,
    geo_resolve_many,
)

pytestmark = pytest.mark.django_db


def stored() -> dict[str, GeoCache]:
    return {row.ip: row for row in GeoCache.objects.all()}


def test_resolve_many_stores_everything_in_one_bulk_write():
    ips = ["81.2.69.142", "8.8.8.8", "5.5.5.5", "10.0.0.1", "not-an-ip", "2a02:ec0::1"]
    with CaptureQueriesContext(connection) as ctx:
        found = geo_resolve_many(ips)
    writes = [
        q["sql"]
        for q in ctx.captured_queries
        if not q["sql"].startswith(("SELECT", "SAVE", "RELEASE"))
    ]
    assert len(writes) == 1
    assert writes[0].startswith("5 times: INSERT")  # one executemany; "not-an-ip" is not stored
    assert found["81.2.69.142"].country_code == "GB"
    rows = stored()
    assert set(rows) == {"81.2.69.142", "8.8.8.8", "5.5.5.5", "10.0.0.1", "2a02:ec0::1"}
    assert rows["8.8.8.8"].country_name == "United States"
    assert rows["8.8.8.8"].source == "mmdb"
    assert (rows["5.5.5.5"].source, rows["5.5.5.5"].country_code) == ("none", "")
    assert rows["10.0.0.1"].source == "private"


def test_resolve_many_without_persist_leaves_the_writes_to_the_flush():
    geo_resolve_many(["8.8.8.8", "5.5.5.5"], persist=False)
    assert not GeoCache.objects.exists()
    assert geo_cache_flush() == 2
    assert set(stored()) == {"8.8.8.8", "5.5.5.5"}
    assert geo_cache_flush() == 0


def test_an_ingest_does_not_fill_the_memory_tier_but_updates_it():
    geo_lookup("5.5.5.5")  # a failure in memory
    geo_resolve_many(["8.8.8.8", "81.2.69.142"])
    assert len(memory()) == 1
    GeoCache.objects.filter(ip="5.5.5.5").delete()
    GeoCache.objects.create(
        ip="5.5.5.5",
        country_code="FR",
        source="http",
        resolved_at=timezone.now(),
        last_seen=timezone.now(),
    )
    found = geo_resolve_many(["5.5.5.5"], fresh=True)
    # MaxMind misses, the stored HTTP answer stays; memory no longer says "failed".
    assert found["5.5.5.5"].country_code == "FR"
    assert geo_lookup("5.5.5.5").country_code == "FR"


def test_the_flush_writes_page_lookups_in_bulk():
    geo_lookup_many(["81.2.69.142", "8.8.8.8", "5.5.5.5"])
    with CaptureQueriesContext(connection) as ctx:
        assert geo_cache_flush() == 3
    sql = [q["sql"] for q in ctx.captured_queries if "SAVEPOINT" not in q["sql"]]
    assert len(sql) == 1  # one executemany ("3 times: INSERT …"), no per-row statements
    assert sql[0].startswith("3 times: INSERT")
    assert stored()["81.2.69.142"].country_code == "GB"
    assert memory().dirty_count == 0


def test_the_flush_moves_last_seen_once_a_day():
    old = timezone.now() - timedelta(days=3)
    GeoCache.objects.create(
        ip="8.8.8.8", country_code="US", source="mmdb", resolved_at=old, last_seen=old
    )
    geo_lookup("8.8.8.8")
    geo_lookup("8.8.8.8")
    assert geo_cache_flush() == 1
    row = GeoCache.objects.get()
    assert row.last_seen > old + timedelta(days=2)
    assert row.resolved_at == old
    geo_lookup("8.8.8.8")
    assert geo_cache_flush() == 0


def test_a_failed_flush_keeps_the_entries_for_the_next_one(monkeypatch):
    geo_lookup_many(["81.2.69.142", "8.8.8.8"])

    def broken(*entries):
        raise DatabaseError("database is locked")

    monkeypatch.setattr(store, "upsert", broken)
    with pytest.raises(DatabaseError):
        geo_cache_flush()
    monkeypatch.undo()
    assert geo_cache_flush() == 2


def test_a_failure_never_replaces_a_stored_country():
    now = timezone.now()
    GeoCache.objects.create(
        ip="5.5.5.5", country_code="FR", source="http", resolved_at=now, last_seen=now
    )
    store.upsert([(GeoInfo("5.5.5.5"), now, now)])
    assert GeoCache.objects.get().country_code == "FR"
    store.upsert([(GeoInfo("5.5.5.5", "IT", "Italy", None, "", "mmdb", True), now, now)])
    assert GeoCache.objects.get().country_code == "IT"


def test_the_upsert_round_trips_through_the_orm():
    now = timezone.now().replace(microsecond=123456)
    info = GeoInfo("2a02:ec0::1", "DE", "Germany", 4294967295, "Ü-Net GmbH", "mmdb", True)
    store.upsert([(info, now, now)])
    row = GeoCache.objects.get()
    assert (row.ip, row.country_code, row.country_name, row.asn, row.org, row.source) == (
        "2a02:ec0::1",
        "DE",
        "Germany",
        4294967295,
        "Ü-Net GmbH",
        "mmdb",
    )
    assert row.resolved_at == now
    assert store.rows_for(["2a02:ec0::1"])["2a02:ec0::1"].info == info


def test_the_web_process_flushes_after_a_response_once_a_minute(client, monkeypatch):
    geo_lookup_many(["8.8.8.8"])
    monkeypatch.setattr(flusher, "_last", flusher.time.monotonic())
    client.get("/health/live")
    assert not GeoCache.objects.exists()
    monkeypatch.setattr(flusher, "_last", flusher.time.monotonic() - 61)
    client.get("/health/live")
    assert GeoCache.objects.filter(ip="8.8.8.8").exists()


def test_flush_if_due_does_nothing_before_any_lookup(monkeypatch):
    from geo.lookup import pipeline

    pipeline.reset_state()
    monkeypatch.setattr(flusher, "_last", float("-inf"))
    flusher.flush_if_due()
    assert pipeline.memory_if_started() is None


def make_row(ip: str, *, days: float, source: str = "mmdb", code: str = "XX") -> None:
    when = timezone.now() - timedelta(days=days)
    GeoCache.objects.create(
        ip=ip,
        country_code=code if source in ("mmdb", "http") else "",
        source=source,
        resolved_at=when,
        last_seen=when,
    )


def test_re_resolve_retries_failures_and_stale_entries_only():
    make_row("81.2.69.142", days=0, source="none")  # a failure: retried
    make_row("8.8.8.8", days=40)  # stale: refreshed
    make_row("1.1.1.1", days=1)  # fresh: left alone
    make_row("10.0.0.1", days=400, source="private")  # never looked up
    summary = geo_re_resolve(older_than_days=30)
    assert (summary.resolved, summary.total) == (2, 2)
    rows = stored()
    assert rows["81.2.69.142"].country_code == "GB"
    assert rows["8.8.8.8"].country_code == "US"
    assert rows["1.1.1.1"].country_code == "XX"
    assert rows["10.0.0.1"].source == "private"


def test_re_resolve_keeps_a_stale_country_it_cannot_refresh():
    make_row("5.5.5.5", days=40, source="http", code="FR")
    summary = geo_re_resolve(older_than_days=30)
    assert summary.resolved == 1
    assert stored()["5.5.5.5"].country_code == "FR"


def test_re_resolve_reads_the_maximum_age_from_the_settings(settings):
    settings.BANGUI_GEOIP_MAX_AGE_DAYS = 5
    make_row("8.8.8.8", days=6)
    assert geo_re_resolve().total == 1


def test_re_resolve_stops_at_its_time_budget():
    make_row("8.8.8.8", days=0, source="none")
    summary = geo_re_resolve(budget_seconds=0)
    assert (summary.attempted, summary.total) == (0, 1)
    assert "left for the next run" in str(summary)


def test_cleanup_deletes_entries_not_seen_for_90_days():
    make_row("8.8.8.8", days=91)
    make_row("1.1.1.1", days=89)
    assert geo_cache_cleanup() == 1
    assert set(stored()) == {"1.1.1.1"}
    assert geo_cache_cleanup(unseen_days=1) == 1


def test_the_tasks_call_the_services():
    geo_lookup("8.8.8.8")
    assert tasks.geo_cache_flush() == "wrote 1 geo cache rows"
    assert tasks.geo_re_resolve() == "resolved 0/0"
    assert tasks.geo_cache_cleanup().startswith("deleted 0 ")
