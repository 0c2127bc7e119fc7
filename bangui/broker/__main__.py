"""``python -m bangui.broker``: run the root broker.

    python -m bangui.broker --socket /run/bangui/broker.sock \\
        --fail2ban-socket /var/run/fail2ban/fail2ban.sock --config-dir /etc/fail2ban \\
        --allow-user bangui

``--stdio`` serves one session on standard input and output instead (for
``ssh host python -m bangui.broker --stdio``: ssh has authenticated the peer).
"""

from __future__ import annotations

import sys

# Before anything else: the broker never loads Django (an import fails loudly).
sys.modules["django"] = None  # type: ignore[assignment]

import argparse  # noqa: E402
import grp  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import pwd  # noqa: E402
import signal  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from .server import Policy, Settings, serve, serve_stream  # noqa: E402

log = logging.getLogger("bangui.broker")


def _parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bangui-broker", description=__doc__.split("\n")[0])
    p.add_argument("--socket", help="the broker's Unix socket (not with --stdio)")
    p.add_argument("--fail2ban-socket", default="/var/run/fail2ban/fail2ban.sock")
    p.add_argument("--config-dir", default="/etc/fail2ban")
    p.add_argument("--allow-user", action="append", default=[], help="may connect (repeat)")
    p.add_argument("--allow-group", action="append", default=[], help="may connect (repeat)")
    p.add_argument("--allow-uid", action="append", type=int, default=[])
    p.add_argument("--group", help="group owning the socket (default: the first --allow-group)")
    p.add_argument("--timeout", type=float, default=5.0, help="seconds per fail2ban call")
    p.add_argument(
        "--state-dir", default="/var/lib/bangui-broker", help="config backups and the apply lock"
    )
    p.add_argument(
        "--start-command", default="", help="starts fail2ban after a restart's stop (no shell)"
    )
    p.add_argument("--stdio", action="store_true", help="serve one session on stdin/stdout")
    p.add_argument("--log-level", default="INFO")
    args = p.parse_args(argv)
    if not args.stdio and not args.socket:
        p.error("--socket is required (or --stdio)")
    return args


def _policy(args: argparse.Namespace) -> Policy:
    uids = set(args.allow_uid)
    gids: set[int] = set()
    try:
        for name in args.allow_user:
            entry = pwd.getpwnam(name)
            uids.add(entry.pw_uid)
        for name in args.allow_group:
            gids.add(grp.getgrnam(name).gr_gid)
    except KeyError as exc:
        raise SystemExit(f"bangui-broker: no such user or group: {exc.args[0]}") from None
    return Policy(frozenset(uids), frozenset(gids))


def main(argv: list[str] | None = None) -> None:
    args = _parse(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    state = Path(args.state_dir)
    state.mkdir(mode=0o700, parents=True, exist_ok=True)
    settings = Settings(
        args.fail2ban_socket, args.config_dir, args.timeout, state, args.start_command
    )
    if args.stdio:
        serve_stream(settings.context(), sys.stdin.buffer, sys.stdout.buffer, "stdio")
        return
    group_name = args.group or (args.allow_group[0] if args.allow_group else None)
    try:
        group = grp.getgrnam(group_name).gr_gid if group_name else None
    except KeyError:
        raise SystemExit(f"bangui-broker: no such group: {group_name}") from None
    started = time.monotonic()
    server = serve(args.socket, settings, _policy(args), group)
    log.info(
        "listening on %s for fail2ban at %s (ready in %.0f ms)",
        args.socket, args.fail2ban_socket, (time.monotonic() - started) * 1000,
    )  # fmt: skip
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    server.shutdown()
    server.server_close()
    os.unlink(args.socket)


if __name__ == "__main__":
    main()
