"""fail2ban's server-level settings: strict validators and the two places to read them.

BanGUI changes these settings only by writing ``fail2ban.local`` and doing a
full reload. Measured on fail2ban 1.0.2 (Debian): a full ``fail2ban-client
-c DIR reload`` re-reads ``fail2ban.conf``/``fail2ban.local`` and sends the
server ``set loglevel``, ``set logtarget``, ``set dbmaxmatches`` and ``set
dbpurgeage`` first in its command stream (``fail2ban-client -d`` prints them).
After writing ``loglevel = DEBUG``, ``logtarget = <other file>``,
``dbpurgeage = 2d`` and ``dbmaxmatches = 5`` and reloading, ``get`` answered
DEBUG, the new file, 172800 and 5. So no separate ``set`` over the socket is
needed (and a runtime-only ``set`` would be undone by the next reload anyway).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import Fail2banError
from .inifile import IniError, get_options

LOG_LEVELS = ("CRITICAL", "ERROR", "WARNING", "NOTICE", "INFO", "DEBUG")
# Log targets that are not files; BanGUI shows them but never sets them.
SPECIAL_TARGETS = ("SYSLOG", "SYSTEMD-JOURNAL", "STDOUT", "STDERR", "SYSOUT")
# Those BanGUI sets when asked (without options such as SYSLOG[format=…]).
PLAIN_TARGETS = ("STDOUT", "STDERR", "SYSLOG", "SYSTEMD-JOURNAL")
LOG_DIRS = ("/var/log",)
_FAIL2BAN_LINE = re.compile(rb"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} fail2ban\.")
SETTINGS = ("loglevel", "logtarget", "dbfile", "dbpurgeage", "dbmaxmatches")
EDITABLE = ("loglevel", "logtarget", "dbpurgeage", "dbmaxmatches")

# One number with an optional unit, nothing else: fail2ban passes dbpurgeage to eval().
_PURGE_AGE_RE = re.compile(r"(\d{1,9})([smhdw]?)")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
MIN_PURGE_AGE = 60
MAX_PURGE_AGE = 10 * 365 * 86400
MAX_DB_MATCHES = 1000
# Characters that would change how fail2ban reads the value: options in
# brackets (``SYSLOG[format=…]``), interpolation, inline comments, line breaks.
_PATH_FORBIDDEN = set("\x00\r\n%;[]#")


class SettingError(ValueError):
    """A value refused; the text is for the user."""


def purge_age_seconds(value: str) -> int:
    """``1d`` → 86400; refuses anything but digits with one optional s/m/h/d/w unit."""
    text = str(value).strip().lower()
    m = _PURGE_AGE_RE.fullmatch(text)
    if m is None:
        raise SettingError(
            "Use a whole number of seconds (86400) or one number with a unit: "
            "s, m, h, d or w (for example 1d or 2w)."
        )
    return int(m.group(1)) * _UNITS[m.group(2)]


def purge_age_too_short(seconds: int | None, sync_minutes: int) -> bool:
    """Whether fail2ban forgets bans before BanGUI's archive is safe.

    Under a day, or under two history-sync intervals (then one missed sync
    loses bans). ``None`` (unknown) is not too short.
    """
    return seconds is not None and (seconds < 86400 or seconds < 2 * sync_minutes * 60)


def clean_purge_age(value: str) -> str:
    seconds = purge_age_seconds(value)
    if not MIN_PURGE_AGE <= seconds <= MAX_PURGE_AGE:
        raise SettingError("Keep bans at least one minute and at most ten years.")
    return str(value).strip().lower()


def clean_loglevel(value: str) -> str:
    text = str(value).strip().upper()
    if text not in LOG_LEVELS:
        raise SettingError(f"Choose one of {', '.join(LOG_LEVELS)}.")
    return text


def clean_dbmaxmatches(value: object) -> int:
    text = str(value).strip()
    if not re.fullmatch(r"\d{1,4}", text) or int(text) > MAX_DB_MATCHES:
        raise SettingError(f"Use a whole number from 0 to {MAX_DB_MATCHES}.")
    return int(text)


def is_file_target(target: str) -> bool:
    head = target.strip().split("[", 1)[0].upper()
    return bool(target.strip()) and head not in SPECIAL_TARGETS


def _under(path: str, dirs: Sequence[str]) -> bool:
    real = os.path.realpath(path)
    for d in dirs:
        base = os.path.realpath(d)
        if real == base or real.startswith(base.rstrip("/") + "/"):
            return True
    return False


def looks_like_fail2ban_log(path: Path) -> bool:
    """Empty, or its first line is one fail2ban writes ("2026-11-25 07:55:36,123 fail2ban.…")."""
    with path.open("rb") as fh:
        head = fh.read(4096)
    first = head.lstrip(b"\n").split(b"\n", 1)[0]
    return not head.strip() or bool(_FAIL2BAN_LINE.match(first))


def clean_log_target(value: str, *, log_dirs: Sequence[str]) -> str:
    """STDOUT, STDERR, SYSLOG, SYSTEMD-JOURNAL, or a log file under one of ``log_dirs``.

    fail2ban runs as root and appends to its log target: a path anywhere would
    let a BanGUI user write to any file (/etc/shadow passed before). A file must
    be in a log directory, not behind a link, and, if it exists already, be a
    fail2ban log (empty, or starting with a fail2ban log line).
    """
    text = str(value).strip()
    if text.upper() in PLAIN_TARGETS:
        return text.upper()
    if text.split("[", 1)[0].strip().upper() in SPECIAL_TARGETS:
        raise SettingError(
            f"Use {', '.join(PLAIN_TARGETS)} without options; a target with options "
            "(SYSLOG[…]) is set by hand in fail2ban.local."
        )
    if not text.startswith("/"):
        raise SettingError(
            "Use STDOUT, STDERR, SYSLOG, SYSTEMD-JOURNAL or an absolute path, "
            "for example /var/log/fail2ban.log."
        )
    if len(text) > 4096 or any(ch in _PATH_FORBIDDEN for ch in text):
        raise SettingError("The path must be one line without “% ; # [ ]”.")
    if os.path.normpath(text) != text:
        raise SettingError(
            f"Write the path plainly (no “..”, “//”, final “/”): {os.path.normpath(text)}"
        )
    path = Path(text)
    if not path.parent.is_dir():
        raise SettingError(f"The directory {path.parent} does not exist.")
    if not _under(str(path.parent), log_dirs):
        raise SettingError(
            f"A log file goes in a log directory: {' or '.join(sorted(set(log_dirs)))}."
        )
    if path.is_symlink():
        raise SettingError(f"{path} is a link; give the file itself.")
    if path.exists():
        if not path.is_file():
            raise SettingError(f"{path} exists and is not a regular file.")
        try:
            fail2bans = looks_like_fail2ban_log(path)
        except OSError as exc:
            raise SettingError(f"{path} cannot be read: {exc.strerror}.") from None
        if not fail2bans:
            raise SettingError(
                f"{path} exists and is not a fail2ban log; fail2ban would append to it. "
                "Choose a new file name."
            )
    return text


def log_dirs(*targets: str) -> list[str]:
    """Where a log file may go: /var/log, and the directory of the current log files."""
    found = list(LOG_DIRS)
    for target in targets:
        if is_file_target(target) and target.strip().startswith("/"):
            found.append(str(Path(target.strip()).parent))
    return sorted(set(found))


@dataclass(frozen=True)
class ServerSettings:
    """The five settings as fail2ban reports them (running) or as its files say (configured)."""

    loglevel: str = ""
    logtarget: str = ""
    dbfile: str = ""
    dbpurgeage: str = ""  # seconds when running; as written when configured
    dbmaxmatches: str = ""

    def get(self, name: str) -> str:
        return str(getattr(self, name))


def _config_files(conf_dir: Path) -> list[Path]:
    """fail2ban's order: fail2ban.conf, fail2ban.d/*.conf, fail2ban.local, fail2ban.d/*.local."""
    d = conf_dir / "fail2ban.d"
    extra_conf = sorted(d.glob("*.conf")) if d.is_dir() else []
    extra_local = sorted(d.glob("*.local")) if d.is_dir() else []
    return [conf_dir / "fail2ban.conf", *extra_conf, conf_dir / "fail2ban.local", *extra_local]


def configured(conf_dir: str | Path) -> ServerSettings:
    """What the config files set (the last file wins), without asking the server."""
    values: dict[str, str] = {}
    for path in _config_files(Path(conf_dir)):
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
            values.update(get_options(text, "Definition"))
        except (OSError, IniError):
            continue
    return ServerSettings(**{k: values.get(k, "").strip() for k in SETTINGS})


def running(client: Any) -> ServerSettings:
    """What the running server answers (``get loglevel`` …); raises Fail2banError when down."""
    values: dict[str, str] = {}
    for name in SETTINGS:
        value = client.get_server(name)
        values[name] = "" if value is None else str(value)
    return ServerSettings(**values)


def running_or_none(client: Any) -> ServerSettings | None:
    try:
        return running(client)
    except Fail2banError:
        return None
