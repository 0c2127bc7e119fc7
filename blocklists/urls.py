from django.urls import path

from blocklists import views

urlpatterns = [
    path("blocklists/", views.index, name="blocklists"),
    path("blocklists/add/", views.source_add, name="blocklist_add"),
    path("blocklists/import-all/", views.import_all, name="blocklist_import_all"),
    path("blocklists/live/", views.runs_live, name="blocklist_live"),
    path("blocklists/<int:pk>/edit/", views.source_edit, name="blocklist_edit"),
    path("blocklists/<int:pk>/delete/", views.source_delete, name="blocklist_delete"),
    path("blocklists/<int:pk>/import/", views.source_import, name="blocklist_import"),
    path("blocklists/runs/<int:pk>/", views.run_detail, name="blocklist_run"),
]
