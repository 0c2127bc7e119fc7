"""Configuration: the raw file editor and the regex tester."""

from django.urls import path

from jails.views import placeholder

urlpatterns = [
    path("files/", placeholder("Files", "config", "Not built yet."), name="config_files"),
    path("regex/", placeholder("Regex tester", "config", "Not built yet."), name="config_regex"),
]
