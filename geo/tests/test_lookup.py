"""geo_lookup / geo_lookup_many: the tiers, and that page lookups never write."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from geo.lookup.memory import GeoMemoryCache
from geo.lookup.pipeline import memory, state
from geo.models import GeoCache
from geo.selectors import geo_lookup, geo_lookup_many

from .conftest import FakeClock

pytestmark = pytest.mark.django_db


def writes(ctx: CaptureQueriesContext) -> list[str]:
    return [
        q["sql"] for q in ctx.captured_queries if not q["sql"].lstrip().upper().startswith("SELECT")
    ]


def test_it_answers_keyed_by_the_input():
    found = geo_lookup_many(["81.2.69.142", " 8.8.8.8 ", "10.0.0.1", "nope", "2A02:EC0::1"])
    assert set(found) == {"81.2.69.142", " 8.8.8.8 ", "10.0.0.1", "nope", "2A02:EC0::1"}
    assert found[" 8.8.8.8 "].ip == "8.8.8.8"
    assert found[" 8.8.8.8 "].country_code == "US"
    assert found["2A02:EC0::1"].ip == "2a02:ec0::1"
    assert found["10.0.0.1"].special == "private"
    assert found["10.0.0.1"].source == "private"
    assert found["nope"].special == "invalid"
    assert found["nope"].source == "invalid"


def test_an_alias_and_its_canonical_form_share_one_lookup(reader_spy):
    found = geo_lookup_many([" 8.8.8.8", "8.8.8.8"])
    assert found[" 8.8.8.8"] == found["8.8.8.8"]
    assert reader_spy == ["8.8.8.8"]
    assert set(geo_lookup_many([" 8.8.8.8"])) == {" 8.8.8.8"}


def test_invalid_and_special_addresses_never_reach_the_reader(reader_spy):
    bad = ["", "1.2.3.256", "1.2.3.4; rm -rf /", "::ffff:10.0.0.1", "127.0.0.1", "fe80::1%eth0"]
    found = geo_lookup_many([*bad, "192.168.1.1", "2001:db8::1"])
    assert all(not info.resolved for info in found.values())
    assert reader_spy == []


def test_ipv4_mapped_addresses_are_looked_up_as_ipv4(reader_spy):
    info = geo_lookup("::ffff:81.2.69.142")
    assert info.country_code == "GB"
    assert reader_spy == ["81.2.69.142"]


def test_a_banned_network_is_placed_by_its_first_address(reader_spy):
    found = geo_lookup_many(["81.2.69.0/24", "10.1.0.0/16", "2a02:ec0::/32", "1.2.3.0/33"])
    assert found["81.2.69.0/24"].country_code == "GB"
    assert found["10.1.0.0/16"].special == "private"
    assert found["2a02:ec0::/32"].ip == "2a02:ec0::"
    assert found["1.2.3.0/33"].special == "invalid"
    assert reader_spy == ["81.2.69.0", "2a02:ec0::"]


def test_a_page_lookup_never_writes():
    with CaptureQueriesContext(connection) as ctx:
        geo_lookup_many(["81.2.69.142", "8.8.8.8", "5.5.5.5", "10.0.0.1"])
        geo_lookup_many(["81.2.69.142", "8.8.8.8", "5.5.5.5"])
    assert writes(ctx) == []
    assert not GeoCache.objects.exists()
    assert memory().dirty_count == 3


def test_the_memory_tier_answers_without_a_query(django_assert_num_queries, reader_spy):
    geo_lookup_many(["81.2.69.142", "8.8.8.8"])
    reader_spy.clear()
    with django_assert_num_queries(0):
        found = geo_lookup_many(["81.2.69.142", "8.8.8.8"])
    assert found["8.8.8.8"].country_code == "US"
    assert reader_spy == []


def test_the_database_tier_costs_one_query_for_a_page(django_assert_num_queries, reader_spy):
    now = timezone.now()
    ips = [f"81.2.69.{i}" for i in range(100)]
    GeoCache.objects.bulk_create(
        GeoCache(
            ip=ip,
            country_code="FR",
            country_name="France",
            source="http",
            resolved_at=now,
            last_seen=now,
        )
        for ip in ips
    )
    with django_assert_num_queries(1):
        found = geo_lookup_many(ips)
    # The stored HTTP answer wins over the reader, which is not asked at all.
    assert {info.country_code for info in found.values()} == {"FR"}
    assert reader_spy == []


def test_a_stored_failure_is_reused_for_five_minutes_then_retried(reader_spy):
    now = timezone.now()
    GeoCache.objects.create(ip="81.2.69.142", source="none", resolved_at=now, last_seen=now)
    assert not geo_lookup("81.2.69.142").resolved
    assert reader_spy == []
    GeoCache.objects.update(resolved_at=now - timedelta(minutes=6))
    state().memory = GeoMemoryCache(100)
    assert geo_lookup("81.2.69.142").country_code == "GB"
    assert reader_spy == ["81.2.69.142"]


def test_a_failure_in_memory_expires_after_five_minutes(reader_spy):
    clock = FakeClock()
    state().memory = GeoMemoryCache(100, clock=clock)
    assert not geo_lookup("5.5.5.5").resolved
    assert not geo_lookup("5.5.5.5").resolved
    assert reader_spy == ["5.5.5.5"]
    clock.advance(301)
    geo_lookup("5.5.5.5")
    assert reader_spy == ["5.5.5.5", "5.5.5.5"]


def test_resolved_entries_stay_in_memory_for_an_hour(reader_spy):
    clock = FakeClock()
    state().memory = GeoMemoryCache(100, clock=clock)
    geo_lookup("8.8.8.8")
    clock.advance(3000)
    geo_lookup("8.8.8.8")
    assert reader_spy == ["8.8.8.8"]


def test_the_memory_tier_is_bounded():
    state().memory = GeoMemoryCache(100)
    geo_lookup_many([f"81.2.69.{i}" for i in range(150)])
    assert len(memory()) == 100


def test_lookups_work_while_the_cache_table_is_unreadable(monkeypatch):
    from django.db import DatabaseError

    from geo.lookup import store

    def broken(ips):
        raise DatabaseError("disk I/O error")

    monkeypatch.setattr(store, "rows_for", broken)
    assert geo_lookup("8.8.8.8").country_code == "US"


def test_geo_info_has_a_flag_and_a_label():
    info = geo_lookup("81.2.69.142")
    assert info.flag == "\U0001f1ec\U0001f1e7"
    assert info.label == "United Kingdom"
    assert geo_lookup("10.1.1.1").label == "private network"
    assert geo_lookup("10.1.1.1").flag == ""


def test_an_archived_country_wins_over_a_newer_lookup():
    from types import SimpleNamespace

    from geo.selectors import geo_annotate

    rows = [
        SimpleNamespace(ip="81.2.69.142", country_code="DE"),  # the lookup says GB now
        SimpleNamespace(ip="81.2.69.142", country_code="GB"),
        SimpleNamespace(ip="81.2.69.142", country_code=""),
        SimpleNamespace(ip="5.5.5.5", country_code="fr"),  # not resolvable now
    ]
    geo_annotate(rows, stored="country_code")
    assert [(r.geo.country_code, r.geo.label) for r in rows] == [
        ("DE", "Germany"),
        ("GB", "United Kingdom"),
        ("GB", "United Kingdom"),
        ("FR", "France"),
    ]
    assert all(r.geo.resolved for r in rows)
