from django.urls import path

from jails import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("dashboard/status/", views.dashboard_status, name="dashboard_status"),
    path("jails/", views.jails, name="jails"),
    path("history/", views.history, name="history"),
    path("config/", views.configuration, name="configuration"),
]
