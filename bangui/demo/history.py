"""Weeks of past attacks for the demo, written where fail2ban keeps its bans.

A demo that starts now has one hour of data, and the dashboard's 7, 30 and
365-day views would be empty. So before the generator starts, the demo writes
expired bans of the last ``days`` days into its own fail2ban's ``bans`` table,
in fail2ban's schema and ``data`` format, with the demo jails' ban times and
ban counts. BanGUI's history sync then archives them the way it archives any
ban (``scripts/demo`` runs it once with a long enough backfill). Nothing here
touches a fail2ban other than the demo's, and the rows are expired: fail2ban
restores none of them as a ban.

The shape is plausible, not a measurement: more attacks in the evening (UTC)
than in the morning, quieter weekends, a few campaign days, and heavy hitters
that come back with growing ban counts.
"""

from __future__ import annotations

import json
import math
import random
import sqlite3
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta

from bangui.demo.jails import WEB_USERS, DemoJail, line_fields

PER_DAY = 180  # bans on an ordinary day, across the jails
CAMPAIGN_DAYS = 4  # days with a botnet run: three to five times the usual


def _rate(when: datetime, campaigns: set[int], day: int) -> float:
    """Relative ban rate of the hour: evening peak, quiet weekends, campaigns."""
    hour = when.hour + when.minute / 60
    rate = 1.0 + 0.55 * math.sin(2 * math.pi * (hour - 13) / 24)
    if when.weekday() >= 5:
        rate *= 0.7
    if day in campaigns:
        rate *= 3.5
    return rate


def past_bans(
    jails: Sequence[DemoJail],
    pool: Sequence[str],
    *,
    days: int,
    now: datetime,
    seed: int,
) -> Iterator[tuple[str, str, int, int, int, bytes]]:
    """``(jail, ip, timeofban, bantime, bancount, data)`` rows, oldest first.

    Every ban is over before ``now``, and they use the same
    attackers as the live generator: the first few addresses are heavy hitters.
    """
    rng = random.Random(seed + 7)
    heavy, crowd = list(pool[:8]), list(pool[8:])
    campaigns = set(rng.sample(range(days), min(CAMPAIGN_DAYS, days)))
    counts: dict[tuple[str, str], int] = {}
    until: dict[tuple[str, str], int] = {}
    start = (now - timedelta(days=days)).replace(minute=0, second=0, microsecond=0)
    end = now - timedelta(minutes=5)
    hour = start
    n = 0
    while hour < end:
        day = (hour - start).days
        expected = PER_DAY / 24 * _rate(hour, campaigns, day)
        for _ in range(_poisson(rng, expected)):
            jail = rng.choices(jails, [j.weight for j in jails])[0]
            when = hour + timedelta(seconds=rng.randrange(3600))
            stamp = int(when.timestamp())
            if when >= end:
                continue
            # Whoever is still banned in this jail cannot be banned again there.
            for _ in range(5):
                ip = rng.choice(heavy) if rng.random() < 0.25 else rng.choice(crowd)
                if until.get((jail.name, ip), 0) < stamp:
                    break
            else:
                continue
            bancount = counts.get((jail.name, ip), 0) + 1
            bantime = _seconds(jail.lab.options["bantime"])
            if jail.lab.options.get("bantime.increment") == "true":
                bantime = min(bantime * 2 ** (bancount - 1), 7 * 86400)
            if stamp + bantime >= end.timestamp():
                continue  # still running: fail2ban would not know it, BanGUI would show it
            until[(jail.name, ip)] = stamp + bantime
            counts[(jail.name, ip)] = bancount
            failures = jail.maxretry + rng.randint(0, 2)
            matches = []
            for k in range(failures):
                n += 1
                seen = when - timedelta(seconds=(failures - k) * rng.randint(2, 40))
                matches.append(_line(jail, rng, ip, n, seen))
            data = {"matches": matches[-10:], "failures": failures}
            data["ip6" if ":" in ip else "ip4"] = ip
            yield (jail.name, ip, stamp, bantime, bancount,
                   json.dumps(data).encode())  # fmt: skip
        hour += timedelta(hours=1)


def _line(jail: DemoJail, rng: random.Random, ip: str, n: int, when: datetime) -> str:
    fields = line_fields(rng, ip, n)
    fields["now"] = when
    if jail.name == "nginx-http-auth":
        fields["user"] = rng.choice(WEB_USERS)
    return rng.choice(jail.templates).format(**fields)


def _seconds(value: str) -> int:
    """The demo jails' ban times: ``600``, ``10m``, ``1h``."""
    unit = {"m": 60, "h": 3600, "d": 86400}.get(value[-1:], 1)
    return int(value.rstrip("mhd")) * unit


def _poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method: fine for the small means of one hour."""
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def seed_history(
    db_path: str,
    jails: Sequence[DemoJail],
    pool: Sequence[str],
    *,
    days: int,
    seed: int,
    now: datetime | None = None,
) -> int:
    """Write the past bans into the running demo fail2ban's DB; returns how many.

    One short transaction: fail2ban writes its own bans to the same file and
    waits for a lock at most 5 s.
    """
    if days <= 0:
        return 0
    rows = list(past_bans(jails, pool, days=days, now=now or datetime.now(), seed=seed))
    conn = sqlite3.connect(db_path, timeout=10)
    try:
        with conn:
            names = {j.name for j in jails}
            have = {r[0] for r in conn.execute("SELECT name FROM jails")}
            conn.executemany(
                "INSERT INTO jails(name, enabled) VALUES (?, 1)", [(j,) for j in names - have]
            )
            conn.executemany(
                "INSERT INTO bans(jail, ip, timeofban, bantime, bancount, data) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                rows,
            )
    finally:
        conn.close()
    return len(rows)
