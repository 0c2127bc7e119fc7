"""The few operations that must go through the ``fail2ban-client`` program.

``reload`` needs the config stream that fail2ban-client builds from the
config files; the raw socket command with an empty stream deletes every jail.
So reloads run the real client as a subprocess, with a timeout.
"""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
from dataclasses import dataclass

from .errors import Fail2banCommandError, Fail2banUnavailable
from .validation import clean_jail

RELOAD_TIMEOUT = 60.0


@dataclass(frozen=True)
class CliResult:
    returncode: int
    output: str


def _binary() -> str:
    path = shutil.which("fail2ban-client")
    if path is None:
        raise Fail2banUnavailable("fail2ban-client is not installed (package fail2ban)")
    return path


_LOG_PREFIX = re.compile(
    r"^\d{4}-\d\d-\d\d [\d:,]+ \S+\s+\[\d+\]: (?:ERROR|WARNING|INFO|NOTICE)\s+"
)


def _clean(output: str) -> str:
    """fail2ban-client's error lines without their log prefix (time, logger, pid)."""
    return "\n".join(_LOG_PREFIX.sub("", line) for line in output.splitlines()).strip()


def _run(args: list[str], timeout: float) -> CliResult:
    try:
        proc = subprocess.run(
            [_binary(), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        raise Fail2banUnavailable(f"fail2ban-client did not finish within {timeout:g} s") from None
    return CliResult(proc.returncode, _clean(proc.stdout + proc.stderr))


def reload(
    *,
    config_dir: str,
    socket_path: str,
    jail: str | None = None,
    if_exists: bool = False,
    unban: bool = False,
    timeout: float = RELOAD_TIMEOUT,
) -> CliResult:
    """``fail2ban-client -c DIR -s SOCK reload [--unban] [--if-exists] [JAIL]``."""
    args = ["-c", config_dir, "-s", socket_path, "reload"]
    if unban:
        args.append("--unban")
    if if_exists:
        args.append("--if-exists")
    if jail is not None:
        args.append(clean_jail(jail))
    result = _run(args, timeout)
    if result.returncode != 0:
        if "Failed to access socket" in result.output or "Is fail2ban running" in result.output:
            raise Fail2banUnavailable(result.output.splitlines()[-1] if result.output else "")
        raise Fail2banCommandError(result.output or f"reload failed ({result.returncode})")
    return result


def config_dump(config_dir: str, timeout: float = 30.0) -> list[list[object]]:
    """The command stream fail2ban would send for this config (``-d``), parsed safely."""
    result = _run(["-c", config_dir, "-d"], timeout)
    if result.returncode != 0:
        raise Fail2banCommandError(result.output or "config dump failed")
    stream: list[list[object]] = []
    for line in result.output.splitlines():
        line = line.strip()
        if line.startswith("["):
            try:
                value = ast.literal_eval(line)
            except (ValueError, SyntaxError):
                continue
            if isinstance(value, list):
                stream.append(value)
    return stream
