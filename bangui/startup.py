"""Startup guard, run from ``BanguiConfig.ready``.

BanGUI keeps state in its process (login throttling, caches) and runs its
jobs in one scheduler, so it must serve from one gunicorn worker (threads are
fine) and only one web instance and one qcluster may use a database. This
module refuses to start otherwise, and says why and what to do.
Migrations, tests and one-off management commands are not affected.
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import sys
import warnings
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError

WORKERS_ENV = "BANGUI_GUNICORN_WORKERS"

_keepers: list[object] = []


def _fail(message: str) -> None:
    bar = "=" * 78
    sys.stderr.write(f"\n{bar}\nBanGUI refuses to start:\n\n{message}\n{bar}\n\n")
    sys.stderr.flush()
    raise ImproperlyConfigured(message)


def detect_role() -> str | None:
    """ "web" under gunicorn, "scheduler" in the qcluster parent, else None."""
    if os.environ.get("SERVER_SOFTWARE", "").startswith("gunicorn/") or WORKERS_ENV in os.environ:
        return "web"
    if len(sys.argv) > 1 and sys.argv[1] == "qcluster" and multiprocessing.parent_process() is None:
        return "scheduler"
    return None


def check_single_worker() -> None:
    raw = os.environ.get(WORKERS_ENV)
    if raw is None:
        _fail(
            "gunicorn was started without BanGUI's gunicorn.conf.py, so the number of\n"
            "workers is unknown. Start it from the BanGUI directory, or pass\n"
            "-c /path/to/bangui/gunicorn.conf.py."
        )
        return
    workers = int(raw)
    if workers != 1:
        _fail(
            f"gunicorn is configured with {workers} workers; BanGUI needs exactly 1.\n"
            "Why: login throttling and caches live in the process, and each worker would\n"
            "hold its own copy; scheduled jobs must not run twice.\n"
            "Fix: start gunicorn with --workers 1 (use --threads for concurrency), and\n"
            "unset WEB_CONCURRENCY or GUNICORN_CMD_ARGS if they set more workers."
        )


def check_static_files() -> None:
    """The hashed static files must have been collected, or every page would be a 500
    ("Missing staticfiles manifest entry")."""
    from django.conf import settings

    backend = settings.STORAGES["staticfiles"]["BACKEND"]
    if "Manifest" not in backend:
        return
    manifest = Path(settings.STATIC_ROOT) / "staticfiles.json"
    if not manifest.is_file():
        _fail(
            f"The static files have not been collected: {manifest} is missing, so every\n"
            "page would fail. Fix: run `python manage.py collectstatic --noinput` (as the\n"
            "user BanGUI runs as, with the same BANGUI_STATIC_ROOT), then start BanGUI again."
        )


def acquire_instance_lock(role: str) -> None:
    from bangui.locks import LockHeld, LockKeeper

    keeper = LockKeeper(role)
    what = "web instance" if role == "web" else "job scheduler (manage.py qcluster)"
    try:
        with warnings.catch_warnings():
            # Django warns about queries in ready(); this one is the point.
            warnings.simplefilter("ignore", RuntimeWarning)
            keeper.acquire()
    except LockHeld as exc:
        _fail(
            f"Another BanGUI {what} is running on this database: {exc}.\n"
            f"Only one may run at a time. Stop the other one; if it crashed, its lock\n"
            f"expires by itself within 30 s (at once if it ran on this host)."
        )
    except DatabaseError as exc:
        _fail(
            f"The database is not ready ({exc}).\n"
            "Run `python manage.py migrate` first (the start scripts do this)."
        )
    _keepers.append(keeper)
    atexit.register(keeper.release)


def run_startup_checks() -> None:
    role = detect_role()
    if role is None:
        return
    if role == "web":
        check_single_worker()
        check_static_files()
    acquire_instance_lock(role)
    if role == "web":
        announce_setup_token()


def announce_setup_token() -> None:
    """Before setup, make the one-time setup token and log the link (see bangui.setup)."""
    from bangui.setup.services import setup_done, setup_token

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a query in ready(), on purpose
            if not setup_done():
                setup_token()
    except DatabaseError:
        pass  # not migrated yet: the setup page makes the token on first visit
