from django.urls import path

from geo import views

urlpatterns = [
    path("settings/geo/", views.geo_settings, name="geo_settings"),
    path("settings/geo/re-resolve/", views.geo_re_resolve_now, name="geo_re_resolve"),
]
