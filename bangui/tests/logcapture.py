"""What BanGUI's real console handler writes, in either format, for the log tests."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from bangui.logs import PLAIN_LINE, JsonFormatter


@dataclass
class Captured:
    fmt: str
    stream: io.StringIO = field(default_factory=io.StringIO)

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    def records(self) -> list[dict[str, Any]]:
        """Each line as JSON (json format) or as {"line": ...} (plain)."""
        lines = self.text.splitlines()
        if self.fmt == "json":
            return [json.loads(line) for line in lines]
        return [{"line": line} for line in lines]

    def lines_with(self, rid: str) -> list[str]:
        """The messages of the lines that carry this request ID."""
        if self.fmt == "json":
            return [r["message"] for r in self.records() if r.get("request_id") == rid]
        marker = f" [{rid}] "
        lines = [line.split(marker, 1)[1] for line in self.text.splitlines() if marker in line]
        return [line.split(": ", 1)[1] for line in lines]

    def messages(self) -> str:
        if self.fmt == "json":
            return "\n".join(r["message"] for r in self.records())
        return self.text


def console_handler() -> logging.Handler:
    return next(h for h in logging.getLogger().handlers if h.get_name() == "console")


@contextmanager
def capture_console(fmt: str) -> Iterator[Captured]:
    """Point the configured console handler (its filters stay) at a buffer, in ``fmt``."""
    handler = console_handler()
    assert isinstance(handler, logging.StreamHandler)
    captured = Captured(fmt)
    old_stream = handler.setStream(captured.stream)
    old_formatter = handler.formatter
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(PLAIN_LINE))
    try:
        yield captured
    finally:
        handler.setStream(old_stream)  # type: ignore[arg-type]
        handler.setFormatter(old_formatter)
