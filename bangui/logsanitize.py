"""The log sanitizer: no password, session key, token, TOTP code or secret key in a log line.

A filter on every handler (``bangui.logs``, and gunicorn's through
``gunicorn.conf.py``), in both formats. It renders each record's message, its
exception and stack text once, and replaces:

- the values BanGUI knows are secret: the ``SECRET_KEY`` (and its fallbacks),
  every setting named ``*SECRET*``, ``*PASSWORD*`` or ``*TOKEN*``, the database
  password and the setup token (``register_secret``);
- what follows a secret-sounding name: ``password=…``, ``token=…`` in a query
  string or form body, ``'password': […]`` in a dict or JSON, cookies
  (``bangui_session=…; csrftoken=…``), ``Authorization``/``Cookie`` headers and
  ``Bearer …`` credentials, a TOTP ``code=…``.

Django's request reports (the ``request`` a 4xx/5xx line carries) are dropped
from the record: their repr holds the query string.
"""

from __future__ import annotations

import logging
import re
import threading
import urllib.parse
from collections.abc import Iterable
from pathlib import Path

REDACTED = "[redacted]"
_MIN_SECRET = 8  # shorter settings are not secrets worth a replace on every line

# Names whose value is a secret: with one of these in it (csrfmiddlewaretoken,
# new_password1, bangui_session), or one of these short words as a part of it
# (otp_token, api-key), not inside another word (footprint, keyboard, status_code).
_SECRET_PART = re.compile(
    r"passw|passphrase|pwd|secret|token|csrf|cookie|authoriz|apikey|signature|credential"
    r"|session(?:id|[_-]?key)?(?:$|[\]\d])|^code$|(?:otp|totp|recovery|backup)[_-]?code"
    r"|(?:^|[_.\[-])(?:pass|otp|totp|key|sid|auth)(?:$|[_.\]\d-])"
)

_KEY_VALUE = re.compile(r"(?P<key>[A-Za-z_][\w.\[\]-]{0,63})(?P<sep>=)(?P<val>[^\s&;,'\"<>]+)")
_QUOTED_KEY = re.compile(
    r"(?P<key>(?P<q>['\"])[\w.-]{1,64}(?P=q))(?P<sep>\s*:\s*)"
    r"(?P<val>\[[^\]]*\]|'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|[^\s,}\]]+)"
)
_HEADER = re.compile(
    r"(?im)(?P<key>\b(?:proxy-)?authorization|\bset-cookie|\bcookie|\bx-[\w-]*(?:token|secret)[\w-]*)"
    r"(?P<sep>['\"]?\s*:\s*)(?P<val>[^\r\n'\"]+)"
)
_BEARER = re.compile(r"\b(?P<key>[Bb]earer|BEARER)(?P<sep>\s+)(?P<val>[A-Za-z0-9._~+/=-]{8,})")

_lock = threading.Lock()
_registered: set[str] = set()
_known: tuple[str, ...] | None = None


def secret_name(name: str) -> bool:
    return _SECRET_PART.search(name.strip("'\"").lower()) is not None


def register_secret(value: str) -> None:
    """A value that must never reach a log line (the setup token, when it is made)."""
    global _known
    if len(value) >= _MIN_SECRET and value not in _registered:
        with _lock:  # once per secret, never on the logging path
            _registered.add(value)
            _known = None


def _from_settings() -> Iterable[str]:
    from django.conf import settings

    yield settings.SECRET_KEY
    yield from getattr(settings, "SECRET_KEY_FALLBACKS", [])
    for db in settings.DATABASES.values():
        yield str(db.get("PASSWORD") or "")
    for name in dir(settings):
        if name.isupper() and re.search("SECRET|PASSWORD|TOKEN", name):
            value = getattr(settings, name, None)
            if isinstance(value, str):
                yield value
    # bangui.setup.services.TOKEN_FILE (not imported: the apps may not be ready yet).
    token = Path(settings.DATA_DIR) / "setup-token"
    yield token.read_text().strip() if token.is_file() else ""


def known_secrets() -> tuple[str, ...]:
    """The secret values, longest first; settings are read once they are configured."""
    global _known
    known = _known
    if known is not None:
        return known
    from django.conf import settings

    values = set(_registered)
    configured = settings.configured
    if configured:
        values.update(_from_settings())
    variants = {
        v for s in values for v in (s, urllib.parse.quote(s, safe="")) if len(s) >= _MIN_SECRET
    }
    known = tuple(sorted(variants, key=len, reverse=True))
    if configured:  # before that (gunicorn's arbiter), ask again next time
        _known = known
    return known


def _hide(match: re.Match[str]) -> str:
    if not secret_name(match["key"]) and match.re is not _HEADER and match.re is not _BEARER:
        return match[0]
    return f"{match['key']}{match['sep']}{REDACTED}"


# Every name the patterns redact holds one of these: a line with none of them (most
# access lines) skips the patterns, which cost ~30 us per line (docs/logging.md).
_TRIGGERS: tuple[str, ...] = ("pass", "pwd", "secret", "token", "session", "csrf", "cookie")
_TRIGGERS += ("auth", "api", "signature", "credential", "code", "otp", "key", "sid", "bearer")


def redact(text: str) -> str:
    """``text`` without any known secret or secret-named value."""
    for secret in known_secrets():
        if secret in text:
            text = text.replace(secret, REDACTED)
    lowered = text.lower()
    if not any(trigger in lowered for trigger in _TRIGGERS):
        return text
    for pattern in (_HEADER, _BEARER, _QUOTED_KEY):
        text = pattern.sub(_hide, text)
    if "=" in text:
        text = _KEY_VALUE.sub(_hide, text)
    return text


class SanitizeFilter(logging.Filter):
    """Redacts the record in place, once, whichever handler sees it first.

    Never raises (a filter's exception would reach the code that logged) and fails
    closed: a line it cannot clean is replaced, not let through.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "bangui_sanitized", False):
            return True
        try:
            self._clean(record)
        except Exception:  # noqa: BLE001 - see the docstring
            record.msg, record.args = f"{REDACTED} (a log line the sanitizer could not read)", None
            record.exc_info = record.exc_text = record.stack_info = None
        # Django's 4xx/5xx lines carry the request; its repr holds the query string.
        record.__dict__.pop("request", None)
        record.bangui_sanitized = True
        return True

    def _clean(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # arguments that do not fit the format
            message = f"{record.msg} {record.args!r}"
        record.msg, record.args = redact(message), None
        if record.exc_info:
            # Formatters render exc_text when exc_info is gone: the redacted text.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
