"""Typed readers for ``BANGUI_*`` environment variables.

A value that does not parse is an error at startup, never a silent default.
"""

from __future__ import annotations

import ipaddress
import os
import re
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def env_str(name: str, default: str = "") -> str:
    """The value, or the default when unset or empty (as in a copied .env.example)."""
    return os.environ.get(name) or default


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in _TRUE:
        return True
    if raw.lower() in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean; use true or false.")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number.") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={value} is below the minimum of {minimum}.")
    return value


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_networks(name: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    nets = []
    for item in env_list(name):
        try:
            nets.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ImproperlyConfigured(
                f"{name}: {item!r} is not an IP address or network."
            ) from None
    return nets


_HOST_NAME = re.compile(r"(?!-)[a-z0-9_-]{1,63}(?<!-)(\.(?!-)[a-z0-9_-]{1,63}(?<!-))*")


def env_hosts(name: str) -> list[str]:
    """Host names, IP addresses and CIDR networks, lower-cased; anything else is an error."""
    hosts = []
    for item in env_list(name):
        entry = item.lower().rstrip(".")
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            try:
                entry = entry.encode("idna").decode("ascii")  # bücher.example as DNS has it
            except UnicodeError:
                entry = ""
            if len(entry) > 253 or not _HOST_NAME.fullmatch(entry):
                raise ImproperlyConfigured(
                    f"{name}: {item!r} is not a host name, an IP address or a network."
                ) from None
        hosts.append(entry)
    return hosts


# One path segment of the characters a proxy passes unchanged (RFC 3986 unreserved).
_PREFIX_SEGMENT = re.compile(r"[A-Za-z0-9_~-][A-Za-z0-9._~-]*")  # no leading dot: no ".."


def env_url_prefix(name: str) -> str:
    """A URL path prefix such as ``/bangui`` (no trailing slash), or "" when unset or "/".

    Only plain segments: a prefix goes unescaped into every link, cookie path and
    redirect, so quotes, ``%``, ``..`` or an empty segment (``//``) are refused here.
    """
    raw = os.environ.get(name, "")
    text = raw.strip().rstrip("/")
    if not text:
        return ""
    segments = text.split("/")
    if not text.startswith("/") or not all(_PREFIX_SEGMENT.fullmatch(s) for s in segments[1:]):
        raise ImproperlyConfigured(
            f"{name}={raw!r} is not a URL path prefix: use the path BanGUI is served under, "
            "starting with / and made of letters, digits and - _ . ~ (for example /bangui)."
        )
    return text


def env_secret(name: str) -> str | None:
    """A secret from ``NAME`` or from the file named by ``NAME_FILE`` (Docker secrets)."""
    file_name = os.environ.get(f"{name}_FILE")
    if file_name:
        try:
            return Path(file_name).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE={file_name!r} cannot be read: {exc}") from None
    return os.environ.get(name) or None


def data_dir_secret_key(data_dir: Path) -> str:
    """The secret key kept in the data dir, created on first use (mode 0600).

    This lets the demo and a plain install run with no configuration while
    the key still survives restarts and is never committed anywhere.
    """
    from django.core.management.utils import get_random_secret_key

    path = data_dir / "secret_key"
    try:
        if not path.exists():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(get_random_secret_key())
        return path.read_text().strip()
    except FileExistsError:
        return path.read_text().strip()
    except OSError as exc:
        raise ImproperlyConfigured(
            f"Cannot create {path}: {exc}. Set BANGUI_SECRET_KEY or make BANGUI_DATA_DIR writable."
        ) from None


def data_dir_private(data_dir: Path) -> None:
    """Refuse a data dir that group or others can read; make BanGUI's files in it private.

    It holds the database (session keys: a local user could take over a logged-in
    session; password hashes) and earlier copies of fail2ban's config files.
    """
    mode = data_dir.stat().st_mode & 0o777
    if mode & 0o077:
        raise ImproperlyConfigured(
            f"BANGUI_DATA_DIR={data_dir} can be read by other users (mode {mode:o}); it holds "
            "BanGUI's database with session keys and password hashes. Fix: "
            f"chmod 700 {data_dir} (as the user BanGUI runs as), then start BanGUI again."
        )
    for name in ("bangui.sqlite3", "bangui.sqlite3-wal", "bangui.sqlite3-shm", "secret_key"):
        path = data_dir / name
        if path.is_file() and path.stat().st_mode & 0o077:
            path.chmod(0o600)
