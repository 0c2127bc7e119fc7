from django.urls import path

from geo import views
from jails.views import placeholder

urlpatterns = [
    path(
        "map/",
        placeholder("Map", "map", "The world map of ban origins is not built yet."),
        name="map",
    ),
    path("settings/geo/", views.geo_settings, name="geo_settings"),
    path("settings/geo/re-resolve/", views.geo_re_resolve_now, name="geo_re_resolve"),
]
