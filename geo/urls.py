from django.urls import path

from jails.views import placeholder

urlpatterns = [
    path(
        "map/",
        placeholder("Map", "map", "The world map of ban origins is not built yet."),
        name="map",
    ),
]
