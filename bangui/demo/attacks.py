"""The demo's attackers: a seeded pool of public-looking addresses and the bursts they send."""

from __future__ import annotations

import ipaddress
import math
import random
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bangui.demo.jails import DemoJail, render_line
from bangui.demo.lab import Fail2banLab
from bangui.fail2ban.errors import Fail2banError

# -- the attackers --------------------------------------------------------------

# First hextets of the regional registries' IPv6 blocks (APNIC, ARIN, RIPE...).
V6_FIRST_HEXTETS = (0x2400, 0x2404, 0x2600, 0x2604, 0x2800, 0x2A00, 0x2A01, 0x2A02, 0x2C0F)


def is_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Globally routable unicast: no private, reserved, documentation or multicast range."""
    return ip.is_global and not ip.is_multicast


def random_v4_network(rng: random.Random) -> ipaddress.IPv4Network:
    """A random public /24."""
    while True:
        net = ipaddress.IPv4Network((rng.randrange(1 << 24) << 8, 24))
        if is_public(net.network_address) and is_public(net.broadcast_address):
            return net


def random_v6_network(rng: random.Random) -> ipaddress.IPv6Network:
    """A random public /64 inside a registry block."""
    while True:
        high = (rng.choice(V6_FIRST_HEXTETS) << 48) | rng.randrange(1 << 48)
        net = ipaddress.IPv6Network((high << 64, 64))
        if is_public(net.network_address):
            return net


def hosts_in(
    net: ipaddress.IPv4Network | ipaddress.IPv6Network, rng: random.Random, count: int
) -> list[str]:
    """``count`` distinct host addresses of ``net`` (no network/broadcast address)."""
    size = min(net.num_addresses - 2, 1 << 32)
    offsets = rng.sample(range(1, size + 1), count)
    return [str(net.network_address + off) for off in offsets]


def build_pool(seed: int, v4: int = 320, v6: int = 48) -> list[str]:
    """``v4`` + ``v6`` attacker addresses, one to a dozen per network, shuffled."""
    rng = random.Random(seed)
    pool: list[str] = []
    for wanted, make in ((v4, random_v4_network), (v6, random_v6_network)):
        left = wanted
        while left > 0:
            # Most networks hold one or two attackers, a few hold many.
            count = min(left, 12, int(rng.paretovariate(1.2)))
            pool.extend(hosts_in(make(rng), rng, count))
            left -= count
    rng.shuffle(pool)
    return pool


# -- the generator ----------------------------------------------------------------


@dataclass(frozen=True)
class Burst:
    """Some failures of one address in one jail, written at once."""

    jail: DemoJail
    ip: str
    count: int


class AttackGenerator:
    """Picks bursts of failures and appends them to the lab's jail logs.

    ``rate`` is the mean number of failure lines per second; it swells and
    ebbs over a few minutes so the dashboard's charts have some shape.
    """

    HEAVY_SHARE = 0.3  # share of bursts that come from a heavy hitter
    WAVE_SECONDS = 240.0

    def __init__(
        self,
        lab: Fail2banLab,
        jails: Sequence[DemoJail],
        pool: Sequence[str],
        *,
        heavy: int = 8,
        rate: float = 2.0,
        seed: int = 0,
    ) -> None:
        self.lab = lab
        self.jails = tuple(jails)
        self.heavy = list(pool[:heavy])
        self.crowd = list(pool[heavy:])
        self.rate = rate
        self.seed = seed
        self.rng = random.Random(seed + 1)
        self.started = time.monotonic()
        self.written = 0
        self.bursts = 0

    def banned(self) -> dict[str, set[str]]:
        """Addresses banned now, per jail (a real firewall would drop their packets)."""
        try:
            return {jail: set(ips) for jail, ips in self.lab.client().banned().items()}
        except Fail2banError:
            return {}

    def plan(self) -> Burst:
        """The next burst. The first one per jail is a heavy hitter, so bans show up at once."""
        opening = self.bursts < len(self.jails)
        if opening:
            jail = self.jails[self.bursts]
        else:
            jail = self.rng.choices(self.jails, [j.weight for j in self.jails])[0]
        heavy = opening or self.rng.random() < self.HEAVY_SHARE
        ip = self.pick_ip(jail, heavy)
        if ip in self.heavy:
            count = jail.maxretry + self.rng.randint(0, 2)
        else:
            count = self.rng.choices((1, 2, 3), (0.6, 0.3, 0.1))[0]
        return Burst(jail, ip, count)

    def pick_ip(self, jail: DemoJail, heavy: bool) -> str:
        """An attacker not banned in ``jail``: a heavy hitter if one is free, else the crowd."""
        blocked = self.banned().get(jail.name, set())
        if heavy:
            free = [ip for ip in self.heavy if ip not in blocked]
            if free:
                return self.rng.choice(free)
        free = [ip for ip in self.crowd if ip not in blocked]
        # Should a long run ever get the whole crowd banned, keep knocking anyway.
        return self.rng.choice(free or self.crowd)

    def write(self, burst: Burst) -> None:
        lines = []
        for _ in range(burst.count):
            self.written += 1
            lines.append(render_line(burst.jail, self.rng, burst.ip, self.written) + "\n")
        with self.lab.log_path(burst.jail.name).open("a") as fh:
            fh.write("".join(lines))
        self.bursts += 1

    def pause_after(self, burst: Burst) -> float:
        """Seconds until the next burst, so that lines arrive at about the current rate."""
        age = time.monotonic() - self.started
        wave = 1.0 + 0.6 * math.sin(2 * math.pi * age / self.WAVE_SECONDS)
        return max(0.1, burst.count / (self.rate * wave) * self.rng.uniform(0.4, 1.6))

    def emit(self, total: int) -> None:
        """Write exactly ``total`` failure lines, without pauses."""
        while total > 0:
            burst = self.plan()
            burst = Burst(burst.jail, burst.ip, min(burst.count, total))
            self.write(burst)
            total -= burst.count

    def run(self, stop: threading.Event, report_every: float = 30.0) -> None:
        """Write bursts until ``stop`` is set; print a status line now and then."""
        next_report = time.monotonic() + report_every
        while not stop.is_set():
            if not self.lab.running:
                raise RuntimeError(f"fail2ban-server exited:\n{self.lab.tail_log()}")
            burst = self.plan()
            self.write(burst)
            if time.monotonic() >= next_report:
                print(status_line(self.lab, self.jails), flush=True)
                next_report += report_every
            stop.wait(self.pause_after(burst))


def status_line(lab: Fail2banLab, jails: Sequence[DemoJail]) -> str:
    """One line of counters: ``sshd 3 banned / 41 failed | ...``."""
    parts = []
    client = lab.client()
    for jail in jails:
        try:
            st = client.jail_status(jail.name)
        except Fail2banError as exc:
            return f"fail2ban not answering: {exc}"
        parts.append(f"{jail.name} {st.currently_banned} banned / {st.total_failed} failed")
    return f"[{datetime.now():%H:%M:%S}] " + " | ".join(parts)


def total_failed(lab: Fail2banLab, jails: Sequence[DemoJail]) -> int:
    client = lab.client()
    return sum(client.jail_status(j.name).total_failed for j in jails)
