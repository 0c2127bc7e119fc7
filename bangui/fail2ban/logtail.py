"""Read fail2ban's own log: where it goes, and the last lines of it (selectors).

Only the file fail2ban logs to is ever opened: its path comes from fail2ban
(``get logtarget``) or, when it is down, from its config files, never from a
request. The tail is read backwards in blocks from the end, so a log of
gigabytes costs what the shown lines cost, plus at most ``MAX_SCAN_BYTES``
when a filter matches little.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from . import server_settings as ss
from .client import Fail2banClient
from .errors import Fail2banError

LINE_COUNTS = (100, 500, 1000, 5000)
DEFAULT_LINES = 500
MAX_LINE_CHARS = 2000
# UTF-8 needs at most four bytes a character.
MAX_LINE_BYTES = MAX_LINE_CHARS * 4
BLOCK_BYTES = 64 * 1024
# How far back a filter looks for matching lines before it gives up.
MAX_SCAN_BYTES = 16 * 1024 * 1024

_LEVEL_RE = re.compile(r"\]:\s+(CRITICAL|ERROR|WARNING|NOTICE|INFO|DEBUG|HEAVYDEBUG|TRACEDEBUG)\b")
_LEVEL_CLASS = {
    "CRITICAL": "error",
    "ERROR": "error",
    "WARNING": "warn",
    "NOTICE": "info",
    "INFO": "info",
    "DEBUG": "debug",
    "HEAVYDEBUG": "debug",
    "TRACEDEBUG": "debug",
}


@dataclass(frozen=True)
class LogTarget:
    target: str  # as fail2ban says it: a path, SYSLOG, SYSTEMD-JOURNAL, STDOUT …
    from_config: bool  # fail2ban is down: read from its config files

    @property
    def is_file(self) -> bool:
        return ss.is_file_target(self.target)


@dataclass(frozen=True)
class LogLine:
    text: str
    level: str  # a CSS suffix: error, warn, info, debug, or "" when unknown
    truncated: bool = False


@dataclass
class LogTail:
    path: str
    lines: list[LogLine] = field(default_factory=list)
    size: int = 0
    error: str = ""
    # The filter stopped after MAX_SCAN_BYTES (or a line longer than that).
    scan_limited: bool = False


def log_target(client: Fail2banClient, conf_dir: str) -> LogTarget:
    try:
        return LogTarget(str(client.get_server("logtarget") or ""), from_config=False)
    except Fail2banError:
        return LogTarget(ss.configured(conf_dir).logtarget, from_config=True)


def _line_spans(fh: BinaryIO, size: int, max_scan: int) -> Iterator[tuple[int, int] | None]:
    """(start, end) byte offsets of lines, newest first; ``None`` when the scan budget ran out."""
    end = size
    if size:
        fh.seek(size - 1)
        if fh.read(1) == b"\n":  # the last newline ends a line; it starts none
            end = size - 1
    pos, scanned = end, 0
    while pos > 0:
        if scanned >= max_scan:
            yield None
            return
        step = min(BLOCK_BYTES, pos)
        pos -= step
        fh.seek(pos)
        block = fh.read(step)
        scanned += step
        i = len(block)
        while (j := block.rfind(b"\n", 0, i)) >= 0:
            yield pos + j + 1, end
            end = pos + j
            i = j
    yield 0, end


def _read_line(fh: BinaryIO, start: int, end: int) -> tuple[str, bool]:
    fh.seek(start)
    raw = fh.read(min(end - start, MAX_LINE_BYTES))
    text = raw.decode("utf-8", errors="replace").rstrip("\r")
    cut = end - start > len(raw) or len(text) > MAX_LINE_CHARS
    return text[:MAX_LINE_CHARS], cut


def tail_lines(
    fh: BinaryIO, *, size: int, count: int, q: str = "", max_scan: int = MAX_SCAN_BYTES
) -> tuple[list[tuple[str, bool]], bool]:
    """The last ``count`` lines (containing ``q``, case-insensitive), oldest first.

    Returns the lines (text, cut at MAX_LINE_CHARS) and whether the scan budget
    ended the search early. Without a filter the last ``count`` lines are read
    whatever the budget.
    """
    needle = q.casefold()
    found: list[tuple[str, bool]] = []
    limited = False
    budget = max_scan if needle else size + 1
    for span in _line_spans(fh, size, budget):
        if span is None:
            limited = True
            break
        start, end = span
        if start == end:
            continue
        text, cut = _read_line(fh, start, end)
        if needle and needle not in text.casefold():
            continue
        found.append((text, cut))
        if len(found) >= count:
            break
    found.reverse()
    return found, limited


def _levels(lines: list[tuple[str, bool]]) -> list[LogLine]:
    """Colour each line by its level; a traceback line takes the level of the line before it."""
    out: list[LogLine] = []
    level = ""
    for text, cut in lines:
        m = _LEVEL_RE.search(text)
        if m:
            level = _LEVEL_CLASS[m.group(1)]
        out.append(LogLine(text=text, level=level, truncated=cut))
    return out


def read_log_tail(path: str, *, count: int = DEFAULT_LINES, q: str = "") -> LogTail:
    """The tail of fail2ban's log file, or the reason it cannot be read."""
    tail = LogTail(path=path)
    try:
        with Path(path).open("rb") as fh:
            size = fh.seek(0, 2)
            tail.size = size
            lines, tail.scan_limited = tail_lines(fh, size=size, count=count, q=q)
    except FileNotFoundError:
        tail.error = f"The log file {path} does not exist (yet)."
        return tail
    except IsADirectoryError:
        tail.error = f"{path} is a directory, not a log file."
        return tail
    except PermissionError:
        tail.error = (
            f"BanGUI may not read {path}. It must run as the user that runs fail2ban "
            "(or one that can read its log)."
        )
        return tail
    except OSError as exc:
        tail.error = f"{path} cannot be read: {exc.strerror or exc}"
        return tail
    tail.lines = _levels(lines)
    return tail


def fail2ban_log(
    client: Fail2banClient, conf_dir: str, *, count: int = DEFAULT_LINES, q: str = ""
) -> tuple[LogTarget, LogTail | None]:
    """Where fail2ban logs, and the tail of that file (None for syslog, journal …)."""
    target = log_target(client, conf_dir)
    return target, read_log_tail(target.target, count=count, q=q) if target.is_file else None


def log_to_json(target: LogTarget, tail: LogTail | None) -> dict[str, object]:
    return {"target": asdict(target), "tail": asdict(tail) if tail is not None else None}


def log_from_json(raw: dict[str, Any]) -> tuple[LogTarget, LogTail | None]:
    target = LogTarget(str(raw["target"]["target"]), bool(raw["target"]["from_config"]))
    t = raw.get("tail")
    if t is None:
        return target, None
    lines = [LogLine(str(x["text"]), str(x["level"]), bool(x["truncated"])) for x in t["lines"]]
    tail = LogTail(
        path=str(t["path"]), lines=lines, size=int(t["size"]), error=str(t["error"]),
        scan_limited=bool(t["scan_limited"]),
    )  # fmt: skip
    return target, tail
