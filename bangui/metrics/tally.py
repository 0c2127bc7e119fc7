"""Counts kept per thread and summed on read: counting on a request path takes no lock.

A shared dict updated from gunicorn's threads would lose counts (``+=`` is not
atomic) or need a lock every request takes; issue 16 removed such queues. Each
thread counts into its own dict; a scrape or a flush sums them. The lock is
only taken when a thread counts for the first time, and by readers.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
R = TypeVar("R")


class ThreadTally(Generic[K]):
    def __init__(self) -> None:
        self._local = threading.local()
        self._dicts: list[dict[K, float]] = []
        self._lock = threading.Lock()
        self._flushed: dict[K, float] = {}
        self._flush_lock = threading.Lock()
        # A forked job worker starts from nothing: what the parent counted is the parent's.
        os.register_at_fork(after_in_child=self._forget)

    def _forget(self) -> None:
        self._local = threading.local()
        self._dicts = []
        self._lock = threading.Lock()
        self._flushed = {}
        self._flush_lock = threading.Lock()

    def _mine(self) -> dict[K, float]:
        mine: dict[K, float] | None = getattr(self._local, "counts", None)
        if mine is None:
            mine = {}
            with self._lock:
                self._dicts.append(mine)
            self._local.counts = mine
        return mine

    def add(self, key: K, amount: float = 1) -> None:
        if amount:
            mine = self._mine()
            mine[key] = mine.get(key, 0) + amount

    def totals(self) -> dict[K, float]:
        """Everything counted in this process so far."""
        with self._lock:
            dicts = list(self._dicts)
        sums: dict[K, float] = {}
        for counts in dicts:
            # copy() is one C call under the GIL: the owner thread cannot add a key midway.
            for key, value in counts.copy().items():
                sums[key] = sums.get(key, 0) + value
        return sums

    def pending(self) -> dict[K, float]:
        """Counted since the last ``flush`` that succeeded."""
        return self._since(self.totals())

    def _since(self, totals: dict[K, float]) -> dict[K, float]:
        done = self._flushed
        return {k: v - done.get(k, 0) for k, v in totals.items() if v != done.get(k, 0)}

    def read_with(self, read: Callable[[], R]) -> tuple[R, dict[K, float]]:
        """``read()`` (the written totals) and what is pending, with no flush in between.

        A flush between the two would count its delta twice or not at all, and a
        counter seen to go down looks like a restart to Prometheus.
        """
        with self._flush_lock:
            return read(), self.pending()

    def flush(self, write: Callable[[dict[K, float]], None]) -> None:
        """Hand what is pending to ``write`` (a database add); kept for next time if it raises."""
        if not self._flush_lock.acquire(blocking=False):
            return  # another thread is flushing
        try:
            totals = self.totals()
            delta = self._since(totals)
            if delta:
                write(delta)
                self._flushed = totals
        finally:
            self._flush_lock.release()
