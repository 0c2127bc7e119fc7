"""The jails defined in fail2ban's config dir, read by fail2ban's own reader.

fail2ban merges jail.conf, jail.d/*.conf, jail.local and jail.d/*.local with
its own rules (interpolation, includes, ``[DEFAULT]``). Rather than parse
that again, BanGUI runs a few lines under the interpreter of the installed
``fail2ban-client`` that call fail2ban's ``JailsReader`` and print JSON.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import Fail2banCommandError, Fail2banUnavailable

_SCRIPT = r"""
import json, sys
from fail2ban.client.jailsreader import JailsReader
reader = JailsReader(force_enable=False, basedir=sys.argv[1])
if not reader.read():
    sys.exit("fail2ban found no jail configuration in " + sys.argv[1])
keys = ("enabled", "backend", "filter", "bantime", "findtime", "maxretry", "logpath", "action")
out = {}
for name in reader.sections():
    if name == "INCLUDES":
        continue
    row = {}
    for key in keys:
        try:
            row[key] = reader.get(name, key) if reader.has_option(name, key) else None
        except Exception as exc:  # a broken interpolation must not hide the other jails
            row[key] = None
            row["error"] = str(exc)
    out[name] = row
print(json.dumps(out))
"""


_TRUE = ("true", "yes", "1", "on")


@dataclass(frozen=True)
class ConfiguredJail:
    """A jail as the config files define it (not necessarily running)."""

    name: str
    enabled: bool
    backend: str
    filter: str
    bantime: str
    findtime: str
    maxretry: str
    logpath: str
    error: str = ""


def _interpreter() -> str:
    client = shutil.which("fail2ban-client") or "/usr/bin/fail2ban-client"
    try:
        first = Path(client).read_text(errors="replace").splitlines()[0]
    except (OSError, IndexError):
        raise Fail2banUnavailable("fail2ban-client is not installed (package fail2ban)") from None
    if first.startswith("#!"):
        parts = first[2:].split()
        if parts and parts[0].endswith("/env") and len(parts) > 1:
            return shutil.which(parts[1]) or parts[1]
        if parts:
            return parts[0]
    return "/usr/bin/python3"


def run_reader(script: str, args: list[str], *, timeout: float) -> Any:
    """Run ``script`` under fail2ban's interpreter with ``args``; its JSON output, parsed."""
    try:
        proc = subprocess.run(
            [_interpreter(), "-c", script, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        raise Fail2banUnavailable("reading the fail2ban config timed out") from None
    except OSError as exc:
        raise Fail2banUnavailable(f"cannot run fail2ban's config reader: {exc}") from None
    if proc.returncode != 0:
        raise Fail2banCommandError((proc.stderr or proc.stdout).strip()[-2000:])
    try:
        return json.loads(proc.stdout)
    except ValueError:
        raise Fail2banCommandError("fail2ban's config reader printed no JSON") from None


def jail_files_fingerprint(config_dir: str) -> tuple[tuple[str, int], ...]:
    """Names and mtimes of the jail files: a cache key that any write changes."""
    base = Path(config_dir)
    files = [base / "jail.conf", base / "jail.local"]
    jail_d = base / "jail.d"
    if jail_d.is_dir():
        files.extend(sorted(jail_d.iterdir()))
    return tuple((str(p), p.stat().st_mtime_ns) for p in files if p.is_file())


_cache: dict[str, tuple[tuple[tuple[str, int], ...], list[ConfiguredJail]]] = {}
_lock = threading.Lock()
# When each dir's files were last stat()ed. Pages ask for the configured jails on every
# view; within this many seconds the cached answer stands without a stat per file
# (each stat hands the GIL to another of gunicorn's threads: issue 16). BanGUI's own
# writes forget it at once (configured_jails_forget); a hand edit shows within a second.
FINGERPRINT_SECONDS = 1.0
_checked: dict[str, float] = {}


def configured_jails_forget() -> None:
    """Look at the files again on the next call (after BanGUI wrote or removed one)."""
    with _lock:
        _checked.clear()


def configured_jails(config_dir: str, *, timeout: float = 30.0) -> list[ConfiguredJail]:
    """Every jail section of the config dir, enabled or not; cached until a file changes."""
    now = time.monotonic()
    with _lock:
        hit = _cache.get(config_dir)
        if hit is not None and now - _checked.get(config_dir, -1e9) < FINGERPRINT_SECONDS:
            return hit[1]
    if not os.path.isdir(config_dir):
        raise Fail2banCommandError(f"{config_dir} is not a directory")
    key = jail_files_fingerprint(config_dir)
    with _lock:
        _checked[config_dir] = now
    with _lock:
        hit = _cache.get(config_dir)
        if hit is not None and hit[0] == key:
            return hit[1]
    data = run_reader(_SCRIPT, [config_dir], timeout=timeout)
    jails = [
        ConfiguredJail(
            name=name,
            enabled=str(row.get("enabled") or "false").strip().lower() in _TRUE,
            backend=str(row.get("backend") or "auto"),
            filter=str(row.get("filter") or ""),
            bantime=str(row.get("bantime") or ""),
            findtime=str(row.get("findtime") or ""),
            maxretry=str(row.get("maxretry") or ""),
            logpath=str(row.get("logpath") or ""),
            error=str(row.get("error") or ""),
        )
        for name, row in data.items()
    ]
    with _lock:
        _cache[config_dir] = (key, jails)
    return jails
