"""BanGUI's job cluster: django-q2 in one process plus its worker processes.

django-q2 runs a cluster as six processes or more: the main one, a sentinel,
a monitor, a pusher and the workers. They are forked from a process that has
Django loaded, but each one soon holds ~10-17 MiB of private copies of the
pages it touched (reference counts, the garbage collector, the ORM at work),
and each counts Django's ~50 MiB again in RSS. On the small servers BanGUI is
made for, that was the larger part of its memory (docs/benchmarks.md,
"Footprint").

So ``manage.py qcluster`` runs django-q2's own parts in fewer processes:

- this process: django-q2's ``Sentinel`` (the guard loop and the scheduler),
  its ``pusher`` and its ``monitor``, each as a thread, with the ORM broker;
- ``Q_CLUSTER["workers"]`` worker processes running django-q2's ``worker``:
  each job still runs in a process of its own, with its time limit enforced
  (SIGALRM, and the guard kills it), and a worker that dies is replaced.

The workers are forked after Django, the job modules and what they import are
loaded and after ``gc.freeze()``, so they share those pages with this process
and their collector does not write to them.

Forking a process that runs threads copies every lock in the state it is in:
a worker forked while the pusher is inside SQLite or writes a log line would
hang on the first query or log line of its own. So the pusher and the monitor
are parked before every fork (a replacement worker; the first ones are forked
before the threads start) and resume after it. The lock heartbeat thread
(``bangui.locks``) is left running, as it is when django-q2 forks its own
sentinel: it spends a millisecond every 10 s in the database.
"""

from __future__ import annotations

import gc
import importlib
import logging
import multiprocessing
import os
import signal
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

import django_q.monitor
import django_q.pusher
from django import db
from django.conf import settings
from django.utils.module_loading import import_string
from django_q.cluster import Sentinel, get_mp_context
from django_q.conf import Conf
from django_q.humanhash import humanize
from django_q.monitor import monitor
from django_q.pusher import pusher
from django_q.worker import worker

from bangui.schedules import JOBS

log = logging.getLogger("django-q")

# Imported before the fork so that every worker shares it instead of loading its
# own copy on its first import (requests, ~5 MiB). The job modules come from
# JOBS; running every job once loads nothing else.
PRELOAD = ("blocklists.fetch",)
# How long a fork waits for the pusher and the monitor to park. The pusher parks
# after its current poll, which may wait up to 20 s for SQLite's write lock; a
# pusher that has not parked after this is blocked on the full task queue, in
# a wait that holds no lock a worker would need.
PARK_TIMEOUT = 30.0


class HelperThread(threading.Thread):
    """A thread that stands in for one of django-q2's helper processes.

    The sentinel's status (``Stat``) reads the pid of its monitor and pusher.
    """

    @property
    def pid(self) -> int:
        return os.getpid()


class _AnyOf:
    """Set when either event is: the pusher stops for good, or parks for a fork."""

    def __init__(self, first: Any, second: threading.Event) -> None:
        self.first = first
        self.second = second

    def is_set(self) -> bool:
        return bool(self.first.is_set() or self.second.is_set())


def run_worker(task_queue: Any, result_queue: Any, timer: Any, timeout: int | None) -> None:
    """django-q2's worker, with its signal dispositions.

    Forked from this process, the worker would inherit the handler that stops
    the cluster. Like django-q2's workers it ignores SIGINT (Ctrl-C reaches the
    whole process group; the cluster stops its workers after their task) and
    dies on SIGTERM.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    worker(task_queue, result_queue, timer, timeout)


class ThreadedSentinel(Sentinel):
    """django-q2's sentinel with its pusher and monitor as threads of this process."""

    def __init__(self, stop_event: Any, start_event: Any, cluster_id: uuid.UUID) -> None:
        # start=False: __init__ runs in the main thread (it sets signal handlers),
        # start() in a thread of its own.
        super().__init__(stop_event, start_event, cluster_id, start=False)
        # In a thread, their setproctitle would rename this whole process.
        django_q.pusher.setproctitle = None
        django_q.monitor.setproctitle = None
        self._pause = threading.Event()
        self._resume = threading.Event()
        self._resume.set()
        self._parked = {"pusher": threading.Event(), "monitor": threading.Event()}

    # -- the helpers as threads -------------------------------------------------------

    def spawn_pusher(self) -> HelperThread:
        return self._thread("pusher", self._run_pusher)

    def spawn_monitor(self) -> HelperThread:
        return self._thread("monitor", self._run_monitor)

    def _thread(self, name: str, target: Callable[[], None]) -> HelperThread:
        thread = HelperThread(target=target, name=f"qcluster-{name}", daemon=True)
        thread.start()
        return thread

    def _run_pusher(self) -> None:
        stop_or_pause = _AnyOf(self.event_out, self._pause)
        while True:
            pusher(self.task_queue, stop_or_pause, self.broker)
            if self.event_out.is_set():
                return
            self._park("pusher")

    def _run_monitor(self) -> None:
        while True:
            monitor(self.result_queue, self.broker)  # returns on "STOP"
            if self.event_out.is_set():  # the sentinel is stopping the cluster
                return
            self._park("monitor")

    def _park(self, name: str) -> None:
        # A worker must not inherit an open SQLite connection (SQLite's rule for fork).
        db.connections.close_all()
        parked = self._parked[name]
        parked.set()
        self._resume.wait()
        parked.clear()

    @contextmanager
    def _helpers_parked(self) -> Iterator[None]:
        """Park the pusher and the monitor around a fork; a no-op before they start."""
        running = [
            name
            for name, thread in (("pusher", self.pusher), ("monitor", self.monitor))
            if thread is not None and thread.is_alive()
        ]
        if not running:
            yield
            return
        self._resume.clear()
        self._pause.set()
        if "monitor" in running:
            self.result_queue.put("STOP")  # ends the monitor's loop after what is queued
        for name in running:
            if not self._parked[name].wait(PARK_TIMEOUT):
                log.warning("the %s did not pause for a worker's fork; forking anyway", name)
        try:
            yield
        finally:
            self._pause.clear()
            self._resume.set()

    # -- workers ------------------------------------------------------------------------

    def spawn_worker(self) -> None:
        # As Sentinel.spawn_process does for its workers, with our entry point.
        timer = multiprocessing.Value("f", -1)
        process: Any = get_mp_context().Process(
            target=run_worker,
            args=(self.task_queue, self.result_queue, timer, self.timeout),
            name=f"Process-{uuid.uuid4().hex}",
        )
        process.daemon = Conf.DAEMONIZE_WORKERS
        process.timer = timer
        self.pool.append(process)
        with self._helpers_parked():
            process.start()


def preload() -> None:
    """Import every job and what it needs, then freeze the heap, before any fork."""
    for job in JOBS:
        import_string(job.func)
    for module in PRELOAD:
        importlib.import_module(module)
    gc.collect()
    # Objects alive now are never collected (they live as long as the process)
    # and the collector no longer writes to their pages, so forked workers
    # keep sharing them.
    gc.freeze()


class JobCluster:
    """Runs the cluster in this process until SIGTERM or SIGINT, then stops it cleanly."""

    def __init__(self) -> None:
        self.cluster_id = uuid.uuid4()
        # Threading events: every user is a thread of this process. The signal
        # handler sets one from the main thread, which never waits on it.
        self.stop_event = threading.Event()
        self.start_event = threading.Event()
        self.failed: BaseException | None = None

    @property
    def name(self) -> str:
        return humanize(self.cluster_id.hex)

    def run(self) -> bool:
        """Blocks until the cluster has stopped; False if the sentinel failed."""
        # Jobs are background work: the web process comes first (the workers inherit it).
        os.nice(max(0, settings.BANGUI_JOB_NICE - os.nice(0)))
        preload()
        db.connections.close_all()  # the startup checks' connection: not for the workers
        sentinel = ThreadedSentinel(self.stop_event, self.start_event, self.cluster_id)
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        thread = threading.Thread(
            target=self._guard, args=(sentinel,), name="qcluster-sentinel", daemon=True
        )
        log.info(
            "Q Cluster %s starting (%d workers, pid %d).", self.name, Conf.WORKERS, os.getpid()
        )
        thread.start()
        # The main thread only waits, so that the signal handler never runs
        # inside a wait on an event it sets (django-q2's own stop deadlocks so).
        while thread.is_alive():
            thread.join(5.0)
        log.info("Q Cluster %s has stopped.", self.name)
        return self.failed is None

    def _guard(self, sentinel: ThreadedSentinel) -> None:
        try:
            sentinel.start()  # spawns the workers and helpers, guards until stopped
        except BaseException as exc:
            self.failed = exc
            log.exception("Q Cluster %s failed", self.name)
            self.stop_event.set()

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        if not self.stop_event.is_set():
            log.info("Q Cluster %s stopping.", self.name)
            self.stop_event.set()
