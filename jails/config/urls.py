"""URLs of the configuration area (/config/...), one module per part of it."""

from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="config_jails"), name="configuration"),
    path("", include("jails.config.jails.urls")),  # jails, filters, actions
    path("", include("jails.config.files.urls")),  # raw files
    path("", include("jails.config.regex.urls")),  # regex tester
    path("", include("jails.config.server.urls")),  # server settings, log, recovery
]
