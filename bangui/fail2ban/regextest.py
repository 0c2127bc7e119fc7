"""Test failregex/ignoreregex against log lines with the real ``fail2ban-regex``.

Two runs of fail2ban-regex 1.0.2 over the same temp file, in parallel and
under one deadline, because no single output format has everything:

* ``--print-all-matched --print-all-missed --print-all-ignored`` prints the
  three line lists (``|  line`` rows under ``|- Matched line(s):`` and so on);
* ``-o '<fid>\\t<msg>'`` prints one row per failure with the captured host,
  but leaves out missed and ignored lines.

A catastrophic regex makes fail2ban-regex spin; both processes are killed at
the deadline. Arguments go as a list (never a shell) and after ``--``, so a
regex starting with ``-`` is not read as an option.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from .client import Fail2banClient
from .configreader import configured_jails
from .errors import Fail2banError

MAX_LINE_CHARS = 8192
# fail2ban-regex reads a REGEX argument of this shape as a filter name or file
# path (``sshd``, ``/etc/shadow``) when such a file exists; a real failregex
# needs ``<HOST>`` or a failure-id group, which this shape cannot hold.
_FILTER_LIKE_RE = re.compile(r"(?ms)^/{0,3}[\w/_\-.]+(?:\[.*\])?$")
_HEADERS = {
    "|- Matched line(s):": "matched",
    "|- Missed line(s):": "missed",
    "|- Ignored line(s):": "ignored",
}
_LINES_RE = re.compile(r"^Lines: (\d+) lines,", re.M)


@dataclass(frozen=True)
class MatchLine:
    line: str
    host: str


@dataclass
class RegexResult:
    ok: bool
    error: str = ""
    matched: list[MatchLine] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    total: int = 0


def _binary() -> str:
    path = shutil.which("fail2ban-regex") or "/usr/bin/fail2ban-regex"
    if not os.path.exists(path):
        raise FileNotFoundError("fail2ban-regex is not installed (package fail2ban)")
    return path


def allowed_log_path(path: str, allow: list[str]) -> Path:
    """The real path of a log file under one of the allowlisted directories."""
    if not isinstance(path, str) or not path or "\x00" in path:
        raise ValueError("A log file path is required.")
    real = os.path.realpath(path)
    for base in allow:
        base_real = os.path.realpath(base)
        if os.path.commonpath([real, base_real]) == base_real and real != base_real:
            if not os.path.isfile(real):
                raise ValueError(f"{path} is not a regular file.")
            return Path(real)
    raise ValueError(f"{path} is not under an allowed log directory ({', '.join(allow)}).")


# A jail logging into one of these must not open the whole directory to the tester.
_NEVER_ALLOWED = {"/", "/etc", "/root", "/proc", "/sys", "/dev", "/boot", "/usr", "/bin",
                  "/sbin", "/lib", "/home", "/run", "/var", "/tmp"}  # fmt: skip


def log_allowlist(client: Fail2banClient, config_dir: str) -> list[str]:
    """Where the tester may read logs: /var/log, the directories of the jails' log paths,
    and fail2ban's own log dir (asked of fail2ban, so only while it runs)."""
    paths: list[str] = []
    try:
        for jail in configured_jails(config_dir):
            paths += [tok for tok in jail.logpath.split() if tok.startswith("/")]
    except Fail2banError:
        pass  # an unreadable config still leaves /var/log
    try:
        target = str(client.get_server("logtarget") or "")
        if target.startswith("/"):
            paths.append(target)
    except Fail2banError:
        pass
    allow = ["/var/log"]
    for path in paths:
        folder = os.path.dirname(path)
        if any(ch in folder for ch in "*?["):
            continue  # a glob directory cannot be checked as a prefix
        if os.path.realpath(folder) in _NEVER_ALLOWED or folder in allow:
            continue
        allow.append(folder)
    return allow


def tail_lines(path: Path, max_lines: int) -> str:
    """The last ``max_lines`` lines of a file, read without loading all of it."""
    with path.open("rb") as fh:
        fh.seek(0, os.SEEK_END)
        size = fh.tell()
        # Long lines are cut anyway, so this much is enough for max_lines.
        fh.seek(max(0, size - max_lines * 1024))
        data = fh.read()
    text = data.decode("utf-8", errors="replace")
    if size > max_lines * 1024:
        text = text.partition("\n")[2]  # drop the partial first line
    return "".join(deque(text.splitlines(keepends=True), maxlen=max_lines))


def _check_regex(value: str | None, what: str) -> None:
    if value is None:
        return
    if "\x00" in value or "\r" in value or "\n" in value:
        raise ValueError(f"The {what} must be one line without NUL or CR characters.")
    if not value.strip():
        raise ValueError(f"The {what} is empty.")


def _parse_lists(output: str) -> dict[str, list[str]]:
    lists: dict[str, list[str]] = {"matched": [], "missed": [], "ignored": []}
    current: list[str] | None = None
    for row in output.splitlines():
        if row in _HEADERS:
            current = lists[_HEADERS[row]]
        elif current is not None and row.startswith("|  "):
            current.append(row[3:])
        else:
            current = None
    return lists


def _error_text(output: str) -> str:
    at = output.find("ERROR")
    text = output[at:] if at >= 0 else output
    return text.strip()[-2000:] or "fail2ban-regex failed"


def regex_test(
    *,
    lines: str | None = None,
    log_path: Path | None = None,
    failregex: str | None = None,
    ignoreregex: str | None = None,
    filter_path: Path | None = None,
    datepattern: str | None = None,
    timeout: float = 15,
    max_lines: int = 5000,
) -> RegexResult:
    if (lines is None) == (log_path is None):
        raise ValueError("Give either lines or a log path.")
    if (failregex is None) == (filter_path is None):
        raise ValueError("Give either a failregex or a filter file.")
    _check_regex(failregex, "failregex")
    _check_regex(ignoreregex, "ignoreregex")
    _check_regex(datepattern, "date pattern")
    if failregex is not None and _FILTER_LIKE_RE.match(failregex):
        return RegexResult(False, "A failregex needs <HOST> (or another failure-id group).")
    text = tail_lines(log_path, max_lines) if log_path is not None else (lines or "")
    kept = deque((ln[:MAX_LINE_CHARS] for ln in text.splitlines()), maxlen=max_lines)
    with tempfile.TemporaryDirectory(prefix="bangui-regex-") as tmp:
        sample = Path(tmp) / "sample.log"
        sample.write_text("".join(f"{ln}\n" for ln in kept), encoding="utf-8")
        opts = ["-r", "-e", "utf-8"]
        if datepattern is not None:
            opts += ["-d", datepattern]
        regex = str(filter_path) if filter_path is not None else str(failregex)
        args = ["--", str(sample), regex, *([ignoreregex] if ignoreregex is not None else [])]
        listing = [*opts, "--print-all-matched", "--print-all-missed", "--print-all-ignored"]
        hosts = [*opts, "-o", "<fid>\t<msg>"]
        outputs = _run_both([listing + args, hosts + args], Path(tmp), timeout)
    if outputs is None:
        return RegexResult(False, f"The test did not finish within {timeout:g} s and was stopped.")
    (rc, out), (_, host_out) = outputs
    if rc != 0:
        return RegexResult(False, _error_text(out))
    host_of: dict[str, str] = {}
    for row in host_out.splitlines():
        fid, sep, msg = row.partition("\t")
        if sep:
            host_of.setdefault(msg, fid)
    lists = _parse_lists(out)
    m = _LINES_RE.search(out)
    return RegexResult(
        ok=True,
        matched=[MatchLine(ln, host_of.get(ln, "")) for ln in lists["matched"]],
        missed=lists["missed"],
        ignored=lists["ignored"],
        total=int(m.group(1)) if m else 0,
    )


def _run_both(commands: list[list[str]], tmp: Path, timeout: float) -> list[tuple[int, str]] | None:
    """Run fail2ban-regex once per argument list; None if any ran past the deadline.

    Output goes to files, not pipes: an undrained pipe would stall the second
    process once its output passes the pipe buffer.
    """
    binary = _binary()
    env = {**os.environ, "LC_ALL": "C.UTF-8", "PYTHONIOENCODING": "utf-8"}
    procs: list[tuple[subprocess.Popen[bytes], Path]] = []
    try:
        for n, args in enumerate(commands):
            out_path = tmp / f"out{n}"
            with out_path.open("wb") as out:
                proc = subprocess.Popen(
                    [binary, *args], stdin=subprocess.DEVNULL, stdout=out, stderr=out, env=env
                )
            procs.append((proc, out_path))
        deadline = time.monotonic() + timeout
        for proc, _ in procs:
            proc.wait(timeout=max(0.01, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        return None
    finally:
        for proc, _ in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return [(p.returncode, o.read_text("utf-8", errors="replace")) for p, o in procs]
