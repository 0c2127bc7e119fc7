"""Configuration: the raw file editor."""

from django.urls import path

from jails.config.files import views as files

urlpatterns = [
    path("files/", files.file_list, name="config_files"),
    path("files/new/", files.file_new, name="config_file_new"),
    path("files/<str:subdir>/<str:name>/", files.file_show, name="config_file_show"),
    path("files/<str:subdir>/<str:name>/edit/", files.file_edit, name="config_file_edit"),
]
