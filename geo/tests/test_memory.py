"""The memory tier on its own: LRU order, expiry, dirty bookkeeping."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from geo.info import GeoInfo
from geo.lookup.memory import CacheEntry, GeoMemoryCache

from .conftest import FakeClock

GB = GeoInfo("81.2.69.142", "GB", "United Kingdom", None, "", "mmdb", True)
FAIL = GeoInfo("5.5.5.5")


def test_it_evicts_the_least_recently_used():
    cache = GeoMemoryCache(2)
    now = timezone.now()
    cache.put_fresh([GeoInfo("1.0.0.1", "AU"), GeoInfo("1.0.0.2", "AU")], now, dirty=False)
    cache.get_many(["1.0.0.1"])
    cache.put_fresh([GeoInfo("1.0.0.3", "AU")], now, dirty=False)
    assert set(cache.get_many(["1.0.0.1", "1.0.0.2", "1.0.0.3"])) == {"1.0.0.1", "1.0.0.3"}


def test_failures_expire_after_five_minutes_counted_from_the_attempt():
    clock = FakeClock()
    cache = GeoMemoryCache(10, clock=clock)
    attempted = timezone.now() - timedelta(minutes=4)
    cache.put([CacheEntry(FAIL, attempted, attempted), CacheEntry(GB, attempted, attempted)])
    clock.advance(61)
    assert set(cache.get_many([FAIL.ip, GB.ip])) == {GB.ip}


def test_dirty_entries_are_handed_over_once_and_survive_eviction():
    cache = GeoMemoryCache(1)
    now = timezone.now()
    cache.put_fresh([GB, FAIL], now, dirty=True)
    assert len(cache) == 1
    dirty, seen = cache.take_dirty()
    assert {e.info.ip for e in dirty} == {GB.ip, FAIL.ip}
    assert cache.take_dirty() == ([], {})
    cache.restore_dirty(dirty, seen)
    assert cache.dirty_count == 2


def test_seen_is_noted_once_a_day():
    cache = GeoMemoryCache(10)
    old = timezone.now() - timedelta(days=2)
    entry = CacheEntry(GB, old, old)
    cache.put([entry])
    now = timezone.now()
    cache.mark_seen([entry], now)
    cache.mark_seen([entry], now + timedelta(hours=1))
    dirty, seen = cache.take_dirty()
    assert dirty == []
    assert seen == {GB.ip: now}
