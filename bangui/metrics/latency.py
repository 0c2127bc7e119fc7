"""Request latency per view, for the ``bangui_request_duration_seconds`` histogram.

The label is the view's URL name as the URLconf declares it: a bounded set.
Whatever did not resolve to a view (a 404 for any URL a stranger types,
static files, redirects to setup) shares the label ``unresolved``, so hostile
URLs cannot create new series. Counting is per thread (``ThreadTally``): a
bisect and two dict updates per request, no lock.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from bangui.metrics.tally import ThreadTally

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
UNRESOLVED = "unresolved"
SUM = -1  # the bucket index under which a view's summed seconds are kept

# (view, bucket index) -> requests in that bucket alone; (view, SUM) -> seconds.
LATENCY: ThreadTally[tuple[str, int]] = ThreadTally()


class RequestLatencyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        seconds = time.perf_counter() - started
        match = getattr(request, "resolver_match", None)
        view = (match.view_name or UNRESOLVED) if match is not None else UNRESOLVED
        LATENCY.add((view, bisect.bisect_left(BUCKETS, seconds)))
        LATENCY.add((view, SUM), seconds)
        return response


def latency_histograms() -> dict[str, tuple[list[tuple[str, float]], float]]:
    """Per view: cumulative buckets as Prometheus wants them (``le``, count), and the sum."""
    per_view: dict[str, list[float]] = {}
    sums: dict[str, float] = {}
    for (view, index), value in LATENCY.totals().items():
        if index == SUM:
            sums[view] = value
        else:
            per_view.setdefault(view, [0.0] * (len(BUCKETS) + 1))[index] += value
    result = {}
    for view, counts in per_view.items():
        running, buckets = 0.0, []
        for bound, count in zip([*map(str, BUCKETS), "+Inf"], counts, strict=True):
            running += count
            buckets.append((bound, running))
        result[view] = (buckets, sums.get(view, 0.0))
    return result
