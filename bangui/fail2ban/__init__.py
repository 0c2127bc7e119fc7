"""The fail2ban client library every BanGUI app uses.

The library itself (client, validation, config files) does not need Django's
settings; ``bangui.fail2ban.configured`` gives the client for the fail2ban
chosen at setup (``get_client()``).
"""

from __future__ import annotations

from .client import Fail2banClient, JailStatus
from .errors import (
    Fail2banBusy,
    Fail2banCommandError,
    Fail2banError,
    Fail2banProtocolError,
    Fail2banUnavailable,
)

__all__ = [
    "Fail2banBusy",
    "Fail2banClient",
    "Fail2banCommandError",
    "Fail2banError",
    "Fail2banProtocolError",
    "Fail2banUnavailable",
    "JailStatus",
]
