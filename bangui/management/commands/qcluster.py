from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError
from django_q.management.commands.qcluster import Command as DjangoQCommand

from bangui.jobcluster import JobCluster


class Command(DjangoQCommand):
    help = "Run BanGUI's job cluster (django-q2) in the foreground until stopped."

    def handle(self, *args: Any, **options: Any) -> None:
        if options.get("run_once") or options.get("cluster_name"):
            super().handle(*args, **options)
            return
        # One process with django-q2's sentinel, pusher and monitor as threads,
        # plus the worker processes (bangui/jobcluster.py says why). run()
        # returns once the cluster has stopped, so the scheduler lock taken in
        # BanguiConfig.ready stays held and renewed until then and is released
        # at exit, after the last job.
        if not JobCluster().run():
            raise CommandError("the job cluster failed; see the log above")
