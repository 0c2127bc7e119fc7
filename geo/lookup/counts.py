"""How geo lookups were answered, for /metrics: by tier, and the misses.

A tier is where an answer came from: ``memory`` (this process's cache),
``cache`` (the geo cache table, a stored failure included), ``mmdb`` (the
MaxMind file), ``http`` (the fallback service). A ``miss`` is a lookup that
no tier could give a country. Only valid public addresses are counted.

Counted per thread in each process (no lock on a page's path), then added to
``Counter`` rows: by the web process at most once a minute after a response,
by a job worker after each job. /metrics shows the rows plus what its own
process has not written yet, so it counts the web process and the job
cluster together, a minute late at most for the cluster.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable

from django.db import DatabaseError

from bangui.metrics.counters import counter_add, counter_values
from bangui.metrics.tally import ThreadTally
from geo.info import GeoInfo

TIERS = ("memory", "cache", "mmdb", "http")
MISS = "miss"
PREFIX = "geo_lookups:"
log = logging.getLogger("bangui.geo")
FLUSH_INTERVAL = 60.0

_tally: ThreadTally[str] = ThreadTally()
_last_flush = time.monotonic()


def reset() -> None:
    """Forget what this process counted and has not written (with the pipeline's state)."""
    global _tally, _last_flush
    _tally = ThreadTally()
    _last_flush = time.monotonic()


def count(tier: str, n: int) -> None:
    _tally.add(tier, n)


def count_resolved(infos: Iterable[GeoInfo]) -> None:
    """Answers of the MaxMind and HTTP steps: by their source, or a miss."""
    mmdb = http = miss = 0
    for info in infos:
        if not info.resolved:
            miss += 1
        elif info.source == "http":
            http += 1
        else:
            mmdb += 1
    _tally.add("mmdb", mmdb)
    _tally.add("http", http)
    _tally.add(MISS, miss)


def flush() -> None:
    """Add what this process counted to the shared rows (a database error keeps it for later)."""
    global _last_flush
    _last_flush = time.monotonic()
    _tally.flush(lambda delta: counter_add({PREFIX + k: v for k, v in delta.items()}))


def flush_if_due(**_: object) -> None:
    if time.monotonic() - _last_flush >= FLUSH_INTERVAL:
        flush_quietly()


def lookup_totals() -> dict[str, int]:
    """Every process's counts: the rows, plus what this one has not written yet."""
    rows, pending = _tally.read_with(lambda: counter_values(PREFIX))
    totals = {k.removeprefix(PREFIX): v for k, v in rows.items()}
    for key, value in pending.items():
        totals[key] = totals.get(key, 0) + int(value)
    return totals


def flush_if_due_in_job(**_: object) -> None:
    """After each job in a worker: its counts, at once (a worker may be replaced any time)."""
    flush_quietly()


def flush_quietly() -> None:
    try:
        flush()
    except DatabaseError:
        log.warning("geo lookup counts not written; they wait for the next flush")
