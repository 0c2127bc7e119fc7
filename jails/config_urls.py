"""URLs of the configuration area (/config/...), one module per part of it."""

from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="config_jails"), name="configuration"),
    path("", include("jails.config_jail_urls")),  # jails, filters, actions
    path("", include("jails.config_file_urls")),  # raw files, regex tester
    path("", include("jails.config_server_urls")),  # server settings, log, recovery
]
