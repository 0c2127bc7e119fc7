"""Configuration: fail2ban's server settings, its log, and recovery after a bad apply."""

from django.urls import path

from jails.views import placeholder

urlpatterns = [
    path("server/", placeholder("Server", "config", "Not built yet."), name="config_server"),
    path("log/", placeholder("fail2ban log", "config", "Not built yet."), name="config_log"),
]
