"""Making text safe to put in a message: quoted, one line, cut.

Anything an attacker can choose (a log line, a hostname, a jail name from a
config file, a source's error) goes through ``quoted`` before it reaches a
subject or body: control characters and newlines are escaped (so no one can
add a line that looks like ours, or a header), and it is cut (so a 10 KB
hostname cannot bury the message). Messages are plain text everywhere; apprise
is told so and escapes for the services that read markup.
"""

from __future__ import annotations

import unicodedata

CUT = 200
_ESCAPED = frozenset({"Cc", "Cf", "Zl", "Zp"})
# Our own quote marks inside outside text would fake where it ends.
_QUOTES = frozenset("“”")


def _escape(ch: str) -> str:
    if ch == "\n":
        return "\\n"
    if ch == "\r":
        return "\\r"
    if ch == "\t":
        return "\\t"
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def one_line(text: object, limit: int = CUT) -> str:
    """The text on one line with control and format characters escaped, cut to ``limit``."""
    raw = str(text)[: limit * 2]  # never walk a huge string whole
    out = "".join(
        _escape(ch) if ch in _QUOTES or unicodedata.category(ch) in _ESCAPED else ch for ch in raw
    )
    if len(out) > limit or len(str(text)) > len(raw):
        return out[: limit - 1] + "…"
    return out


def quoted(text: object, limit: int = CUT) -> str:
    """``one_line`` in quotes, so a reader sees where outside text starts and ends."""
    return f"“{one_line(text, limit)}”"
