"""Configuration: the regex tester."""

from django.urls import path

from jails.config.regex import views

urlpatterns = [
    path("regex/", views.regex_tester, name="config_regex"),
]
