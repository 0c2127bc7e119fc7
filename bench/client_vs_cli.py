"""Our socket client next to ``fail2ban-client`` run as a subprocess.

The command is ``status alpha short`` both ways. The CLI starts a Python
interpreter and imports fail2ban on every call, which is what a web admin
shelling out to it would pay per request.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable

from bangui.fail2ban.client import Fail2banClient

from .core import BenchContext, Row, Stats, interleaved

JAIL = "alpha"
OUR_CALLS = 1000
CLI_CALLS = 100
TARGET = 300.0


CliCall = Callable[[], "subprocess.CompletedProcess[bytes]"]


def _cli_call(socket_path: str) -> CliCall:
    exe = shutil.which("fail2ban-client") or "/usr/bin/fail2ban-client"
    argv = [exe, "-s", socket_path, "status", JAIL, "short"]

    def call() -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(argv, check=True, capture_output=True, timeout=30)

    return call


def _check(client: Fail2banClient, cli: CliCall) -> None:
    """Both sides must really answer the command, not fail fast."""
    status = client.jail_status(JAIL)
    if status.name != JAIL:
        raise RuntimeError(f"unexpected status from our client: {status!r}")
    out = cli()
    if b"Currently failed" not in out.stdout:
        raise RuntimeError(f"unexpected fail2ban-client output: {out.stdout!r:.300}")


def _row(name: str, ours: Stats, cli: Stats) -> Row:
    return Row(
        name=name,
        ours=ours.summary(),
        baseline=cli.summary(),
        ratio=cli.mean / ours.mean,
        target=TARGET,
    )


def run(ctx: BenchContext) -> list[Row]:
    socket_path = ctx.lab.socket_path
    cli = _cli_call(socket_path)
    fresh = Fail2banClient(socket_path)
    kept = Fail2banClient(socket_path, persistent=True)
    try:
        _check(fresh, cli)
        _check(kept, cli)
        ours, ours_kept, baseline = interleaved(
            [
                (lambda: fresh.jail_status(JAIL), OUR_CALLS),
                (lambda: kept.jail_status(JAIL), OUR_CALLS),
                (cli, CLI_CALLS),
            ]
        )
    finally:
        kept.close()
    return [
        _row("client vs CLI: status alpha short", ours, baseline),
        _row("client (persistent) vs CLI", ours_kept, baseline),
    ]
