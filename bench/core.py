"""Timing helpers, result rows and the table printer shared by all benchmarks."""

from __future__ import annotations

import contextlib
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from bangui.demo.lab import Fail2banLab, LabJail

T = TypeVar("T")


@dataclass(frozen=True)
class Stats:
    """Per-call wall-clock times of one measured operation, in seconds."""

    samples: tuple[float, ...]

    @property
    def calls(self) -> int:
        return len(self.samples)

    @property
    def total(self) -> float:
        return math.fsum(self.samples)

    @property
    def mean(self) -> float:
        return self.total / len(self.samples)

    @property
    def median(self) -> float:
        return percentile(self.samples, 50)

    @property
    def p95(self) -> float:
        return percentile(self.samples, 95)

    def summary(self, *, median: bool = False) -> str:
        """``mean / p95 (n×)``, e.g. ``0.118 ms / 0.150 ms (1000×)``.

        With ``median``, says so: ``median 41.2 ms / p95 45.0 ms (20×)``.
        """
        if median:
            return (
                f"median {fmt_seconds(self.median)} / p95 {fmt_seconds(self.p95)} ({self.calls}×)"
            )
        return f"{fmt_seconds(self.mean)} / {fmt_seconds(self.p95)} ({self.calls}×)"


def percentile(samples: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (no interpolation; p95 of 100 samples is the 95th).

    The median (``pct=50``) of an even count is the lower middle sample.
    """
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def fmt_seconds(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds * 1e3:.3f} ms"


def fmt_ratio(value: float) -> str:
    """``443`` for large ratios, ``0.93`` for ratios near one."""
    return f"{value:,.0f}" if value >= 10 else f"{value:.2f}"


def time_calls(fn: Callable[[], object], calls: int) -> list[float]:
    """Call ``fn`` ``calls`` times; the wall-clock duration of each call."""
    clock = time.perf_counter
    out: list[float] = []
    for _ in range(calls):
        start = clock()
        fn()
        out.append(clock() - start)
    return out


def interleaved(
    runs: Sequence[tuple[Callable[[], object], int]], *, rounds: int = 10, warmup: int = 3
) -> list[Stats]:
    """Time several operations side by side.

    Each ``(fn, calls)`` is warmed up with ``warmup`` untimed calls, then its
    ``calls`` are spread over ``rounds`` rounds that alternate between the
    operations, so a slow patch of the machine hits all of them alike.
    """
    for fn, calls in runs:
        if calls % rounds:
            raise ValueError(f"{calls} calls do not split into {rounds} rounds")
        for _ in range(warmup):
            fn()
    samples: list[list[float]] = [[] for _ in runs]
    for _ in range(rounds):
        for i, (fn, calls) in enumerate(runs):
            samples[i].extend(time_calls(fn, calls // rounds))
    return [Stats(tuple(s)) for s in samples]


@dataclass(frozen=True)
class Row:
    """One line of the table.

    ``ratio`` is how many times better ours is than the baseline (for
    latencies: baseline time / our time); it passes when ``ratio >= target``.
    A row may instead (or also) carry an absolute target: ``goal`` says what
    it is (e.g. ``p95 ≤ 300 ms``) and ``goal_met`` whether ours meets it.
    The row passes when every target it has is met.
    """

    name: str
    ours: str
    baseline: str
    ratio: float | None = None
    target: float | None = None
    goal: str = ""
    goal_met: bool | None = None

    @property
    def passed(self) -> bool | None:
        checks: list[bool] = []
        if self.ratio is not None and self.target is not None:
            checks.append(self.ratio >= self.target)
        if self.goal_met is not None:
            checks.append(self.goal_met)
        return all(checks) if checks else None

    @property
    def verdict(self) -> str:
        return {True: "PASS", False: "FAIL", None: "-"}[self.passed]

    @property
    def ratio_text(self) -> str:
        ratio = "-" if self.ratio is None else f"{fmt_ratio(self.ratio)}×"
        target = "" if self.target is None else f" / ≥ {fmt_ratio(self.target)}×"
        goal = f" / {self.goal}" if self.goal else ""
        return ratio + target + goal


@dataclass
class BenchContext:
    """What a benchmark gets: the running lab, shared by all benchmarks of one run.

    A benchmark that needs its own server (other jails, many bans) starts it
    with ``start_lab()``; whatever needs tearing down is registered with
    ``add_cleanup()`` and undone by ``cleanup()``, which ``python -m bench``
    calls at exit (also on Ctrl-C or SIGTERM) before it removes ``lab``.
    ``shared()`` keeps one expensive object (e.g. the Django set-up) per run.
    """

    lab: Fail2banLab
    notes: list[str] = field(default_factory=list)
    # Per-benchmark settings from the command line, e.g. {"footprint_idle": "180"}.
    options: dict[str, str] = field(default_factory=dict)
    _cleanups: list[Callable[[], object]] = field(default_factory=list, repr=False)
    _shared: dict[str, Any] = field(default_factory=dict, repr=False)

    def add_cleanup(self, fn: Callable[[], object]) -> None:
        self._cleanups.append(fn)

    def start_lab(self, jails: Sequence[LabJail]) -> Fail2banLab:
        """A second private fail2ban-server; call its ``cleanup()`` when done with it.

        It is also removed by ``cleanup()``, in case the benchmark is interrupted
        (``Fail2banLab.cleanup`` may run twice).
        """
        lab = Fail2banLab(jails)
        self.add_cleanup(lab.cleanup)
        lab.start(timeout=60.0)
        return lab

    def shared(self, key: str, factory: Callable[[], T]) -> T:
        """``factory()`` on the first call for ``key``, the same object after that."""
        if key not in self._shared:
            self._shared[key] = factory()
        return self._shared[key]

    def cleanup(self) -> None:
        """Run the registered cleanups, newest first; report failures, go on."""
        while self._cleanups:
            fn = self._cleanups.pop()
            try:
                fn()
            except Exception as exc:  # noqa: BLE001 - the others must still run
                with contextlib.suppress(OSError):
                    print(f"warning: cleanup {fn!r} failed: {exc}", file=sys.stderr)


@dataclass(frozen=True)
class Benchmark:
    name: str
    description: str
    run: Callable[[BenchContext], list[Row]]


HEADERS = ("benchmark", "ours (mean / p95)", "baseline (mean / p95)", "ratio / target", "verdict")


def format_table(rows: Sequence[Row]) -> str:
    """A Markdown pipe table, aligned so it also reads well in a terminal."""
    cells = [HEADERS] + [(r.name, r.ours, r.baseline, r.ratio_text, r.verdict) for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(HEADERS))]

    def line(values: Sequence[str]) -> str:
        return "| " + " | ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)) + " |"

    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(cells[0]), sep, *(line(c) for c in cells[1:])])
