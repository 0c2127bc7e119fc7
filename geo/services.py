"""Writing geo data: bulk resolve-and-store, the flush of the memory tier, the jobs."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import chain

from django.db import DatabaseError
from django.db.models import Q
from django.utils import timezone

from geo import conf
from geo.info import GeoInfo
from geo.lookup import counts, store
from geo.lookup.memory import NEGATIVE_TTL
from geo.lookup.pipeline import classify, from_http, from_mmdb, memory, no_gc_pauses
from geo.models import GeoCache

# geo_re_resolve must end well inside django-q's task timeout (Q_CLUSTER 60 s);
# what it has not reached is taken up by the next run.
RE_RESOLVE_BUDGET = 45.0
RE_RESOLVE_CHUNK = 5_000

_Row = tuple[GeoInfo, datetime, datetime]


@dataclass(frozen=True)
class ResolveSummary:
    resolved: int
    attempted: int
    total: int

    def __str__(self) -> str:
        text = f"resolved {self.resolved}/{self.total}"
        if self.attempted < self.total:
            text += f" ({self.total - self.attempted} left for the next run)"
        return text


def geo_resolve_many(
    ips: Iterable[str],
    *,
    persist: bool = True,
    fresh: bool = False,
    wait_http: bool = True,
    http_deadline: float | None = None,
) -> dict[str, GeoInfo]:
    """Resolve a batch of IPs (ingest, jobs, commands) and store the result in bulk.

    MaxMind first: it is local and fast, so the database tier is only read for
    its misses (a stored HTTP answer, or a recent failure, is reused). Then
    the HTTP fallback, when on, waiting for its rate limit until
    ``http_deadline`` (``time.monotonic()``). With ``persist`` every result
    (special ranges too) is upserted at once; otherwise it goes to the memory
    tier, marked dirty for ``geo_cache_flush``. ``fresh`` ignores the memory
    tier and cached failures: it is how re-resolve retries. A failure never
    replaces a stored country.
    """
    items = list(ips)
    with no_gc_pauses(len(items)):
        return _resolve_many(
            items, persist=persist, fresh=fresh, wait=wait_http, deadline=http_deadline
        )


def _resolve_many(
    ips: list[str], *, persist: bool, fresh: bool, wait: bool, deadline: float | None
) -> dict[str, GeoInfo]:
    batch = classify(ips)
    now = timezone.now()
    mem = memory()
    hits = {} if fresh else mem.get_many(batch.todo)
    counts.count("memory", len(hits))
    rows: list[_Row] = [(e.info, e.resolved_at, now) for e in hits.values()]
    todo = batch.todo.items() if not hits else [t for t in batch.todo.items() if t[0] not in hits]
    found, misses = from_mmdb(todo)
    new = list(found.values())
    found.update((ip, entry.info) for ip, entry in hits.items())
    if misses:
        stored = store.rows_for([ip for ip, _, _, _ in misses])
        ask = []
        for miss in misses:
            row = stored.get(miss[0])
            young = row is not None and (now - row.resolved_at).total_seconds() < NEGATIVE_TTL
            if row is not None and not fresh and (row.final or young):
                found[row.info.ip] = row.info
                rows.append((row.info, row.resolved_at, now))
                counts.count("cache", 1)
            else:
                ask.append(miss)
        answered, unanswered = from_http(ask, wait=wait, deadline=deadline)
        for ip, info in (answered | unanswered).items():
            row = stored.get(ip)
            if not info.resolved and row is not None and row.info.resolved:
                found[ip] = row.info
                rows.append((row.info, row.resolved_at, now))
                counts.count("cache", 1)
            else:
                found[ip] = info
                new.append(info)
    counts.count_resolved(new)
    if persist:
        special = [info for info in batch.done.values() if info.source == "private"]
        store.upsert(rows, ((info, now, now) for info in chain(new, special)))
        # Stored: the memory tier is left to what pages ask for (an ingest of
        # 100k IPs would evict a page's working set), but it must not keep
        # answering with what it had before.
        mem.refresh(found.values(), now)
    else:
        mem.put_fresh(new, now, dirty=True)
    return batch.answer(found)


def geo_cache_flush() -> int:
    """Write what this process resolved since the last flush, in bulk; rows written.

    Runs in the web process after responses (see ``geo.lookup.flusher``) and as a job.
    On a database error nothing is lost: the entries wait for the next flush.
    """
    mem = memory()
    dirty, seen = mem.take_dirty()
    if not dirty and not seen:
        return 0
    try:
        written = store.upsert((e.info, e.resolved_at, e.last_seen) for e in dirty)
        return written + store.touch(seen)
    except DatabaseError:
        mem.restore_dirty(dirty, seen)
        raise


def geo_re_resolve(
    *, older_than_days: int | None = None, budget_seconds: float = RE_RESOLVE_BUDGET
) -> ResolveSummary:
    """Resolve again the entries without a country and those older than the maximum age.

    ``older_than_days`` defaults to ``BANGUI_GEOIP_MAX_AGE_DAYS``. Oldest first,
    for at most ``budget_seconds``; the rest is left for the next run.
    """
    days = conf.max_age_days() if older_than_days is None else older_than_days
    cutoff = timezone.now() - timedelta(days=days)
    ips = list(
        GeoCache.objects.filter(Q(source=GeoCache.Source.NONE) | Q(resolved_at__lt=cutoff))
        .exclude(source=GeoCache.Source.PRIVATE)
        .order_by("resolved_at")
        .values_list("ip", flat=True)
    )
    deadline = time.monotonic() + budget_seconds
    resolved = attempted = 0
    for start in range(0, len(ips), RE_RESOLVE_CHUNK):
        if time.monotonic() >= deadline:
            break
        chunk = ips[start : start + RE_RESOLVE_CHUNK]
        found = geo_resolve_many(chunk, fresh=True, http_deadline=deadline)
        attempted += len(chunk)
        resolved += sum(1 for info in found.values() if info.resolved)
    return ResolveSummary(resolved, attempted, len(ips))


def geo_cache_cleanup(*, unseen_days: int = 90) -> int:
    """Delete entries no page or job has asked for in ``unseen_days``; how many."""
    cutoff = timezone.now() - timedelta(days=unseen_days)
    deleted, _ = GeoCache.objects.filter(last_seen__lt=cutoff).delete()
    return deleted
