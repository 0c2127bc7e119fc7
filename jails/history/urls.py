"""The ban history archive: the list, one address, the export, and the world map."""

from django.urls import path

from jails.history import export, map_views, views

urlpatterns = [
    path("history/", views.history, name="history"),
    path("history/export/", export.history_export, name="history_export"),
    path("history/map/", views.history_map_part, name="history_map"),
    path("history/ip/<path:ip>/", views.history_ip, name="history_ip"),
    path("map/", map_views.world_map, name="map"),
]
