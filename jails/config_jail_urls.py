"""Configuration: jails (effective settings, edit, activate), filters and actions."""

from django.urls import path

from jails.views import placeholder

urlpatterns = [
    path("jails/", placeholder("Jails", "config", "Not built yet."), name="config_jails"),
    path("filters/", placeholder("Filters", "config", "Not built yet."), name="config_filters"),
    path("actions/", placeholder("Actions", "config", "Not built yet."), name="config_actions"),
]
