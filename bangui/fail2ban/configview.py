"""Every setting the configuration pages show for a jail, read by fail2ban's own reader.

``configreader.configured_jails`` returns the few keys the Jails page needs;
the configuration tab also shows ignoreip, the bantime.increment family and
banaction. Like that module, this runs fail2ban's ``JailsReader`` under the
interpreter of the installed ``fail2ban-client`` (interpolation, includes and
``[DEFAULT]`` are fail2ban's, not ours) and prints JSON. No server is needed,
so the pages work while fail2ban is down.
"""

from __future__ import annotations

import json
import re
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path

from .configreader import _interpreter, jail_files_fingerprint, run_reader
from .errors import Fail2banCommandError

KEYS = (
    "enabled",
    "backend",
    "filter",
    "bantime",
    "findtime",
    "maxretry",
    "logpath",
    "action",
    "banaction",
    "ignoreip",
    "bantime.increment",
    "bantime.factor",
    "bantime.maxtime",
    "bantime.rndtime",
    "bantime.overalljails",
)
INCREMENT_KEYS = ("bantime.factor", "bantime.maxtime", "bantime.rndtime", "bantime.overalljails")

_SCRIPT = r"""
import json, sys
from fail2ban.client.jailsreader import JailsReader
reader = JailsReader(force_enable=False, basedir=sys.argv[1])
if not reader.read():
    sys.exit("fail2ban found no jail configuration in " + sys.argv[1])
keys = json.loads(sys.argv[2])
out = {}
for name in reader.sections():
    if name == "INCLUDES":
        continue
    row, errors = {}, []
    for key in keys:
        try:
            row[key] = reader.get(name, key) if reader.has_option(name, key) else None
        except Exception as exc:  # one broken interpolation must not hide the rest
            row[key] = None
            errors.append("%s: %s" % (key, exc))
    row["error"] = "; ".join(errors)
    out[name] = row
print(json.dumps(out))
"""

_TRUE = ("true", "yes", "1", "on")
# The name in "sshd[mode=aggressive]" or "dummy[target=...]".
_NAME_RE = re.compile(r"\s*([^\s\[]+)")


def _name(value: str) -> str:
    m = _NAME_RE.match(value)
    return m.group(1) if m else ""


@dataclass(frozen=True)
class JailSettings:
    """The effective settings of one configured jail (running or not)."""

    name: str
    enabled: bool
    bantime: str
    findtime: str
    maxretry: str
    backend: str
    filter: str  # as written, e.g. "sshd[mode=aggressive]"
    logpaths: list[str]
    actions: list[str]  # one entry per action line
    banaction: str
    ignoreip: list[str]
    increment: bool
    increment_opts: dict[str, str] = field(default_factory=dict)
    error: str = ""

    @property
    def filter_name(self) -> str:
        return _name(self.filter)

    @property
    def backend_name(self) -> str:
        return _name(self.backend) or "auto"

    @property
    def action_names(self) -> list[str]:
        return [n for n in (_name(a) for a in self.actions) if n]


def _lines(value: str | None) -> list[str]:
    return [line.strip() for line in (value or "").splitlines() if line.strip()]


def _logpaths(value: str | None) -> list[str]:
    # A logpath line may end in " tail" or " head" (where fail2ban starts reading).
    out = []
    for line in _lines(value):
        path, _, option = line.rpartition(" ")
        out.append(path.strip() if option in ("tail", "head") and path else line)
    return out


def _settings(name: str, row: dict[str, str | None]) -> JailSettings:
    def text(key: str, default: str = "") -> str:
        value = row.get(key)
        return str(value).strip() if value is not None else default

    return JailSettings(
        name=name,
        enabled=text("enabled", "false").lower() in _TRUE,
        bantime=text("bantime"),
        findtime=text("findtime"),
        maxretry=text("maxretry"),
        backend=text("backend", "auto"),
        filter=text("filter"),
        logpaths=_logpaths(row.get("logpath")),
        actions=_lines(row.get("action")),
        banaction=text("banaction"),
        ignoreip=text("ignoreip").replace(",", " ").split(),
        increment=text("bantime.increment", "false").lower() in _TRUE,
        increment_opts={k: text(k) for k in INCREMENT_KEYS if row.get(k) not in (None, "")},
        error=text("error"),
    )


_cache: dict[str, tuple[tuple[tuple[str, int], ...], dict[str, JailSettings]]] = {}
_lock = threading.Lock()


def jail_settings(config_dir: str, *, timeout: float = 30.0) -> dict[str, JailSettings]:
    """Every jail section of the config dir by name; cached until a jail file changes."""
    if not Path(config_dir).is_dir():
        raise Fail2banCommandError(f"{config_dir} is not a directory")
    key = jail_files_fingerprint(config_dir)
    with _lock:
        hit = _cache.get(config_dir)
        if hit is not None and hit[0] == key:
            return hit[1]
    data = run_reader(_SCRIPT, [config_dir, json.dumps(KEYS)], timeout=timeout)
    jails = {name: _settings(name, row) for name, row in data.items()}
    with _lock:
        _cache[config_dir] = (key, jails)
    return jails


_systemd: dict[str, bool] = {}


def systemd_available() -> bool:
    """Whether fail2ban's interpreter can import python3-systemd (backend = systemd needs it)."""
    interpreter = _interpreter()
    if interpreter not in _systemd:
        try:
            proc = subprocess.run(
                [interpreter, "-c", "import systemd.journal"],
                capture_output=True,
                timeout=15,
                stdin=subprocess.DEVNULL,
            )
            _systemd[interpreter] = proc.returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            return False
    return _systemd[interpreter]
