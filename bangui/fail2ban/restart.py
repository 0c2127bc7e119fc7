"""Restarting fail2ban: stop it over the socket, run the configured start command, wait.

The socket can stop fail2ban but not start it again, so a restart needs the
command the operator configured (``BANGUI_FAIL2BAN_START_COMMAND``, for
example ``systemctl start fail2ban``). It runs without a shell.
"""

from __future__ import annotations

import contextlib
import shlex
import subprocess
import time
from collections.abc import Callable

from .client import Fail2banClient
from .errors import Fail2banCommandError, Fail2banError, Fail2banUnavailable

STOP_WAIT_SECONDS = 15.0
START_WAIT_SECONDS = 10.0


def answers(client: Fail2banClient) -> bool:
    try:
        return client.ping()
    except Fail2banError:
        return False


def wait_until(predicate: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return bool(predicate())


def restart(client: Fail2banClient, *, command: str, wait: float = START_WAIT_SECONDS) -> None:
    """Stop fail2ban (if it runs), start it with ``command``, wait until it answers.

    Raises Fail2banCommandError when the command fails and Fail2banUnavailable
    when fail2ban does not answer in time; the messages are for the operator.
    """
    with contextlib.suppress(Fail2banUnavailable):  # already down: just start it
        client.stop_server()
    wait_until(lambda: not answers(client), STOP_WAIT_SECONDS)
    try:
        proc = subprocess.run(
            shlex.split(command),
            capture_output=True,
            text=True,
            timeout=wait,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise Fail2banCommandError(f"The start command failed: {exc}") from exc
    if proc.returncode != 0:
        raise Fail2banCommandError(
            f"The start command exited with {proc.returncode}: "
            f"{(proc.stderr or proc.stdout).strip()[-500:]}"
        )
    if not wait_until(lambda: answers(client), wait):
        raise Fail2banUnavailable(f"fail2ban did not answer within {wait:g} s after starting.")
