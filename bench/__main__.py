"""``python -m bench [NAME…] [--only NAME] [--list]``: run the benchmarks, print one table.

Starts a private fail2ban-server (no firewall, temporary directory) and
removes it at exit, also on Ctrl-C or SIGTERM; so are the servers and files
that benchmarks add through ``BenchContext``. Progress and the machine
description go to stderr; the table goes to stdout. The exit status is 1 when
a row misses its target.
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import sys
import time
from collections.abc import Sequence
from types import FrameType

from bangui.demo.lab import Fail2banLab

from .core import BenchContext, Benchmark, Row, format_table
from .registry import BENCHMARKS, find


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=(__doc__ or "").split("\n")[0]
    )
    parser.add_argument("names", nargs="*", metavar="NAME", help="the same as --only NAME")
    parser.add_argument(
        "--only",
        metavar="NAME",
        action="append",
        help="run only this benchmark (repeatable); see --list",
    )
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    parser.add_argument(
        "--footprint-idle",
        metavar="SECONDS",
        type=float,
        help="footprint: how long the jobs run alone while CPU is measured (default 180)",
    )
    parser.add_argument(
        "--footprint-baseline",
        metavar="REV",
        help="footprint: the git revision measured side by side as the baseline, or none",
    )
    parser.add_argument(
        "--footprint-also",
        metavar="VAR=VALUE[,VAR=VALUE]",
        action="append",
        help="footprint: also measure the working tree with these environment variables "
        "(repeatable), e.g. BANGUI_JOB_WORKERS=1",
    )
    return parser.parse_args(argv)


def run(benchmarks: Sequence[Benchmark], options: dict[str, str] | None = None) -> list[Row]:
    lab = Fail2banLab()
    ctx = BenchContext(lab, options=dict(options or {}))
    try:
        print(f"==> starting fail2ban-server in {lab.base}", file=sys.stderr)
        lab.start()
        client = lab.client()
        print(
            f"==> fail2ban {client.version()} · Python {platform.python_version()} · "
            f"{_cpu_model()} × {os.cpu_count()}",
            file=sys.stderr,
        )
        rows: list[Row] = []
        for bench in benchmarks:
            print(f"==> {bench.name}: {bench.description}", file=sys.stderr)
            started = time.perf_counter()
            rows.extend(bench.run(ctx))
            print(f"    done in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        for note in ctx.notes:
            print(f"note: {note}", file=sys.stderr)
        return rows
    finally:
        # A second Ctrl-C must not leave the server behind half-stopped.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        try:
            ctx.cleanup()  # the benchmarks' own servers and files
        finally:
            lab.cleanup()


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    if args.list:
        for bench in BENCHMARKS:
            print(f"{bench.name:20} {bench.description}")
        return 0
    try:
        names = [*(args.only or []), *args.names]
        selected = [find(name) for name in names] if names else list(BENCHMARKS)
    except KeyError as exc:
        print(f"error: {exc.args[0]}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)
    try:
        options = {
            key: ";".join(value) if isinstance(value, list) else str(value)
            for key, value in vars(args).items()
            if key.startswith("footprint_") and value is not None
        }
        rows = run(selected, options)
    except KeyboardInterrupt:
        print("interrupted; fail2ban lab removed", file=sys.stderr)
        return 130
    except SystemExit:
        print("terminated; fail2ban lab removed", file=sys.stderr)
        raise
    print(format_table(rows))
    return 1 if any(row.passed is False for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
