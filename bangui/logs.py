"""Log formats (BANGUI_LOG_FORMAT=plain|json), the request-ID filter, gunicorn's logging.

Used by ``bangui/settings.py`` (LOGGING) and ``gunicorn.conf.py`` (gunicorn's own
loggers: its access line and its arbiter's messages), so that one variable gives
one format on the whole of gunicorn's output. No Django import at module level:
gunicorn reads this before Django is set up. See docs/logging.md.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any

from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

LOG_FORMATS = ("plain", "json")
# The auth log's line: documented (README "Failed logins") and parsed by
# contrib/fail2ban/filter.d/bangui-auth.conf, so its file keeps it in either format.
AUTH_LINE = "%(asctime)s %(levelname)s %(name)s: %(message)s"
PLAIN_LINE = "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"
# gunicorn's combined line, with the response's X-Request-ID at the end.
ACCESS_LINE = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %({x-request-id}o)s'
JSON_FIELDS = ("time", "level", "logger", "message", "request_id", "exception")


# Set by bangui.requestid (a request, a job run). A ContextVar is per thread under
# gunicorn's threads and takes no lock to read (asgiref's Local does: issue 16).
_current: ContextVar[str | None] = ContextVar("bangui_request_id", default=None)


def current_request_id() -> str | None:
    """The ID of the request or job this thread works for, if any."""
    return _current.get()


def log_format(raw: str | None) -> str:
    """BANGUI_LOG_FORMAT's value, or ValueError with what to write instead."""
    value = (raw or "plain").strip().lower()
    if value not in LOG_FORMATS:
        raise ValueError(f"BANGUI_LOG_FORMAT={raw!r}: use plain (the default) or json.")
    return value


class RequestIDFilter(logging.Filter):
    """Gives every record ``request_id``: the request's or job's, else ``-``."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            rid = current_request_id()
            if rid is None and record.name == "gunicorn.access":
                # Logged after the response, outside the request: the ID is in its atoms.
                args = record.args
                atom = args.get("{x-request-id}o") if isinstance(args, Mapping) else None
                rid = str(atom) if atom else None
            record.request_id = rid or "-"
        return True


class JsonFormatter(_JsonFormatter):
    """One JSON object per line with exactly JSON_FIELDS: no extra a caller passed."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            "%(levelname)s %(name)s %(message)s %(request_id)s",
            rename_fields={"levelname": "level", "name": "logger", "exc_info": "exception"},
            timestamp="time",
            **kwargs,
        )

    def process_log_record(self, log_record: dict[str, Any]) -> dict[str, Any]:
        return {key: log_record[key] for key in JSON_FIELDS if key in log_record}


def log_uncaught_exceptions() -> None:
    """An uncaught exception (of a thread, or of the main thread) as one ERROR record.

    Python writes them raw on stderr: many lines, not JSON, and past the sanitizer.
    Installed once logging is configured (BanguiConfig.ready).
    """
    log = logging.getLogger("bangui.uncaught")
    default_hook = sys.excepthook

    def main_hook(exc_type: Any, value: Any, tb: Any) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            default_hook(exc_type, value, tb)
            return
        log.error("Uncaught exception", exc_info=(exc_type, value, tb))

    def thread_hook(args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit:
            return
        name = args.thread.name if args.thread is not None else "?"
        exc_info = (args.exc_type, args.exc_value, args.exc_traceback)
        log.error("Exception in thread %s", name, exc_info=exc_info)  # type: ignore[arg-type]

    sys.excepthook = main_hook
    threading.excepthook = thread_hook


def formatters() -> dict[str, dict[str, Any]]:
    return {
        "auth": {"format": AUTH_LINE},
        "plain": {"format": PLAIN_LINE},
        "json": {"()": "bangui.logs.JsonFormatter"},
    }


def filters() -> dict[str, dict[str, Any]]:
    return {
        "request_id": {"()": "bangui.logs.RequestIDFilter"},
        "sanitize": {"()": "bangui.logsanitize.SanitizeFilter"},
    }


FILTERS = ["request_id", "sanitize"]


def gunicorn_logconfig(fmt: str) -> dict[str, Any]:
    """gunicorn's ``logconfig_dict``: sanitized, and in JSON when BanGUI's format is json.

    In plain, gunicorn's own lines stay as they were (its access line gains the ID).
    """

    def stream(target: str, plain: str) -> dict[str, Any]:
        return {
            "class": "logging.StreamHandler",
            "formatter": "json" if fmt == "json" else plain,
            "filters": FILTERS,
            "stream": f"ext://sys.{target}",
        }

    gunicorn_plain = {
        "access_line": {"format": "%(message)s"},
        "error_line": {
            "format": "%(asctime)s [%(process)d] [%(levelname)s] %(message)s",
            "datefmt": "[%Y-%m-%d %H:%M:%S %z]",
        },
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": formatters() | gunicorn_plain,
        "filters": filters(),
        "handlers": {
            "access": stream("stdout", "access_line"),
            "error": stream("stderr", "error_line"),
        },
        "root": {"level": "INFO", "handlers": ["error"]},
        "loggers": {
            "gunicorn.error": {"level": "INFO", "handlers": ["error"], "propagate": False},
            "gunicorn.access": {"level": "INFO", "handlers": ["access"], "propagate": False},
        },
    }
