"""Geo lookups: BanGUI's resolver against a bare ``maxminddb`` reader loop.

Data: the real GeoLite2-City database of the ``maxminddb-geolite2`` package
(2018) and 100,000 distinct random public IPv4 addresses (fixed seed; special
ranges left out, since ours would label those without a lookup).

- cold: ``geo.services.geo_resolve_many(ips, persist=True)`` with both cache
  tiers empty (memory cleared, readers closed, GeoCache table emptied first,
  untimed): validation, special ranges, the reader, the misses' database
  query, and the bulk upsert of 100,000 rows into GeoCache. Baseline: open the
  same file with ``maxminddb.open_database`` and ``get()`` every IP.
- warm: ``geo_lookup_many`` on pages of 100 of those IPs, from the memory tier,
  and from the database tier (memory cleared before each page: one query);
  baseline: ``get()`` of the same 100 IPs on an open bare reader.
"""

from __future__ import annotations

import ipaddress
import random
import time
from collections.abc import Callable

from .core import BenchContext, Row, Stats, interleaved
from .django_env import django_env

COUNT = 100_000
PAGE = 100
COLD_ROUNDS = 5
WARM_CALLS = 500
TARGET_RATIO = 0.5
GOAL_SECONDS = 2.0


def public_ips(count: int, seed: int = 20181) -> list[str]:
    """``count`` distinct global unicast IPv4 addresses."""
    rng = random.Random(seed)
    out: dict[str, None] = {}
    while len(out) < count:
        addr = ipaddress.IPv4Address(rng.getrandbits(32))
        if addr.is_global and not addr.is_multicast:
            out[str(addr)] = None
    return list(out)


def _demo_db() -> str:
    from geo.lookup.mmdb import demo_db_path

    path = demo_db_path()
    if not path:
        raise RuntimeError("pip install maxminddb-geolite2 (the geo-demo extra) for this benchmark")
    return path


def _cold(ips: list[str], path: str) -> tuple[Stats, Stats, int]:
    """Whole-batch times of ours and the bare loop, alternating; ours' resolved count."""
    import maxminddb

    from geo.lookup.pipeline import reset_state
    from geo.models import GeoCache
    from geo.services import geo_resolve_many

    ours: list[float] = []
    bare: list[float] = []
    resolved = 0
    for _ in range(COLD_ROUNDS):
        reset_state()
        GeoCache.objects.all().delete()
        start = time.perf_counter()
        found = geo_resolve_many(ips, persist=True)
        ours.append(time.perf_counter() - start)
        resolved = sum(1 for info in found.values() if info.resolved)
        if GeoCache.objects.count() != len(ips):
            raise RuntimeError("the cold run did not store every IP")

        start = time.perf_counter()
        reader = maxminddb.open_database(path)
        get = reader.get
        for ip in ips:
            get(ip)
        bare.append(time.perf_counter() - start)
        reader.close()
    return Stats(tuple(ours)), Stats(tuple(bare)), resolved


def _pages(pages: list[list[str]]) -> Callable[[], list[str]]:
    """A function returning the next page each call, round and round."""
    position = 0

    def next_page() -> list[str]:
        nonlocal position
        position = (position + 1) % len(pages)
        return pages[position]

    return next_page


def _warm(ips: list[str], path: str) -> tuple[Stats, Stats, Stats]:
    """Per-page times: memory tier, database tier, bare reader."""
    import maxminddb

    from geo.lookup.memory import GeoMemoryCache
    from geo.lookup.pipeline import state
    from geo.selectors import geo_lookup_many

    st = state()
    warm = st.memory
    pages = [ips[i : i + PAGE] for i in range(0, min(len(ips), warm.maxsize // 2), PAGE)]
    for page in pages:  # what page views leave in memory (an ingest adds nothing)
        geo_lookup_many(page)
    mem_page, db_page, bare_page = _pages(pages), _pages(pages[::-1]), _pages(pages)
    reader = maxminddb.open_database(path)

    def from_memory() -> None:
        geo_lookup_many(mem_page())

    def from_database() -> None:
        st.memory = GeoMemoryCache(warm.maxsize)  # empty: one query, no reader
        try:
            geo_lookup_many(db_page())
        finally:
            st.memory = warm

    def bare() -> None:
        get = reader.get
        for ip in bare_page():
            get(ip)

    runs = [(from_memory, WARM_CALLS), (from_database, WARM_CALLS), (bare, WARM_CALLS)]
    stats = interleaved(runs)
    reader.close()
    return stats[0], stats[1], stats[2]


def _rate(stats: Stats, per_call: int) -> str:
    return f"{per_call / stats.mean:,.0f} IPs/s"


def run(ctx: BenchContext) -> list[Row]:
    django_env(ctx)  # Django set up on a temporary SQLite database, migrated
    path = _demo_db()
    ips = public_ips(COUNT)
    ours, bare, resolved = _cold(ips, path)
    mem, db, bare_page = _warm(ips, path)
    ctx.notes.append(
        f"geo-resolve: cold {_rate(ours, COUNT)} vs bare {_rate(bare, COUNT)}; "
        f"{resolved:,} of {COUNT:,} resolved; warm pages of {PAGE}: memory {_rate(mem, PAGE)}, "
        f"database tier {_rate(db, PAGE)}, bare reader {_rate(bare_page, PAGE)}"
    )
    return [
        Row(
            f"geo cold: resolve + store {COUNT:,} IPs vs bare maxminddb loop",
            ours.summary(),
            bare.summary(),
            ratio=bare.mean / ours.mean,
            target=TARGET_RATIO,
            goal=f"≤ {GOAL_SECONDS:.0f} s",
            goal_met=ours.mean <= GOAL_SECONDS,
        ),
        Row(
            f"geo warm (memory): page of {PAGE} IPs vs bare reader",
            mem.summary(),
            bare_page.summary(),
            ratio=bare_page.mean / mem.mean,
        ),
        Row(
            f"geo warm (database tier): page of {PAGE} IPs vs bare reader",
            db.summary(),
            bare_page.summary(),
            ratio=bare_page.mean / db.mean,
        ),
    ]
