"""Django's per-request time zone in a plain thread-local under BanGUI's WSGI server.

Django keeps the active time zone in an asgiref ``Local``, which must also work
for async code and so takes one process-wide lock on every read. A page reads it
for every date it renders (``template_localtime``), and under gunicorn's threads
that lock became a queue: a thread that lost the GIL while holding it made every
other thread wait for it (issue 16; py-spy showed the worker's threads blocked in
``asgiref/local.py`` ``__getattr__``). BanGUI is served by synchronous threads
only (``bangui.wsgi``), where a ``threading.local`` means exactly what Django
wants: one value per request, set by ``TimezoneMiddleware`` on each request.
The translation machinery, the other such reader, is off (``USE_I18N = False``).
"""

from __future__ import annotations

import threading

from django.utils import timezone


def use_thread_local_timezone() -> None:
    """Swap Django's lock-guarded time-zone store for a lock-free thread-local (idempotent).

    Only for a process that serves requests from plain threads (WSGI); an ASGI
    server would share one thread between requests.
    """
    if not isinstance(timezone._active, threading.local):  # type: ignore[attr-defined]
        timezone._active = threading.local()  # type: ignore[attr-defined]
