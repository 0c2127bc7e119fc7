"""The error a refused value raises at the fail2ban boundary.

In the web app and the jobs it is Django's ``ValidationError``, so forms show
its message next to the field and every ``except ValidationError`` holds. The
root broker must not import Django (a small attack surface, a fast start): it
blocks the import (``sys.modules["django"] = None``) and gets a plain
``ValueError`` with the same ``message``, ``code`` and ``messages``.
"""

from __future__ import annotations

try:
    from django.core.exceptions import ValidationError
except ImportError:

    class ValidationError(ValueError):  # type: ignore[no-redef]
        """Django's ``ValidationError`` as far as BanGUI uses it: one message, one code."""

        def __init__(self, message: str, code: str | None = None, params: object = None) -> None:
            super().__init__(message)
            self.message = message
            self.code = code
            self.params = params

        @property
        def messages(self) -> list[str]:
            return [self.message]


__all__ = ["ValidationError"]
