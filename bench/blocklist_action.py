"""A blocklist import into a jail whose action runs a command per ban (fail2ban's ``dummy``).

The no-action figure of ``blocklist-import`` (100k addresses in seconds) holds
only while fail2ban has nothing to do per ban. With a classic action (one
``iptables``/``nft`` call per address) fail2ban runs a shell command for every
ban, one at a time, and that is the limit, whoever sends the bans.

- **Ours**: ``blocklists.services.import_run`` end to end, into its
  ``blocklist-import`` jail given ``action = dummy[...]`` in its ``.local``
  (``dummy`` appends each address to a file through ``printf``: one process per
  ban, as a firewall action is; it blocks nothing).
- **Baseline**: fail2ban's raw batch ``set JAIL banip`` (1,000 per command)
  into a jail with the same action.
Rounds alternate; after each, the bans are lifted (that runs the action per
address too) and the bench waits for fail2ban's DB to empty.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

from bangui.demo.lab import Fail2banLab

from .blocklist_import import BATCH, _public, _rate
from .core import BenchContext, Row, Stats
from .django_env import django_env
from .labtools import lab_jail, wait_db_bans

COUNT = 2_000
RAW_JAIL = "bl-raw-act"
ROUNDS = 4  # the first is a warm-up and not counted
TARGET = 0.8  # our rate / raw rate with the same action


def _action(lab: Fail2banLab, jail: str) -> str:
    # The quotes matter: unquoted, fail2ban drops the action without a word (1.0.2).
    return f'dummy[target="{lab.run_dir / f"dummy-{jail}.txt"}"]'


def _bans_written(target: Path) -> int:
    """Bans the dummy action wrote since the jail's last unban-all ("+ip" lines)."""
    try:
        text = target.read_text()
    except FileNotFoundError:
        return 0
    return text.rpartition("-*")[2].count("\n+") + text.rpartition("-*")[2].startswith("+")


def run(ctx: BenchContext) -> list[Row]:
    env = django_env(ctx)
    from blocklists.jail import BASE_JAIL
    from blocklists.models import BlocklistSource, ImportRun
    from blocklists.services import import_run, runs_queue
    from blocklists.tests.httpserver import LocalServer, respond
    from jails.audit.services import Actor

    # Actions are set before the server starts: a reload does not give a running jail
    # a new action (fail2ban 1.0.2 kept it without one).
    lab = Fail2banLab([lab_jail(RAW_JAIL)])
    ctx.add_cleanup(lab.cleanup)
    (lab.conf_dir / "jail.d" / f"{RAW_JAIL}.local").write_text(
        f"[{RAW_JAIL}]\naction = {_action(lab, RAW_JAIL)}\n"
    )
    # BanGUI creates jail.d/blocklist-import.conf and never overwrites an existing .local:
    # the operator's own action for the jail, as a real install would set it.
    (lab.conf_dir / "jail.d" / f"{BASE_JAIL}.local").write_text(
        f"[{BASE_JAIL}]\nenabled = true\naction = {_action(lab, BASE_JAIL)}\n"
    )
    lab.start(timeout=60.0)
    if not lab.client().get(RAW_JAIL, "actions"):
        raise RuntimeError(f"{RAW_JAIL} has no action")
    ours_ips = sorted(set(_public(COUNT, 44)))
    raw_ips = sorted(set(_public(COUNT, 45)))
    body = ("\n".join(ours_ips) + "\n").encode()
    samples: dict[str, list[float]] = {"ours": [], "raw": []}
    try:
        env.point_at(lab)
        client = lab.client(timeout=300.0)
        with LocalServer() as server:
            server.route("/list.txt", respond(body))
            source = BlocklistSource.objects.create(name="bench-act", url=server.url("/list.txt"))

            def ours() -> str:
                (run,) = runs_queue([source], actor=Actor.system("bench"), trigger="command")
                run = import_run(run)
                if run.status != ImportRun.Status.OK or run.newly_banned != len(ours_ips):
                    raise RuntimeError(f"import: {run.status} {run.newly_banned} {run.error}")
                return run.jail

            def raw() -> str:
                done = 0
                for start in range(0, len(raw_ips), BATCH):
                    batch = raw_ips[start : start + BATCH]
                    done += int(client._send(["set", RAW_JAIL, "banip", *batch]))
                if done != len(raw_ips):
                    raise RuntimeError(f"raw banip: {done} of {len(raw_ips)}")
                return RAW_JAIL

            def timed(fn: Callable[[], str], n: int) -> float:
                # fail2ban answers banip at once and runs the actions after: the time
                # that counts is until the action ran for every address.
                started = time.perf_counter()
                jail = fn()
                target = lab.run_dir / f"dummy-{jail}.txt"
                deadline = time.monotonic() + 600
                while _bans_written(target) < n and time.monotonic() < deadline:
                    time.sleep(0.01)
                elapsed = time.perf_counter() - started
                wait_db_bans(lab, n, jail=jail, timeout=600)
                client.unban_all()
                wait_db_bans(lab, 0, timeout=600)
                return elapsed

            sides = [("ours", ours, len(ours_ips)), ("raw", raw, len(raw_ips))]
            for r in range(ROUNDS):
                for name, fn, n in sides if r % 2 else sides[::-1]:
                    elapsed = timed(fn, n)
                    print(f"    {name} round {r}: {elapsed:.2f} s", file=sys.stderr)
                    if r:
                        samples[name].append(elapsed)
    finally:
        lab.cleanup()
    ours_s, raw_s = Stats(tuple(samples["ours"])), Stats(tuple(samples["raw"]))
    ours_rate = _rate(ours_s, len(ours_ips))
    raw_rate = _rate(raw_s, len(raw_ips))
    ctx.notes.append(
        f"blocklist with a per-ban action: {ours_rate:,.0f} bans/s, so 100,000 addresses take "
        f"about {100_000 / ours_rate / 60:.0f} min (the action runs once per address, one at "
        "a time, inside fail2ban). Large lists stay fast only with an action that adds to a "
        "set in one step (ipset, nftables sets)."
    )
    return [
        Row(
            name=f"blocklist import {len(ours_ips):,} IPs, dummy action per ban, vs raw banip",
            ours=f"{ours_rate:,.0f} IP/s ({ours_s.median:.1f} s wall; {ours_s.calls}×)",
            baseline=f"{raw_rate:,.0f} IP/s ({raw_s.median:.1f} s; {raw_s.calls}×)",
            ratio=ours_rate / raw_rate,
            target=TARGET,
        )
    ]
