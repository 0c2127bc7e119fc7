from django.urls import path

from jails.audit import views

urlpatterns = [
    path("", views.audit_log, name="audit_log"),
]
