"""Configuration: fail2ban's server settings, its log, and recovery after a bad apply."""

from django.urls import path

from jails.config.server import views

urlpatterns = [
    path("server/", views.config_server, name="config_server"),
    path("log/", views.config_log, name="config_log"),
    path("recovery/<int:pk>/rollback/", views.recovery_rollback, name="config_rollback"),
    path("recovery/<int:pk>/dismiss/", views.recovery_dismiss, name="config_recovery_dismiss"),
]
