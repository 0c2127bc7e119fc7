"""Every benchmark ``python -m bench`` knows, in the order they run.

To add one: write ``run(ctx: BenchContext) -> list[Row]`` in a new module
and append a ``Benchmark`` here.
"""

from __future__ import annotations

from . import client_vs_cli
from .core import Benchmark

BENCHMARKS: tuple[Benchmark, ...] = (
    Benchmark(
        "client-vs-cli",
        "status JAIL short: Fail2banClient (fresh and persistent) vs fail2ban-client",
        client_vs_cli.run,
    ),
)


def find(name: str) -> Benchmark:
    for bench in BENCHMARKS:
        if bench.name == name:
            return bench
    known = ", ".join(b.name for b in BENCHMARKS)
    raise KeyError(f"no benchmark named {name!r} (known: {known})")
