from django.contrib import admin
from django.urls import include, path

from bangui import health
from bangui.metrics import views as metrics
from bangui.setup import views as setup

urlpatterns = [
    path("setup/", setup.setup, name="setup"),
    path("login/", setup.login_view, name="login"),
    path("login/code/", setup.login_code, name="login_code"),
    path("logout/", setup.logout_view, name="logout"),
    path("status/bar/", health.status_bar, name="status_bar"),
    path("health/live", health.health_live, name="health_live"),
    path("health/ready", health.health_ready, name="health_ready"),
    path("metrics", metrics.metrics, name="metrics"),
    # Before the admin's own: its login would skip the throttle's page and the second factor.
    path("admin/login/", setup.admin_login, name="admin_login"),
    path("admin/", admin.site.urls),
    path("", include("bangui.accounts.urls")),
    path("", include("jails.urls")),
    path("", include("geo.urls")),
    path("", include("blocklists.urls")),
    path("", include("alerts.urls")),
]
