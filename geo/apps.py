from __future__ import annotations

import atexit

from django.apps import AppConfig


class GeoConfig(AppConfig):
    name = "geo"
    verbose_name = "Geolocation"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.core.signals import request_finished

        from bangui.startup import detect_role
        from geo.lookup import flusher

        # The web process writes what its pages resolved; see geo/flusher.py.
        request_finished.connect(flusher.flush_if_due, dispatch_uid="geo.flush_if_due")
        if detect_role() == "web":
            atexit.register(flusher.flush_at_exit)
