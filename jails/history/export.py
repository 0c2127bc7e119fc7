"""CSV and JSON export of the ban history, streamed row by row.

The rows come from ``.iterator(chunk_size=2000)`` and are written as they
arrive, so a million-row export holds one chunk in memory, not the archive.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from jails.history.forms import HistoryFilterForm
from jails.history.selectors import history_jails
from jails.history.views import filtered_records

CHUNK = 2000
# Rows per piece of the response: one write per row would cost the server a
# system call each; a few hundred rows make pieces of some 100 KB.
ROWS_PER_PIECE = 500
FIELDS = (
    "banned_at",
    "ip",
    "jail",
    "origin",
    "country_code",
    "asn",
    "bantime",
    "bancount",
    "failures",
    "unbanned_at",
    "unbanned_by",
    "matches",
)
FORMATS = {"csv": "text/csv; charset=utf-8", "json": "application/json"}
# A spreadsheet treats a cell starting with one of these as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class _Echo:
    """A file-like object whose ``write`` hands back what csv.writer gives it."""

    def write(self, value: str) -> str:
        return value


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat()


def neutralise(value: str) -> str:
    """Text a spreadsheet shows as text: a leading ``'`` before a formula character."""
    return "'" + value if value.startswith(FORMULA_START) else value


def _csv_cell(value: Any) -> Any:
    # Numbers stay numbers ("-1" is a permanent ban, not a formula); only text
    # can carry a formula, and log lines and user names are untrusted text.
    if value is None:
        return ""
    if isinstance(value, datetime):
        return _iso(value)
    if isinstance(value, str):
        return neutralise(value)
    return value


def csv_lines(rows: Iterable[tuple[Any, ...]]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(FIELDS)
    for row in rows:
        yield writer.writerow([_csv_cell(v) for v in row])


def json_lines(rows: Iterable[tuple[Any, ...]]) -> Iterator[str]:
    """One JSON array, an object per line."""
    yield "["
    sep = "\n"
    for row in rows:
        item = dict(zip(FIELDS, row, strict=True))
        item["banned_at"] = _iso(item["banned_at"])
        item["unbanned_at"] = _iso(item["unbanned_at"])
        item["matches"] = item["matches"].split("\n") if item["matches"] else []
        yield sep + json.dumps(item, ensure_ascii=False, separators=(",", ":"))
        sep = ",\n"
    yield "\n]\n"


def batched(lines: Iterable[str], size: int = ROWS_PER_PIECE) -> Iterator[str]:
    """The lines joined ``size`` at a time."""
    piece: list[str] = []
    for line in lines:
        piece.append(line)
        if len(piece) >= size:
            yield "".join(piece)
            piece.clear()
    if piece:
        yield "".join(piece)


def _bad_request(message: str) -> HttpResponse:
    return HttpResponse(message + "\n", status=400, content_type="text/plain; charset=utf-8")


@require_GET
def history_export(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    """The history of the current filters as ``?format=csv`` (default) or ``json``."""
    fmt = request.GET.get("format") or "csv"
    if fmt not in FORMATS:
        return _bad_request(f"Unknown export format “{fmt[:20]}”; use csv or json.")
    form = HistoryFilterForm(request.GET, jails=history_jails())
    records = filtered_records(form)
    if form.errors:
        problems = " ".join(
            f"{form.fields[name].label or name}: {error}"
            for name, errors in form.errors.items()
            for error in errors
        )
        return _bad_request(f"Nothing was exported. {problems}")
    rows = records.values_list(*FIELDS).iterator(chunk_size=CHUNK)
    lines = csv_lines(rows) if fmt == "csv" else json_lines(rows)
    response = StreamingHttpResponse(batched(lines), content_type=FORMATS[fmt])
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="bangui-history-{stamp}.{fmt}"'
    response["Cache-Control"] = "no-store"
    return response
