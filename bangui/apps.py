from __future__ import annotations

from django.apps import AppConfig


class BanguiConfig(AppConfig):
    name = "bangui"
    verbose_name = "BanGUI"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from bangui import startup
        from bangui.accounts import receivers  # noqa: F401 - connects the login receivers

        startup.run_startup_checks()
