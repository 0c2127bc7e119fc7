"""The in-process tier of the geo cache: an LRU whose entries expire.

``functools.lru_cache`` cannot expire entries, and failed lookups must be
retried after ``NEGATIVE_TTL``. Resolved entries expire too (``POSITIVE_TTL``)
so the web process picks up what the re-resolve job wrote to the database.

It also remembers what the database tier still lacks: entries resolved here
("dirty", upserted by ``geo_cache_flush``) and rows whose ``last_seen`` should
move ("seen"; only once a day per IP, which is all a 90-day cleanup needs).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from geo.info import GeoInfo

NEGATIVE_TTL = 300.0  # failed lookups are retried after 5 minutes
POSITIVE_TTL = 3600.0
SEEN_RESOLUTION = timedelta(days=1)


@dataclass(slots=True)
class CacheEntry:
    info: GeoInfo
    resolved_at: datetime
    last_seen: datetime
    expires: float = 0.0  # on the cache's monotonic clock

    @property
    def final(self) -> bool:
        """Resolved, or a special range: nothing a retry could improve."""
        return self.info.resolved or self.info.source == "private"


class GeoMemoryCache:
    def __init__(
        self,
        maxsize: int,
        *,
        positive_ttl: float = POSITIVE_TTL,
        negative_ttl: float = NEGATIVE_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.maxsize = maxsize
        self.positive_ttl = positive_ttl
        self.negative_ttl = negative_ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._data: OrderedDict[str, CacheEntry] = OrderedDict()
        self._dirty: dict[str, CacheEntry] = {}
        self._seen: dict[str, datetime] = {}

    def __len__(self) -> int:
        return len(self._data)

    @property
    def dirty_count(self) -> int:
        return len(self._dirty) + len(self._seen)

    def get_many(self, ips: Iterable[str]) -> dict[str, CacheEntry]:
        """The unexpired entries among ``ips``, marked as recently used."""
        now = self._clock()
        found: dict[str, CacheEntry] = {}
        with self._lock:
            data = self._data
            for ip in ips:
                entry = data.get(ip)
                if entry is None:
                    continue
                if entry.expires <= now:
                    del data[ip]
                    continue
                data.move_to_end(ip)
                found[ip] = entry
        return found

    def put(self, entries: Iterable[CacheEntry], *, dirty: bool = False) -> None:
        """Store entries (e.g. rows read from the database).

        A failed lookup expires ``negative_ttl`` after it ran (its ``resolved_at``),
        so it is retried on time; other entries ``positive_ttl`` from now.
        """
        mono = self._clock()
        wall = timezone.now()
        with self._lock:
            data = self._data
            for entry in entries:
                if entry.final:
                    entry.expires = mono + self.positive_ttl
                else:
                    age = max(0.0, (wall - entry.resolved_at).total_seconds())
                    entry.expires = mono + self.negative_ttl - age
                ip = entry.info.ip
                data[ip] = entry
                data.move_to_end(ip)
                if dirty:
                    self._dirty[ip] = entry
                    self._seen.pop(ip, None)
            while len(data) > self.maxsize:
                data.popitem(last=False)

    def put_fresh(self, infos: Iterable[GeoInfo], now: datetime, *, dirty: bool) -> None:
        """Store entries resolved just now (the fast path for big batches)."""
        mono = self._clock()
        pos, neg = mono + self.positive_ttl, mono + self.negative_ttl
        with self._lock:
            data = self._data
            for info in infos:
                final = info.resolved or info.source == "private"
                entry = CacheEntry(info, now, now, pos if final else neg)
                data[info.ip] = entry
                data.move_to_end(info.ip)
                if dirty:
                    self._dirty[info.ip] = entry
            while len(data) > self.maxsize:
                data.popitem(last=False)

    def refresh(self, infos: Iterable[GeoInfo], now: datetime) -> None:
        """Replace the entries of these IPs that are cached; add none (they are stored)."""
        mono = self._clock()
        pos, neg = mono + self.positive_ttl, mono + self.negative_ttl
        with self._lock:
            data = self._data
            for info in infos:
                if info.ip in data:
                    final = info.resolved or info.source == "private"
                    data[info.ip] = CacheEntry(info, now, now, pos if final else neg)
                    self._dirty.pop(info.ip, None)

    def mark_seen(self, entries: Iterable[CacheEntry], now: datetime) -> None:
        """Note that these (stored) entries were asked for; their row's last_seen follows."""
        with self._lock:
            for entry in entries:
                if now - entry.last_seen >= SEEN_RESOLUTION:
                    entry.last_seen = now
                    if entry.info.ip not in self._dirty:
                        self._seen[entry.info.ip] = now

    def take_dirty(self) -> tuple[list[CacheEntry], dict[str, datetime]]:
        """What the database lacks, handed over once (see ``restore_dirty``)."""
        with self._lock:
            dirty, seen = list(self._dirty.values()), self._seen
            self._dirty, self._seen = {}, {}
        return dirty, seen

    def restore_dirty(self, dirty: Iterable[CacheEntry], seen: dict[str, datetime]) -> None:
        """Put back what a failed flush could not write (newer entries win)."""
        with self._lock:
            for entry in dirty:
                self._dirty.setdefault(entry.info.ip, entry)
            for ip, when in seen.items():
                if ip not in self._dirty:
                    self._seen.setdefault(ip, when)

    def discard(self, ips: Iterable[str]) -> None:
        with self._lock:
            for ip in ips:
                self._data.pop(ip, None)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self._dirty.clear()
            self._seen.clear()
