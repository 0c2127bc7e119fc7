from django.urls import path

from alerts import views

urlpatterns = [
    path("config/alerts/", views.index, name="alerts"),
    path("config/alerts/channels/add/", views.channel_add, name="alert_channel_add"),
    path(
        "config/alerts/channels/<int:pk>/edit/",
        views.channel_edit,
        name="alert_channel_edit",
    ),
    path(
        "config/alerts/channels/<int:pk>/delete/",
        views.channel_delete,
        name="alert_channel_delete",
    ),
    path(
        "config/alerts/channels/<int:pk>/test/",
        views.channel_test,
        name="alert_channel_test",
    ),
    path("config/alerts/rules/add/", views.rule_add, name="alert_rule_add"),
    path("config/alerts/rules/<int:pk>/edit/", views.rule_edit, name="alert_rule_edit"),
    path("config/alerts/rules/<int:pk>/delete/", views.rule_delete, name="alert_rule_delete"),
    path("config/alerts/notifications/", views.notifications, name="alert_notifications"),
]
