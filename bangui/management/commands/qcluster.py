from __future__ import annotations

import signal
import time
from typing import Any

from django_q.cluster import Cluster
from django_q.management.commands.qcluster import Command as DjangoQCommand


class Command(DjangoQCommand):
    help = "Run BanGUI's job cluster (django-q2) in the foreground until stopped."

    def handle(self, *args: Any, **options: Any) -> None:
        if options.get("run_once") or options.get("cluster_name"):
            super().handle(*args, **options)
            return
        cluster = Cluster()
        cluster.start()
        stopping = False

        def stop_once(signum: int, frame: object) -> None:
            # django-q2's own handler is not re-entrant: a second SIGTERM while
            # it stops the cluster deadlocks on its Event. Stop once, ignore more.
            nonlocal stopping
            if stopping:
                return
            stopping = True
            cluster.stop()

        signal.signal(signal.SIGTERM, stop_once)
        signal.signal(signal.SIGINT, stop_once)
        # django-q2's own command returns here and leaves the interpreter's exit
        # to join the cluster, which runs atexit handlers (and so would release
        # the scheduler lock taken in BanguiConfig.ready) while jobs still run.
        # Waiting here keeps the lock held, renewed and released with the cluster.
        # Poll rather than join(): SIGTERM runs Cluster.stop(), which joins the
        # sentinel itself, and a join interrupted by that handler can deadlock.
        while cluster.sentinel is not None and cluster.sentinel.is_alive():
            time.sleep(0.5)
