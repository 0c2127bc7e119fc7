"""Timing helpers, result rows and the table printer shared by all benchmarks."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from bangui.fail2ban.lab import Fail2banLab


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
    def p95(self) -> float:
        return percentile(self.samples, 95)

    def summary(self) -> str:
        """``mean / p95 (n×)``, e.g. ``0.118 ms / 0.150 ms (1000×)``."""
        return f"{fmt_seconds(self.mean)} / {fmt_seconds(self.p95)} ({self.calls}×)"


def percentile(samples: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (no interpolation; p95 of 100 samples is the 95th)."""
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
    """

    name: str
    ours: str
    baseline: str
    ratio: float | None = None
    target: float | None = None

    @property
    def passed(self) -> bool | None:
        if self.ratio is None or self.target is None:
            return None
        return self.ratio >= self.target

    @property
    def verdict(self) -> str:
        return {True: "PASS", False: "FAIL", None: "-"}[self.passed]

    @property
    def ratio_text(self) -> str:
        ratio = "-" if self.ratio is None else f"{self.ratio:,.0f}×"
        target = "" if self.target is None else f" / ≥ {self.target:,.0f}×"
        return ratio + target


@dataclass
class BenchContext:
    """What a benchmark gets: the running lab, shared by all benchmarks of one run."""

    lab: Fail2banLab
    notes: list[str] = field(default_factory=list)


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
