"""What structured logs cost per request: the request ID and the sanitizer (issue 18).

- The request ID, whole stack: ``GET /health/live`` through Django's test client
  with BanGUI's middleware, vs the same without ``RequestIDMiddleware`` (the
  cheapest request, where the added cost shows most). Goal: ≤ 20 µs more.
- One gunicorn access line through the console handler's filters (request ID,
  sanitizer) and formatter, plain and json, vs the plain formatter without
  filters that BanGUI had before. Goal: ≤ 25 µs per line. A line with
  ``?token=`` (the patterns run) is shown too, without a goal: it is rare.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from .core import BenchContext, Row, fmt_seconds, interleaved
from .django_env import django_env

CALLS = 2000
ROUNDS = 10
REQUEST_GOAL = 20e-6
LINE_GOAL = 25e-6
ACCESS = (
    '127.0.0.1 - - [02/Dec/2026:08:50:59 +0000] "GET /jails/sshd/?q=203.0.113&page=2 HTTP/1.1" '
    '200 38986 "https://bangui.example/jails/" "Mozilla/5.0 (X11; Linux x86_64) '
    'AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36" '
    "4246a06309114042a874bd6c6530c024"
)
OLD_LINE = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def _request_rows(ctx: BenchContext) -> list[Row]:
    from django.conf import settings
    from django.test import Client
    from django.test.utils import override_settings

    env = django_env(ctx)
    without = Client()
    middleware = [m for m in settings.MIDDLEWARE if not m.endswith("RequestIDMiddleware")]
    with override_settings(MIDDLEWARE=middleware):
        without.get("/health/live")  # the handler keeps the chain it loaded here
    ours, base = interleaved(
        [
            (lambda: env.client.get("/health/live"), CALLS),
            (lambda: without.get("/health/live"), CALLS),
        ],
        rounds=ROUNDS,
    )
    added = ours.median - base.median
    return [
        Row(
            "GET /health/live with the request ID (added: median)",
            ours.summary(median=True),
            base.summary(median=True),
            ratio=base.median / ours.median,
            goal=f"+{fmt_seconds(added)} ≤ +{fmt_seconds(REQUEST_GOAL)}",
            goal_met=added <= REQUEST_GOAL,
        )
    ]


def _line(
    handler_filters: list[logging.Filter], formatter: logging.Formatter, text: str
) -> Callable[[], str]:
    def run() -> str:
        record = logging.LogRecord(
            "gunicorn.access", logging.INFO, __file__, 1, "%s", (text,), None
        )
        for f in handler_filters:
            f.filter(record)
        return formatter.format(record)

    return run


def _line_rows() -> list[Row]:
    from bangui.logs import PLAIN_LINE, JsonFormatter, RequestIDFilter
    from bangui.logsanitize import SanitizeFilter

    filters: list[logging.Filter] = [RequestIDFilter(), SanitizeFilter()]
    token_line = ACCESS.replace("q=203.0.113", "token=Zq81kx0_3vB9")
    runs = [
        _line([], logging.Formatter(OLD_LINE), ACCESS),
        _line(filters, logging.Formatter(PLAIN_LINE), ACCESS),
        _line(filters, JsonFormatter(), ACCESS),
        _line(filters, JsonFormatter(), token_line),
    ]
    old, plain, json_, token = interleaved([(fn, CALLS * 5) for fn in runs], rounds=ROUNDS)
    rows = []
    for name, stats, goal in (
        ("access line, plain + filters", plain, True),
        ("access line, json + filters", json_, True),
        ("access line with ?token=, json + filters", token, False),
    ):
        added = stats.median - old.median
        rows.append(
            Row(
                f"{name} (added: median)",
                stats.summary(median=True),
                old.summary(median=True),
                ratio=old.median / stats.median,
                goal=f"+{fmt_seconds(added)} ≤ +{fmt_seconds(LINE_GOAL)}" if goal else "",
                goal_met=added <= LINE_GOAL if goal else None,
            )
        )
    return rows


def run(ctx: BenchContext) -> list[Row]:
    ctx.notes.append(
        "logs: baseline = BanGUI before issue 18 (no request-ID middleware; the plain "
        "formatter with no filters)."
    )
    return _request_rows(ctx) + _line_rows()
