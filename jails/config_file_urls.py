"""Configuration: the raw file editor and the regex tester."""

from django.urls import path

from jails import config_file_views as files
from jails import regex_views

urlpatterns = [
    path("files/", files.file_list, name="config_files"),
    path("files/new/", files.file_new, name="config_file_new"),
    path("files/<str:subdir>/<str:name>/", files.file_show, name="config_file_show"),
    path("files/<str:subdir>/<str:name>/edit/", files.file_edit, name="config_file_edit"),
    path("regex/", regex_views.regex_tester, name="config_regex"),
]
