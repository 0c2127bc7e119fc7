"""The one fail2ban client every BanGUI app uses.

Use ``get_client()``; it points at the socket configured at setup (or the
``BANGUI_FAIL2BAN_SOCKET`` default before setup).
"""

from __future__ import annotations

from .client import Fail2banClient, JailStatus
from .errors import (
    Fail2banCommandError,
    Fail2banError,
    Fail2banProtocolError,
    Fail2banUnavailable,
)

__all__ = [
    "Fail2banClient",
    "Fail2banCommandError",
    "Fail2banError",
    "Fail2banProtocolError",
    "Fail2banUnavailable",
    "JailStatus",
    "get_client",
]


def get_client(*, timeout: float | None = None, persistent: bool = False) -> Fail2banClient:
    """A client for the configured socket; with ``persistent``, close() it when done."""
    from bangui.models import AppSettings

    cfg = AppSettings.current()
    return Fail2banClient(cfg.fail2ban_socket, timeout=timeout or 5.0, persistent=persistent)
