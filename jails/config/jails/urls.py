"""Configuration: jails (effective settings, edit, activate), filters and actions."""

from django.urls import path

from jails.config.jails import views

urlpatterns = [
    path("jails/", views.config_jails, name="config_jails"),
    path("jails/<str:name>/", views.config_jail, name="config_jail"),
    path(
        "jails/<str:name>/persist-ignore/",
        views.config_jail_persist_ignore,
        name="config_jail_persist_ignore",
    ),
    path("jails/<str:name>/activate/", views.config_jail_activate, name="config_jail_activate"),
    path(
        "jails/<str:name>/deactivate/", views.config_jail_deactivate, name="config_jail_deactivate"
    ),
    path("filters/", views.config_filters, name="config_filters"),
    path("filters/new/", views.config_filter_new, name="config_filter_new"),
    path("filters/<str:name>/", views.config_filter, name="config_filter"),
    path("filters/<str:name>/assign/", views.config_filter_assign, name="config_filter_assign"),
    path("filters/<str:name>/delete/", views.config_filter_delete, name="config_filter_delete"),
    path("actions/", views.config_actions, name="config_actions"),
    path("actions/<str:name>/", views.config_action, name="config_action"),
]
