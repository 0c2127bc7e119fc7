from django.apps import AppConfig


class BlocklistsConfig(AppConfig):
    name = "blocklists"
    verbose_name = "Blocklists"
    default_auto_field = "django.db.models.BigAutoField"
