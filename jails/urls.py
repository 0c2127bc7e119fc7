from django.urls import path

from jails import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("jails/", views.jails, name="jails"),
    path("history/", views.history, name="history"),
    path("config/", views.configuration, name="configuration"),
]
