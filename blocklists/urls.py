from django.urls import path

from jails.views import placeholder

urlpatterns = [
    path(
        "blocklists/",
        placeholder("Blocklists", "blocklists", "Blocklist import is not built yet."),
        name="blocklists",
    ),
]
