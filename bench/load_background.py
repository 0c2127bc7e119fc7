"""``python -m bench.load_background MARKER``: the job cluster's heavy work, non-stop.

Run by ``bench.load`` in a process of its own, against the web process's
database and fail2ban, while the load client measures the pages:

- a **history sync** (``jails.history.services.history_sync`` as the
  ``history_sync`` job calls it, every minute in production) every
  ``SYNC_EVERY`` seconds;
- **blocklist imports** (``blocklists.services.import_run`` end to end, what
  the job cluster runs) one after the other for as long as the process lives:
  each downloads a list of ``BASE + FRESH`` addresses from a 127.0.0.1 server
  of its own. ``BASE`` are the same every time and ``FRESH`` are new, so the
  content changes, all of it is sent to fail2ban again (it renews the bans it
  holds), and each run adds ``FRESH`` bans for the sync to archive.

The jail has no per-ban action (an action per address makes fail2ban answer
nothing else for seconds per batch, whoever sends it; see ``blocklist-action``).
Warm-up, before ``MARKER`` is created: the first import bans all ``BASE + FRESH``
addresses anew, and syncs run until the archive holds them, so the measurement
sees the steady state (re-imports, a few thousand new bans each) rather than a
first import of a list. A ``background:`` summary line of the time after the
marker is printed on SIGTERM.
"""

from __future__ import annotations

import itertools
import os
import signal
import sys
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Any

SYNC_EVERY = 10.0
BASE = 98_000
FRESH = 2_000


def _addresses(first_octet: int, start: int, count: int) -> list[str]:
    """Distinct public IPv4 addresses ``start``… of ``first_octet``.0.0.0/8."""
    return [
        f"{first_octet}.{n // 254 >> 8 & 255}.{n // 254 & 255}.{n % 254 + 1}"
        for n in range(start, start + count)
    ]


class Counters:
    def __init__(self) -> None:
        self.syncs = 0
        self.archived = 0
        self.sync_seconds = 0.0
        self.imports = 0
        self.sent = 0
        self.newly = 0
        self.started = time.monotonic()

    def line(self) -> str:
        took = time.monotonic() - self.started
        return (
            f"background: {took:.0f} s, {self.syncs} history syncs ({self.archived:,} bans "
            f"archived, {self.sync_seconds:.1f} s syncing), {self.imports} imports finished "
            f"({self.sent:,} addresses sent, {self.newly:,} newly banned)"
        )


def _syncs(counters: Counters, stop: threading.Event) -> None:
    from django.db import connection

    from bangui.fail2ban.configured import get_client
    from jails.history.services import history_sync

    while not stop.is_set():
        started = time.monotonic()
        result = history_sync(client=get_client())  # as the history_sync job calls it
        if not result.ok:
            print(f"history sync: {result.error}", file=sys.stderr, flush=True)
        counters.sync_seconds += time.monotonic() - started
        counters.syncs += 1
        counters.archived += result.added
        connection.close()
        stop.wait(SYNC_EVERY)


def _catch_up() -> None:
    """Sync until the archive has what fail2ban wrote (its DB writer lags the bans)."""
    from bangui.fail2ban.configured import get_client
    from jails.history.services import history_sync

    started = time.monotonic()
    while True:
        added = history_sync(client=get_client()).added
        if added == 0 and time.monotonic() - started > 5:
            return
        time.sleep(1)


def main(marker: Path) -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bangui.settings")
    django.setup()
    from django.conf import settings

    # The job cluster's own niceness (bangui/jobcluster.py): this process stands for it.
    os.nice(max(0, settings.BANGUI_JOB_NICE - os.nice(0)))
    from blocklists.models import BlocklistSource, ImportRun
    from blocklists.services import import_run, runs_queue
    from blocklists.tests.httpserver import LocalServer, respond
    from jails.audit.services import Actor

    counters = Counters()
    stop = threading.Event()

    def summary(signum: int, frame: FrameType | None) -> None:
        print(counters.line(), flush=True)
        os._exit(0)  # mid-import on purpose: the bench stops here

    signal.signal(signal.SIGTERM, summary)
    base = _addresses(41, 0, BASE)
    generation = itertools.count()

    def serve(handler: Any) -> None:
        fresh = _addresses(42, next(generation) * FRESH, FRESH)
        respond("\n".join(base + fresh) + "\n")(handler)

    with LocalServer() as server:
        server.route("/list.txt", serve)
        source, _ = BlocklistSource.objects.update_or_create(
            name="load bench", defaults={"url": server.url("/list.txt")}
        )

        def one_import() -> ImportRun:
            (run,) = runs_queue([source], actor=Actor.system("bench"), trigger="command")
            return import_run(run)

        first = one_import()
        print(f"warm-up: first import {first.status}, {first.newly_banned:,} banned", flush=True)
        _catch_up()
        counters = Counters()
        threading.Thread(target=_syncs, args=(counters, stop), daemon=True).start()
        marker.touch()
        while True:
            run = one_import()
            if run.status != ImportRun.Status.OK:
                print(f"import {run.pk}: {run.status} {run.error}", file=sys.stderr, flush=True)
                time.sleep(1)
            counters.imports += 1
            counters.sent += run.newly_banned + run.already_banned
            counters.newly += run.newly_banned


if __name__ == "__main__":
    main(Path(sys.argv[1]))
