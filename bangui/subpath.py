"""Serving BanGUI under a sub-path (``BANGUI_URL_PREFIX=/bangui``) behind a reverse proxy.

Django builds every link from ``FORCE_SCRIPT_NAME`` (settings), and matches
URLs against ``path_info``, the part after the prefix. Proxies differ in what they
pass on: nginx's ``proxy_pass http://app/;`` strips the prefix, ``proxy_pass
http://app;`` and Caddy's ``handle`` keep it. ``strip_prefix`` lets both work.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.http import HttpRequest

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def strip_prefix(app: WSGIApp, prefix: str) -> WSGIApp:
    """``app`` with ``prefix`` taken off the front of PATH_INFO when a proxy passed it on.

    Only at a segment boundary: with prefix /bangui, /bangui-x is a path of its own.
    Without a prefix, ``app`` itself (nothing added to a request).
    """
    if not prefix:
        return app

    def stripped(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == prefix or path.startswith(prefix + "/"):
            environ["PATH_INFO"] = path[len(prefix) :] or "/"
        return app(environ, start_response)

    return stripped


def script_name(request: HttpRequest) -> str:
    """The prefix this request came under ("" or e.g. "/bangui"), from the request itself.

    ``request.path`` is the prefix followed by ``path_info``; read that way it costs
    no look-up in Django's per-thread script prefix.
    """
    return request.path[: len(request.path) - len(request.path_info)]


def within(request: HttpRequest, path: str) -> str | None:
    """``path`` (an absolute path on this site) without the request's prefix; None outside it."""
    prefix = script_name(request)
    if not prefix:
        return path
    if path == prefix or path.startswith(prefix + "/"):
        return path[len(prefix) :] or "/"
    return None
