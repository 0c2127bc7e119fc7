from django.apps import AppConfig


class JailsConfig(AppConfig):
    name = "jails"
    verbose_name = "Jails and bans"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from jails.audit import receivers  # noqa: F401 - records logins, setup, users
