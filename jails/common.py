"""Small helpers shared by the jails views."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from django.core.cache import cache
from django.http import Http404, HttpRequest

from bangui.fail2ban import Fail2banClient, Fail2banError, get_client
from bangui.fail2ban.validation import clean_jail
from bangui.models import AppSettings


def client() -> Fail2banClient:
    return get_client()


@contextlib.contextmanager
def kept_client() -> Iterator[Fail2banClient]:
    """One connection for a page that asks fail2ban many things (2.5x faster per call)."""
    c = get_client(persistent=True)
    try:
        yield c
    finally:
        c.close()


def config_dir() -> str:
    return AppSettings.current().fail2ban_config_dir


def db_path(c: Fail2banClient) -> str | None:
    """fail2ban's database file (asked once a minute); None if it has none or is down."""
    key = f"bangui:dbfile:{c.socket_path}"
    path: str | None = cache.get(key)
    if path is None:
        try:
            path = str(c.get_server("dbfile") or "")
        except Fail2banError:
            return None
        cache.set(key, path, 60)
    return path or None


def jail_or_404(name: str) -> str:
    try:
        return clean_jail(name)
    except Exception:
        raise Http404("No such jail.") from None


def is_partial(request: HttpRequest) -> bool:
    """An htmx request for a fragment (not a boosted link, not a back/forward restore).

    Views that answer differently must send ``Vary: HX-Request`` (``vary_on_htmx``).
    """
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request  # type: ignore[union-attr]
