"""The jails app's pages, one URL module per area."""

from django.urls import include, path

urlpatterns = [
    path("", include("jails.dashboard.urls")),  # /, the dashboard
    path("", include("jails.live.urls")),  # /jails/, /bans/, /ip/
    path("", include("jails.history.urls")),  # /history/, /map/
    path("config/", include("jails.config.urls")),
    path("audit/", include("jails.audit.urls")),
]
