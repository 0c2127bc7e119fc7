"""Filling a lab with bans and waiting for fail2ban's database to catch up."""

from __future__ import annotations

import ipaddress
import sqlite3
import sys
import time
from collections.abc import Iterator
from urllib.parse import quote

from bangui.demo.lab import Fail2banLab, LabJail

# Bans must not expire while a benchmark runs; no action, so nothing is blocked.
BIG_JAIL_OPTIONS = {"bantime": "86400", "findtime": "600", "maxretry": "3"}


def lab_jail(name: str) -> LabJail:
    """A jail on the lab's ``bangui-lab`` filter (``action =`` comes from [DEFAULT])."""
    return LabJail(name, options=dict(BIG_JAIL_OPTIONS))


def ipv4_block(first: str, count: int) -> list[str]:
    """``count`` consecutive IPv4 addresses from ``first``."""
    start = int(ipaddress.IPv4Address(first))
    return [str(ipaddress.IPv4Address(start + i)) for i in range(count)]


def address_blocks(counts: list[int], first: str = "10.0.0.0") -> Iterator[list[str]]:
    """Disjoint runs of addresses, one per count, one after the other."""
    start = int(ipaddress.IPv4Address(first))
    for count in counts:
        yield [str(ipaddress.IPv4Address(start + i)) for i in range(count)]
        start += count


def db_ban_count(lab: Fail2banLab, jail: str | None = None) -> int:
    """Rows in fail2ban's ``bips`` table (current bans), read-only, one short query."""
    conn = sqlite3.connect(f"file:{quote(lab.db_path)}?mode=ro", uri=True, timeout=2)
    try:
        if jail is None:
            row = conn.execute("SELECT count(*) FROM bips").fetchone()
        else:
            row = conn.execute("SELECT count(*) FROM bips WHERE jail = ?", (jail,)).fetchone()
        return int(row[0])
    finally:
        conn.close()


def wait_db_bans(
    lab: Fail2banLab, expected: int, *, jail: str | None = None, timeout: float = 180.0
) -> float:
    """Wait until fail2ban has written ``expected`` current bans to its DB; seconds waited.

    fail2ban bans at once but records each ban from a background thread, one
    commit per ban; a page that reads ban times from the DB sees them only then.
    """
    started = time.monotonic()
    deadline = started + timeout
    count = -1
    while time.monotonic() < deadline:
        try:
            count = db_ban_count(lab, jail)
        except sqlite3.OperationalError:  # no DB yet, or briefly locked
            count = -1
        if count == expected:
            return time.monotonic() - started
        time.sleep(0.05)
    where = f" in {jail}" if jail else ""
    raise TimeoutError(
        f"fail2ban's DB holds {count} bans{where} after {timeout:g} s, expected {expected}"
    )


def load_bans(lab: Fail2banLab, plan: dict[str, list[str]]) -> None:
    """Ban every jail's addresses (``Fail2banClient.ban``, 1000 per command), then
    wait until the DB holds them all; progress goes to stderr."""
    client = lab.client(timeout=60.0)
    total = sum(len(ips) for ips in plan.values())
    started = time.perf_counter()
    for jail, ips in plan.items():
        done = client.ban(jail, ips)
        if done != len(ips):
            raise RuntimeError(f"{jail}: fail2ban banned {done} of {len(ips)} addresses")
    banned = time.perf_counter() - started
    waited = wait_db_bans(lab, total)
    print(
        f"    loaded {total:,} bans into {len(plan)} jail(s) in {banned:.1f} s; "
        f"fail2ban's DB caught up {waited:.1f} s later",
        file=sys.stderr,
    )
