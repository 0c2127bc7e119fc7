from django.contrib import admin
from django.urls import include, path

from bangui import views

urlpatterns = [
    path("setup/", views.setup, name="setup"),
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("status/bar/", views.status_bar, name="status_bar"),
    path("health/live", views.health_live, name="health_live"),
    path("health/ready", views.health_ready, name="health_ready"),
    path("admin/", admin.site.urls),
    path("", include("jails.urls")),
    path("", include("geo.urls")),
    path("", include("blocklists.urls")),
]
