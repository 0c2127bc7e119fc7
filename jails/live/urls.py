"""Live fail2ban: jails and their controls, bans and unbans, the IP lookup."""

from django.urls import path

from jails.live import ban_views, jail_views

urlpatterns = [
    path("jails/", jail_views.jail_list, name="jails"),
    path("jails/reload/", jail_views.fail2ban_reload, name="fail2ban_reload"),
    path("jails/restart/", jail_views.fail2ban_restart, name="fail2ban_restart"),
    path("jails/<str:name>/", jail_views.jail_show, name="jail_show"),
    path("jails/<str:name>/stop/", jail_views.jail_stop, name="jail_stop"),
    path("jails/<str:name>/start/", jail_views.jail_start, name="jail_start"),
    path("jails/<str:name>/reload/", jail_views.jail_reload, name="jail_reload"),
    path("jails/<str:name>/idle/", jail_views.jail_idle, name="jail_idle"),
    path("jails/<str:name>/ignore/add/", jail_views.ignore_add, name="ignore_add"),
    path("jails/<str:name>/ignore/remove/", jail_views.ignore_remove, name="ignore_remove"),
    path("jails/<str:name>/ignoreself/", jail_views.ignoreself_set, name="ignoreself_set"),
    path("bans/new/", ban_views.ban_new, name="ban_new"),
    path("bans/unban/", ban_views.unban, name="unban"),
    path("bans/unban-all/", ban_views.unban_all, name="unban_all"),
    path("ip/", ban_views.ip_search, name="ip_search"),
]
