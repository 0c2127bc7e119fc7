"""Config writes that cannot become code: what BanGUI may write into fail2ban's config.

fail2ban runs as root and turns some settings into commands (measured on 1.0.2,
see fail2ban-notes.md): an action's bracket parameters override its command
options (``dummy[actionban="touch /x"]``), ``ignorecommand`` runs on every
match, ``bantime.formula`` is ``eval()``ed, ``action.d/*.py`` is loaded as
Python, and jail values such as ``port`` are pasted into action commands as
``<port>``. So every write (the raw editor's and the forms') passes
``check_write`` first, in the web app for a clear message and again in the root
broker, which trusts no caller:

- only ``jail.d/``, ``filter.d/``, ``jail.local`` and ``fail2ban.local``;
  ``action.d`` and any ``.py`` are edited on the server, not in BanGUI;
- per kind of file an allow-list of sections and keys;
- ``action``/``banaction`` only name existing actions, with bracket parameters
  from an allow-list and values in a conservative character set;
- values that reach commands (``port``, ``logpath``, …) in that character set;
  ``%(name)s`` only where it cannot carry a command;
- ``[INCLUDES]`` only name files inside the config dir.
"""

from __future__ import annotations

import configparser
import re
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from .invalid import ValidationError
from .server_settings import SettingError, clean_log_target
from .validation import clean_jail

MAX_BYTES = 512 * 1024
ON_SERVER = "is edited on the server, not in BanGUI"


class PolicyRefused(ValueError):
    """A write BanGUI will not make; the text says why, for the user."""


class PolicyUnreadable(PolicyRefused):
    """The file is not INI text BanGUI can read, so its settings cannot be checked."""


# -- what may be written where -------------------------------------------------------

WRITABLE_DIRS = ("jail.d", "filter.d")

JAIL_FILES = re.compile(r"jail\.d/[A-Za-z0-9][A-Za-z0-9._-]{0,99}\.(?:conf|local)|jail\.local")
FILTER_FILES = re.compile(r"filter\.d/[A-Za-z0-9][A-Za-z0-9._-]{0,99}\.(?:conf|local)")
SERVER_FILE = "fail2ban.local"

# Regex-valued keys: free text (they are compiled, never run).
REGEX_KEYS = frozenset({"failregex", "ignoreregex", "prefregex", "datepattern"})
# Keys whose value names actions: checked by _check_actions.
ACTION_KEYS = frozenset({"action", "banaction", "banaction_allports"})
# Jail keys (also valid in [DEFAULT]) and what their values may hold.
JAIL_KEYS = frozenset(
    {
        "enabled", "filter", "logpath", "backend", "bantime", "findtime", "maxretry",
        "maxlines", "maxmatches", "ignoreip", "ignoreself", "usedns", "logencoding",
        "journalmatch", "port", "protocol", "chain", "mode", "logtimezone",
        "bantime.increment", "bantime.factor", "bantime.maxtime", "bantime.rndtime",
        "bantime.overalljails", "bantime.multipliers",
        *REGEX_KEYS, *ACTION_KEYS,
    }
)  # fmt: skip
FILTER_KEYS = frozenset({*REGEX_KEYS, "journalmatch", "maxlines", "mode", "logtype"})
SERVER_KEYS = frozenset({"loglevel", "logtarget", "dbpurgeage", "dbmaxmatches", "allowipv6"})
# Named so the refusal says exactly why (none of them is in an allow-list anyway).
CODE_KEYS = {
    "ignorecommand": "runs a command as root on every match",
    "bantime.formula": "is evaluated as Python by fail2ban",
    "dbfile": "would let fail2ban write its database anywhere as root",
    "socket": "moves fail2ban's socket",
    "pidfile": "makes fail2ban write a file anywhere as root",
}

# Plain values: no shell metacharacters, quotes, backslashes or brackets.
_PLAIN_RE = re.compile(r"[A-Za-z0-9_.,:/@=+*? \t\n-]*")
_LOGPATH_LINE_RE = re.compile(
    r"(?:[A-Za-z0-9_./*?{}\[\]-]+|%\([a-z0-9_]+_log\)s)(?: (?:head|tail))?"
)
_INTERPOLATION_RE = re.compile(r"%\(([^)]*)\)s")
# Interpolations an action value may use: jail.conf's own action templates.
_ACTION_INTERPOLATION_RE = re.compile(r"action_[a-z0-9_]*|banaction(?:_allports)?")
_ACTION_RE = re.compile(r"(?P<name>[A-Za-z0-9][A-Za-z0-9_-]{0,63})(?:\[(?P<params>.*)\])?")
ACTION_PARAMS = frozenset(
    {"name", "port", "protocol", "chain", "blocktype", "returntype", "bantime", "actname"}
)
_PARAM_VALUE_RE = re.compile(r"[A-Za-z0-9_.:/-]{1,64}")
_QUOTED_VALUE_RE = re.compile(r"""(?P<q>["'])[A-Za-z0-9_.,:/ -]{0,128}(?P=q)""")
_INCLUDE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_./-]{0,200}")
_HELPER_KEY_RE = re.compile(r"_{1,2}[a-z0-9][a-z0-9_]{0,63}")


def check_write(
    rel: str,
    data: bytes | None,
    *,
    config_dir: str | Path,
    previous: bytes | None = None,
    log_dirs: Sequence[str] = ("/var/log",),
) -> None:
    """Refuse a write of ``data`` to ``rel`` (relative to the config dir) that could run code.

    ``None`` deletes the file: allowed for the files BanGUI may write at all.
    ``previous``: the file's current bytes. A setting it already has, with the same
    value, is not checked again: root wrote it, and editing one key of a jail must
    not be refused for another key that was there before (``destemail`` …).
    ``log_dirs``: where fail2ban's log file may be (``logtarget``).
    """
    kind = _kind(rel)
    if data is None:
        return
    if len(data) > MAX_BYTES:
        raise PolicyRefused(f"{rel} is larger than {MAX_BYTES // 1024} KiB.")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise PolicyUnreadable(f"{rel} is not UTF-8 text.") from None
    if "\x00" in text:
        raise PolicyUnreadable(f"{rel} contains a NUL byte.")
    sections = _sections(rel, text)
    before = _previous_sections(rel, previous)
    root = Path(config_dir)
    for section, all_items in sections.items():
        kept = before.get(section, {})
        items = {k: v for k, v in all_items.items() if kept.get(k) != v}
        if not items:
            continue
        if section == "INCLUDES":
            _check_includes(rel, items, root)
        elif kind == "jail":
            _check_jail_section(rel, section, items, root)
        elif kind == "filter":
            _check_filter_section(rel, section, items)
        else:
            _check_server_section(rel, section, items, log_dirs)


def _sections(rel: str, text: str) -> dict[str, dict[str, str]]:
    """Every section's options as fail2ban's ConfigParser reads them (raw, keys lower case)."""
    parser = configparser.RawConfigParser(
        inline_comment_prefixes=(";",), strict=False, default_section="\x00none",
        interpolation=None,
    )  # fmt: skip
    try:
        parser.read_string(text, source=rel)
    except configparser.Error as exc:
        raise PolicyUnreadable(f"{rel} cannot be read as an INI file: {exc}") from None
    return {name: dict(parser.items(name, raw=True)) for name in parser.sections()}


def _previous_sections(rel: str, previous: bytes | None) -> dict[str, dict[str, str]]:
    if not previous:
        return {}
    try:
        return _sections(rel, previous.decode("utf-8"))
    except (UnicodeDecodeError, PolicyRefused):
        return {}  # unreadable before: every setting is checked


def _kind(rel: str) -> str:
    if not isinstance(rel, str) or "\x00" in rel or "\\" in rel:
        raise PolicyRefused("Not a config file name.")
    path = PurePosixPath(rel)
    if path.is_absolute() or ".." in path.parts:
        raise PolicyRefused(f"{rel[:80]} is outside fail2ban's config dir.")
    if path.suffix == ".py" or rel.endswith(".py"):
        raise PolicyRefused(f"{rel[:80]}: Python files are code; code {ON_SERVER}.")
    if path.parts and path.parts[0] == "action.d":
        raise PolicyRefused(
            f"{rel[:80]}: actions run commands as root, so action files {ON_SERVER}."
        )
    if JAIL_FILES.fullmatch(rel):
        return "jail"
    if FILTER_FILES.fullmatch(rel):
        return "filter"
    if rel == SERVER_FILE:
        return "server"
    raise PolicyRefused(
        f"{rel[:80]}: BanGUI writes only jail.d/, filter.d/, jail.local and fail2ban.local."
    )


def _refuse_key(rel: str, section: str, key: str, allowed: frozenset[str]) -> None:
    why = CODE_KEYS.get(key) or ("runs a command" if key.endswith("command") else "")
    if why:
        raise PolicyRefused(f"{rel} [{section}] {key}: it {why}, so it {ON_SERVER}.")
    if key.startswith("action") and key not in allowed:
        raise PolicyRefused(
            f"{rel} [{section}] {key}: action options are commands run as root; they {ON_SERVER}."
        )
    raise PolicyRefused(f"{rel} [{section}]: “{key[:64]}” is not a setting BanGUI writes.")


def _plain(rel: str, section: str, key: str, value: str) -> None:
    if not _PLAIN_RE.fullmatch(value):
        bad = sorted({c for c in value if not _PLAIN_RE.fullmatch(c)})
        shown = " ".join(repr(c) for c in bad[:6])
        raise PolicyRefused(
            f"{rel} [{section}] {key}: {shown} not allowed here (fail2ban may paste this "
            "value into a command run as root)."
        )


def _check_jail_section(rel: str, section: str, items: dict[str, str], root: Path) -> None:
    if section != "DEFAULT":
        try:
            clean_jail(section)
        except ValidationError:
            raise PolicyRefused(f"{rel}: “{section[:64]}” is not a jail name.") from None
    for key, value in items.items():
        if key not in JAIL_KEYS:
            _refuse_key(rel, section, key, JAIL_KEYS)
        if key in REGEX_KEYS:
            continue
        if key in ACTION_KEYS:
            _check_actions(rel, section, key, value, root)
        elif key == "logpath":
            for line in (part.strip() for part in value.splitlines()):
                if line and not _LOGPATH_LINE_RE.fullmatch(line):
                    raise PolicyRefused(
                        f"{rel} [{section}] logpath: “{line[:80]}” is not a plain path "
                        "(letters, digits, “/ . _ - * ?” only)."
                    )
        elif key == "filter":
            _check_filter_name(rel, section, value)
        else:
            _plain(rel, section, key, value)


def _check_filter_name(rel: str, section: str, value: str) -> None:
    m = _ACTION_RE.fullmatch(value.strip())
    if value.strip() and (m is None or not _params_ok(m.group("params"), {"mode"})):
        raise PolicyRefused(f"{rel} [{section}] filter: “{value[:80]}” is not a filter name.")


def _params_ok(params: str | None, allowed: frozenset[str] | set[str]) -> bool:
    """``key=value, key="a, b"``: every key allowed, every value conservative."""
    if params is None:
        return True
    rest = params.strip()
    while rest:
        m = re.match(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*", rest)
        if m is None or m.group(1) not in allowed:
            return False
        rest = rest[m.end() :]
        v = _QUOTED_VALUE_RE.match(rest) or _PARAM_VALUE_RE.match(rest)
        if v is None:
            return False
        rest = rest[v.end() :].lstrip()
        if rest.startswith(","):
            rest = rest[1:].lstrip()
            if not rest:
                return False
        elif rest:
            return False
    return True


def _check_actions(rel: str, section: str, key: str, value: str, root: Path) -> None:
    for line in (part.strip() for part in value.splitlines()):
        if not line:
            continue
        whole = _INTERPOLATION_RE.fullmatch(line)
        if whole and _ACTION_INTERPOLATION_RE.fullmatch(whole.group(1)):
            continue  # jail.conf's own templates (%(action_)s), themselves built from these keys
        m = _ACTION_RE.fullmatch(line)
        if m is None:
            raise PolicyRefused(
                f"{rel} [{section}] {key}: “{line[:80]}” is not an action name with "
                "parameters; action commands are run as root and are edited on the server."
            )
        name = m.group("name")
        action_d = root / "action.d"
        if (action_d / f"{name}.py").exists() or not (
            (action_d / f"{name}.conf").is_file() or (action_d / f"{name}.local").is_file()
        ):
            raise PolicyRefused(f"{rel} [{section}] {key}: no action “{name}” in action.d.")
        if not _params_ok(m.group("params"), ACTION_PARAMS):
            raise PolicyRefused(
                f"{rel} [{section}] {key}: the parameters of “{name}” may only be "
                f"{', '.join(sorted(ACTION_PARAMS))}, with plain values; action commands "
                f"{ON_SERVER}."
            )


def _check_filter_section(rel: str, section: str, items: dict[str, str]) -> None:
    if section not in ("Definition", "Init", "DEFAULT"):
        raise PolicyRefused(f"{rel}: a filter file has [Definition] and [Init], not [{section}].")
    for key, value in items.items():
        if key in FILTER_KEYS or _HELPER_KEY_RE.fullmatch(key):
            if key not in REGEX_KEYS and not _HELPER_KEY_RE.fullmatch(key):
                _plain(rel, section, key, value)
            continue
        _refuse_key(rel, section, key, FILTER_KEYS)


def _check_server_section(
    rel: str, section: str, items: dict[str, str], log_dirs: Sequence[str]
) -> None:
    if section != "Definition":
        raise PolicyRefused(f"{rel}: BanGUI writes only the [Definition] of fail2ban.local.")
    for key, value in items.items():
        if key not in SERVER_KEYS:
            _refuse_key(rel, section, key, SERVER_KEYS)
        _plain(rel, section, key, value)
        if key == "logtarget":
            try:  # fail2ban appends to it as root: only log targets and log dirs
                clean_log_target(value, log_dirs=log_dirs)
            except SettingError as exc:
                raise PolicyRefused(f"{rel} logtarget: {exc}") from None


def _check_includes(rel: str, items: dict[str, str], root: Path) -> None:
    base = root.resolve()
    for key, value in items.items():
        if key not in ("before", "after"):
            raise PolicyRefused(f"{rel} [INCLUDES]: only before and after, not “{key[:40]}”.")
        for name in value.split():
            path = PurePosixPath(name)
            if not _INCLUDE_RE.fullmatch(name) or path.is_absolute() or ".." in path.parts:
                raise PolicyRefused(
                    f"{rel} [INCLUDES] {key}: “{name[:80]}” must name a file inside "
                    "fail2ban's config dir."
                )
            if path.parts and path.parts[0] == "action.d":
                raise PolicyRefused(f"{rel} [INCLUDES] {key}: action files {ON_SERVER}.")
            target = (base / rel).parent / name
            try:
                target.resolve().relative_to(base)
            except ValueError:
                raise PolicyRefused(
                    f"{rel} [INCLUDES] {key}: “{name[:80]}” leads outside the config dir."
                ) from None
