"""Refuse a NUL character in the query string of an admin page, with HTTP 400.

PostgreSQL stores no NUL in text and psycopg raises on one (``DataError``).
The admin's list filters hand their value to the query unchecked and the query
runs only when the page renders, past Django's own checks, so
``/admin/jails/banrecord/?jail=%00``, ``?origin__exact=%00`` and the geo
cache's ``?source__exact=%00`` were HTTP 500s there (SQLite took them).
BanGUI's own pages read their query strings through forms, which refuse NUL
with a message next to the field (Django's CharField); this middleware leaves
them alone. No filter value of the admin has a NUL.

Cheap: it looks only at requests the resolver sent to the admin site, and
then at the query string only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest

MESSAGE = "NUL characters (%00) are not allowed in the admin's filters and searches.\n"


class RefuseNulMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view: Callable[..., Any], args: Any, kwargs: Any
    ) -> HttpResponse | None:
        match = request.resolver_match
        if match is None or match.app_name != "admin":
            return None
        query = request.META.get("QUERY_STRING", "")
        if "%00" in query or "\x00" in query:
            return HttpResponseBadRequest(MESSAGE, content_type="text/plain; charset=utf-8")
        return None
