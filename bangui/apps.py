from __future__ import annotations

from django.apps import AppConfig


class BanguiConfig(AppConfig):
    name = "bangui"
    verbose_name = "BanGUI"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django_q.signals import post_execute

        from bangui import startup
        from bangui.accounts import receivers  # noqa: F401 - connects the login receivers
        from bangui.metrics.jobs import job_recorded

        post_execute.connect(job_recorded, dispatch_uid="bangui.metrics.job_recorded")

        startup.run_startup_checks()
