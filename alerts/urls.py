from django.urls import path

from alerts import views

urlpatterns = [
    path("configuration/alerts/", views.index, name="alerts"),
    path("configuration/alerts/channels/add/", views.channel_add, name="alert_channel_add"),
    path(
        "configuration/alerts/channels/<int:pk>/edit/",
        views.channel_edit,
        name="alert_channel_edit",
    ),
    path(
        "configuration/alerts/channels/<int:pk>/delete/",
        views.channel_delete,
        name="alert_channel_delete",
    ),
    path(
        "configuration/alerts/channels/<int:pk>/test/",
        views.channel_test,
        name="alert_channel_test",
    ),
    path("configuration/alerts/rules/add/", views.rule_add, name="alert_rule_add"),
    path("configuration/alerts/rules/<int:pk>/edit/", views.rule_edit, name="alert_rule_edit"),
    path(
        "configuration/alerts/rules/<int:pk>/delete/", views.rule_delete, name="alert_rule_delete"
    ),
    path("configuration/alerts/notifications/", views.notifications, name="alert_notifications"),
]
