from __future__ import annotations

import atexit

from django.apps import AppConfig


class GeoConfig(AppConfig):
    name = "geo"
    verbose_name = "Geolocation"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.core.signals import request_finished
        from django_q.signals import post_execute_in_worker

        from bangui.startup import detect_role
        from geo.lookup import counts, flusher

        # The web process writes what its pages resolved; see geo/flusher.py.
        request_finished.connect(flusher.flush_if_due, dispatch_uid="geo.flush_if_due")
        # Lookup counts for /metrics (geo/lookup/counts.py): the web process after a
        # response, a job worker after each job.
        request_finished.connect(counts.flush_if_due, dispatch_uid="geo.counts_flush")
        post_execute_in_worker.connect(counts.flush_if_due_in_job, dispatch_uid="geo.counts_job")
        if detect_role() == "web":
            atexit.register(flusher.flush_at_exit)
            atexit.register(counts.flush_quietly)
