from django.urls import path

from geo import map_views, views

urlpatterns = [
    path("map/", map_views.world_map, name="map"),
    path("settings/geo/", views.geo_settings, name="geo_settings"),
    path("settings/geo/re-resolve/", views.geo_re_resolve_now, name="geo_re_resolve"),
]
