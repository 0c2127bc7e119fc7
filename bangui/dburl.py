"""``BANGUI_DATABASE_URL``: a PostgreSQL database in one variable (12-factor style).

``postgres://user:password@host:5432/name?sslmode=require``. User and password
are percent-decoded (a ``@`` or ``/`` in a password is written ``%40``, ``%2F``);
a Unix socket directory is a percent-encoded host (``%2Frun%2Fpostgresql``) or
``?host=/run/postgresql``. Other query parameters are libpq's connection
options (sslmode, sslrootcert, connect_timeout, …). Only PostgreSQL: SQLite
needs no URL (``BANGUI_DB_NAME`` is its file).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

SCHEMES = ("postgres", "postgresql")
# libpq options BanGUI passes through; anything else in the query is a typo to report.
OPTIONS = frozenset(
    {
        "sslmode", "sslrootcert", "sslcert", "sslkey", "sslpassword", "connect_timeout",
        "application_name", "target_session_attrs", "options", "passfile", "service",
    }
)  # fmt: skip


def _bad(message: str) -> ImproperlyConfigured:
    # Never echo the URL: it holds the password.
    return ImproperlyConfigured(f"BANGUI_DATABASE_URL: {message}")


def database_from_url(url: str) -> dict[str, Any]:
    """Django's ``DATABASES["default"]`` for a ``postgres://`` URL."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise _bad(f"not a valid URL ({exc})") from None
    if parts.scheme not in SCHEMES:
        raise _bad("use postgres://user:password@host:port/name")
    name = unquote(parts.path.lstrip("/"))
    if not name or "/" in name:
        raise _bad("name the database after the host: postgres://…@host/name")
    options: dict[str, str] = {}
    host = unquote(parts.hostname or "") if parts.hostname else ""
    if parts.netloc.rpartition("@")[2].startswith("%2"):  # a socket dir keeps its case
        host = unquote(parts.netloc.rpartition("@")[2].partition(":")[0])
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key == "host":
            host = value
        elif key in OPTIONS:
            options[key] = value
        else:
            raise _bad(f"unknown parameter {key!r} (known: host, {', '.join(sorted(OPTIONS))})")
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": name,
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": host,
        "PORT": str(port) if port else "",
        "OPTIONS": options,
        "CONN_MAX_AGE": 60,
    }
