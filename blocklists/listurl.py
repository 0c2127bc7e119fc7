"""A blocklist's URL, checked before anything is downloaded, and the download's error.

Kept apart from ``blocklists.fetch``, which re-exports both, so that the forms
and pages that only check a URL or catch the error do not load ``requests``
(about 5 MiB in every process that imports it).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

MAX_URL_LENGTH = 2000

_BAD_URL_CHARS = re.compile(r"[\s\x00-\x1f\x7f\\]")


class FetchError(Exception):
    """A download failed; ``str(exc)`` says what happened and what to do."""

    def __init__(self, kind: str, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.retryable = retryable
        self.retry_after: float | None = None
        self.attempts = 0


def clean_url(value: str) -> str:
    """An absolute http(s) URL with a host, returned without surrounding whitespace."""
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise FetchError("url", "Enter the URL of the list, starting with https:// or http://.")
    if len(text) > MAX_URL_LENGTH:
        raise FetchError("url", f"The URL is longer than {MAX_URL_LENGTH} characters.")
    if _BAD_URL_CHARS.search(text):
        raise FetchError("url", "The URL contains spaces, line breaks or control characters.")
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        raise FetchError("url", f"“{text[:100]}” is not a valid URL.") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise FetchError("url", "Only http:// and https:// URLs can be downloaded.")
    if not parts.hostname:
        raise FetchError("url", f"“{text[:100]}” has no host name.")
    if parts.username is not None or parts.password is not None:
        # The URL is shown in the UI and in logs; a password in it would leak there.
        raise FetchError("url", "Put no user name or password in the URL.")
    return text
