"""One ID per request (and per job run), in every log line, the response and the audit row.

A request's ID comes from ``X-Request-ID`` only when the direct peer is a
trusted proxy (BANGUI_TRUSTED_PROXIES) and the value is 1-64 characters of
``[A-Za-z0-9._-]``; otherwise it is a new uuid4 hex. A job run's ID is
``task:<django-q2 task id>``.

The ID lives in ``bangui.logs``'s ``ContextVar``: per thread under gunicorn's
threads, with no lock to take (unlike asgiref's ``Local``, see
``bangui.threadlocals``). ``bangui.logs.current_request_id()`` reads it.
"""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse

from bangui.clientip import _trusted
from bangui.logs import _current

HEADER = "X-Request-ID"  # gunicorn's access line reads it back from the response
_SANE = re.compile(r"[A-Za-z0-9._-]{1,64}")


def new_request_id() -> str:
    return uuid.uuid4().hex


def incoming_request_id(meta: dict[str, Any]) -> str:
    """The proxy's ID when a trusted proxy sent a sane one, else a new one."""
    given = meta.get("HTTP_X_REQUEST_ID")
    if isinstance(given, str) and _SANE.fullmatch(given) and _trusted(meta.get("REMOTE_ADDR", "")):
        return given
    return new_request_id()


def _finished(**kwargs: Any) -> None:
    # After the response is sent (Django logs 4xx/5xx after the middleware returned):
    # a log line of this thread between two requests belongs to none.
    _current.set(None)


class RequestIDMiddleware:
    """First in MIDDLEWARE: everything after it, health and static files too, has the ID."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        from django.core.signals import request_finished

        request_finished.connect(_finished, dispatch_uid="bangui.requestid.finished")

    def __call__(self, request: HttpRequest) -> HttpResponse:
        rid = incoming_request_id(request.META)
        # Not reset on the way out: Django logs "Not Found: /x" after the middleware
        # chain has returned; request_finished clears it.
        _current.set(rid)
        response = self.get_response(request)
        response[HEADER] = rid
        return response


# -- job runs (django-q2's worker, see BanguiConfig.ready) ----------------------------

_jobs = threading.local()  # per thread: the IDs that running tasks replaced


def task_started(sender: Any, task: dict[str, Any], **kwargs: Any) -> None:
    stack = _jobs.__dict__.setdefault("stack", [])
    stack.append(_current.get())
    _current.set(f"task:{task.get('id', '')}"[:64])


def task_finished(sender: Any, task: dict[str, Any], **kwargs: Any) -> None:
    # A sync task (tests, Q_CLUSTER sync) runs inside a request: its ID comes back.
    stack = _jobs.__dict__.get("stack")
    if stack:
        _current.set(stack.pop())
