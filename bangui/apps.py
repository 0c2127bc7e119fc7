from __future__ import annotations

from django.apps import AppConfig


class BanguiConfig(AppConfig):
    name = "bangui"
    verbose_name = "BanGUI"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django_q.signals import post_execute, post_execute_in_worker, pre_execute

        from bangui import requestid, startup
        from bangui.accounts import receivers  # noqa: F401 - connects the login receivers
        from bangui.logs import log_uncaught_exceptions
        from bangui.metrics.jobs import job_recorded

        post_execute.connect(job_recorded, dispatch_uid="bangui.metrics.job_recorded")
        # A job's log lines and audit rows carry task:<id> (bangui.requestid).
        pre_execute.connect(requestid.task_started, dispatch_uid="bangui.task_started")
        post_execute_in_worker.connect(requestid.task_finished, dispatch_uid="bangui.task_done")
        log_uncaught_exceptions()  # tracebacks as log records: JSON, sanitized

        startup.run_startup_checks()
