"""The BanGUI demo: a private fail2ban with three real jails under a stream of attacks.

Run ``python -m bangui.demo`` (``scripts/demo`` does, and starts BanGUI next
to it). It starts a :class:`~bangui.fail2ban.lab.Fail2banLab` whose jails use
Debian's own filters (``sshd``, ``nginx-http-auth``, and ``postfix[mode=auth]``
as the ``postfix-sasl`` jail), then appends realistic failure lines to their
log files until SIGINT/SIGTERM, so BanGUI shows live failures and bans. The
lab has no firewall action: bans exist only inside fail2ban.

Every line template below was checked with ``fail2ban-regex`` against the
filters of fail2ban 1.0.2 (Debian 12); ``--once N`` checks them end to end,
since it waits until fail2ban has counted all N failures.

The attackers are a fixed pool of public-looking IPv4 and IPv6 addresses,
grouped in a few dozen networks and drawn from a seeded RNG, so every run
shows the same cast; a handful of "heavy hitters" come back again and again.
"""

from __future__ import annotations

import argparse
import ipaddress
import math
import os
import random
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import FrameType

from bangui.fail2ban.errors import Fail2banError
from bangui.fail2ban.lab import Fail2banLab, LabJail

# -- the jails ------------------------------------------------------------------


@dataclass(frozen=True)
class DemoJail:
    """A lab jail plus the varied failure lines the generator writes for it.

    ``templates`` are ``str.format`` strings over the fields of
    :func:`line_fields`; every one of them is a failure for the jail's filter.
    ``weight`` is the jail's share of the attack traffic.
    """

    lab: LabJail
    templates: tuple[str, ...]
    weight: float

    @property
    def name(self) -> str:
        return self.lab.name

    @property
    def maxretry(self) -> int:
        return int(self.lab.options["maxretry"])


# sshd via syslog: "Nov 25 07:55:36 demo sshd[1234]: ...".
_SSHD = "{now:%b %d %H:%M:%S} demo sshd[{pid}]: "
# nginx error log, basic-auth failures: "2025/11/25 07:55:36 [error] 812#812: *5678 ...".
_NGINX = "{now:%Y/%m/%d %H:%M:%S} [error] 812#812: *{n} "
_NGINX_TAIL = (
    ', client: {ip}, server: demo.example.com, request: "{method} {path} HTTP/1.1", '
    'host: "demo.example.com"'
)
# postfix smtpd SASL failures via syslog (Debian's [postfix-sasl] jail uses mode=auth).
_POSTFIX = "{now:%b %d %H:%M:%S} demo postfix/{service}[{pid}]: warning: {rdns}[{ip}]: "

DEMO_JAILS: tuple[DemoJail, ...] = (
    DemoJail(
        LabJail(
            "sshd",
            filter="sshd",
            line=_SSHD.replace("{pid}", "{n}") + "Failed password for root from {ip} port 22 ssh2",
            options={
                "maxretry": "4",
                "findtime": "10m",
                "bantime": "10m",
                # Repeat offenders get longer bans: 10 m, 20 m, 40 m, ... up to a week.
                "bantime.increment": "true",
                "bantime.factor": "2",
                "bantime.maxtime": "1w",
            },
        ),
        templates=(
            _SSHD + "Failed password for invalid user {user} from {ip} port {port} ssh2",
            _SSHD + "Failed password for root from {ip} port {port} ssh2",
            _SSHD + "Invalid user {user} from {ip} port {port}",
            _SSHD + "error: maximum authentication attempts exceeded for root from {ip} "
            "port {port} ssh2 [preauth]",
        ),
        weight=0.6,
    ),
    DemoJail(
        LabJail(
            "nginx-http-auth",
            filter="nginx-http-auth",
            line=_NGINX + 'user "admin": password mismatch'
            ', client: {ip}, server: demo.example.com, request: "GET /admin/ HTTP/1.1", '
            'host: "demo.example.com"',
            options={"maxretry": "5", "findtime": "5m", "bantime": "30m"},
        ),
        templates=(
            _NGINX + 'user "{user}": password mismatch' + _NGINX_TAIL,
            _NGINX + 'user "{user}" was not found in "/etc/nginx/.htpasswd"' + _NGINX_TAIL,
        ),
        weight=0.25,
    ),
    DemoJail(
        LabJail(
            "postfix-sasl",
            filter="postfix[mode=auth]",
            line="{now:%b %d %H:%M:%S} demo postfix/smtpd[{n}]: warning: unknown[{ip}]: "
            "SASL LOGIN authentication failed: UGFzc3dvcmQ6",
            options={"maxretry": "3", "findtime": "1h", "bantime": "1h"},
        ),
        templates=(
            _POSTFIX + "SASL LOGIN authentication failed: UGFzc3dvcmQ6",
            _POSTFIX + "SASL LOGIN authentication failed: UGFzc3dvcmQ6, sasl_username={mailbox}",
            _POSTFIX + "SASL PLAIN authentication failed: authentication failure",
        ),
        weight=0.15,
    ),
)

SSH_USERS = (
    "admin", "ubuntu", "test", "oracle", "postgres", "git", "pi", "deploy",
    "user", "ftpuser", "guest", "support", "hadoop", "minecraft", "steam",
)  # fmt: skip
WEB_USERS = ("admin", "administrator", "root", "user", "test", "manager", "webmaster")
WEB_PATHS = ("/admin/", "/wp-login.php", "/login", "/private/", "/phpmyadmin/", "/grafana/")
MAILBOXES = ("info@example.com", "admin@example.com", "sales@example.com", "test@example.com")
SMTP_SERVICES = ("smtpd", "submission/smtpd", "smtps/smtpd")


def line_fields(rng: random.Random, ip: str, n: int) -> dict[str, object]:
    """The values a line template may use; ``rdns`` is how postfix names the client."""
    return {
        "now": datetime.now(),
        "ip": ip,
        "n": n,
        "pid": rng.randint(1000, 65000),
        "port": rng.randint(32768, 60999),
        "user": rng.choice(SSH_USERS),
        "path": rng.choice(WEB_PATHS),
        "method": rng.choice(("GET", "GET", "POST")),
        "mailbox": rng.choice(MAILBOXES),
        "service": rng.choice(SMTP_SERVICES),
        "rdns": "unknown",
    }


def render_line(jail: DemoJail, rng: random.Random, ip: str, n: int) -> str:
    fields = line_fields(rng, ip, n)
    if jail.name == "nginx-http-auth":
        fields["user"] = rng.choice(WEB_USERS)
    return rng.choice(jail.templates).format(**fields)


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


# -- the lab around it ------------------------------------------------------------


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


def answers(lab: Fail2banLab) -> bool:
    """Whether a fail2ban-server answers on the lab's socket."""
    try:
        return lab.client(timeout=2.0).ping()
    except Fail2banError:
        return False


def read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def cmdline(pid: int) -> str:
    """The command line of a process; empty if it is gone or a zombie."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def demo_alive(pid: int | None) -> bool:
    """Whether ``pid`` is a live demo (not ourselves, not a reused pid)."""
    return pid is not None and pid != os.getpid() and "bangui.demo" in cmdline(pid)


def owner_file(lab: Fail2banLab) -> Path:
    """Holds the pid of the demo that runs this lab."""
    return lab.base / "demo.pid"


def env_file(lab: Fail2banLab) -> Path:
    """``KEY=value`` lines for BanGUI, written once the server is ready (scripts/demo waits)."""
    return lab.base / "lab.env"


def stop_orphan(lab: Fail2banLab) -> None:
    """Stop a fail2ban-server left on this base by a demo that died (kill -9)."""
    pid = read_pid(lab.run_dir / "pid")
    if pid is None or "fail2ban-server" not in cmdline(pid) or lab.socket_path not in cmdline(pid):
        raise SystemExit(
            f"error: a fail2ban-server answers on {lab.socket_path} but is not ours; stop it first"
        )
    print(f"stopping the fail2ban-server (pid {pid}) left behind by an earlier demo", flush=True)
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    while cmdline(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if cmdline(pid):
        os.kill(pid, signal.SIGKILL)


MAX_LOG_BYTES = 20 * 1024 * 1024


def trim_logs(lab: Fail2banLab, jails: Sequence[DemoJail]) -> None:
    """Empty jail logs an earlier long demo left big (before the server reads them)."""
    for jail in jails:
        path = lab.log_path(jail.name)
        if path.exists() and path.stat().st_size > MAX_LOG_BYTES:
            path.write_text("")


def announce(lab: Fail2banLab, extra: dict[str, str] | None = None) -> None:
    """Print where the lab is and leave the same as ``lab.env`` for scripts."""
    env = "".join(f"{key}={value}\n" for key, value in {**lab.env(), **(extra or {})}.items())
    print(
        f"fail2ban-server is running (pid {lab.proc.pid if lab.proc else '?'})\n"
        f"  socket:     {lab.socket_path}\n"
        f"  config dir: {lab.conf_dir}\n"
        f"  jail logs:  {lab.log_dir}\n"
        f"  server log: {lab.server_log}\n" + env,
        end="",
        flush=True,
    )
    tmp = env_file(lab).with_suffix(".tmp")
    tmp.write_text(env)
    tmp.replace(env_file(lab))


def start_lab(lab: Fail2banLab, jails: Sequence[DemoJail]) -> None:
    """Take the base over (stale socket, orphaned server) and start fail2ban-server.

    Refuses if another live demo owns the base.
    """
    owner = read_pid(owner_file(lab))
    if demo_alive(owner):
        raise SystemExit(f"error: another demo (pid {owner}) is running on {lab.base}")
    env_file(lab).unlink(missing_ok=True)
    if answers(lab):
        stop_orphan(lab)
    owner_file(lab).write_text(f"{os.getpid()}\n")
    trim_logs(lab, jails)
    # Fail2banLab passes -x: fail2ban-server removes a stale socket file itself.
    lab.start()


def release_lab(lab: Fail2banLab, *, remove: bool) -> None:
    """Stop our fail2ban-server (only if this process started it); remove a temporary base."""
    if read_pid(owner_file(lab)) == os.getpid():
        lab.stop()
        env_file(lab).unlink(missing_ok=True)
        owner_file(lab).unlink(missing_ok=True)
    if remove:
        lab.cleanup()


def demo_running(lab: Fail2banLab) -> bool:
    """Whether another live demo owns this lab and its server answers."""
    return demo_alive(read_pid(owner_file(lab))) and answers(lab)


def wait_counted(
    lab: Fail2banLab, jails: Sequence[DemoJail], target: int, stop: threading.Event
) -> bool:
    """Wait (up to 30 s) until fail2ban has counted ``target`` failures in all."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not stop.is_set():
        if total_failed(lab, jails) >= target:
            return True
        stop.wait(0.2)
    return False


# -- entry point ------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bangui.demo",
        description="Run a private fail2ban-server with three demo jails and feed it attacks.",
    )
    parser.add_argument(
        "--base",
        metavar="DIR",
        help="keep the lab (config, socket, DB, logs) in DIR and reuse it on the next run "
        "(DIR/run/s must stay under 100 bytes); default: a temporary dir, removed on exit",
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=2.0,
        help="mean failure lines per second across all jails (default: 2)",
    )
    parser.add_argument(
        "--once",
        type=int,
        metavar="N",
        help="append N failures and exit; if no demo runs on --base, start fail2ban, "
        "wait until it has counted them, print the counters and stop it",
    )
    parser.add_argument("--seed", type=int, default=2024, help="seed of the attacker pool")
    parser.add_argument(
        "--history-days",
        type=int,
        default=0,
        metavar="N",
        help="first write expired bans of the last N days into the lab's fail2ban DB, "
        "so the dashboard has weeks to show (default: 0, none)",
    )
    args = parser.parse_args(argv)
    if args.rate <= 0:
        parser.error("--rate must be positive")
    if args.once is not None and args.once < 1:
        parser.error("--once needs a positive count")
    if not 0 <= args.history_days <= 400:
        parser.error("--history-days must be from 0 to 400")
    return args


def make_lab(base: str | None) -> tuple[Fail2banLab, bool]:
    """The lab on ``base`` (or a fresh temporary dir), and whether to remove it at the end."""
    temporary = base is None
    path = base or tempfile.mkdtemp(prefix="bangui-demo-")
    try:
        return Fail2banLab([j.lab for j in DEMO_JAILS], base=path), temporary
    except ValueError as exc:  # socket path too long
        raise SystemExit(f"error: {exc}; choose a shorter --base") from None


def install_signal_handlers(stop: threading.Event) -> None:
    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, handler)


def run_once(lab: Fail2banLab, gen: AttackGenerator, count: int, stop: threading.Event) -> int:
    """``--once``: start fail2ban, append, wait until all failures are counted."""
    start_lab(lab, DEMO_JAILS)
    before = total_failed(lab, DEMO_JAILS)
    gen.emit(count)
    counted = wait_counted(lab, DEMO_JAILS, before + count, stop)
    print(status_line(lab, DEMO_JAILS))
    if not counted:
        print(f"error: fail2ban did not count all {count} failures", file=sys.stderr)
        return 1
    return 0


def run_forever(
    lab: Fail2banLab, gen: AttackGenerator, stop: threading.Event, history_days: int = 0
) -> int:
    from bangui.demo_blocklist import serve_blocklist
    from bangui.demo_history import seed_history

    start_lab(lab, DEMO_JAILS)
    if history_days:
        pool = gen.heavy + gen.crowd
        added = seed_history(lab.db_path, DEMO_JAILS, pool, days=history_days, seed=gen.seed)
        print(f"wrote {added:,} expired bans of the last {history_days} days", flush=True)
    _server, list_url = serve_blocklist(gen.seed)
    announce(lab, {"BANGUI_DEMO_BLOCKLIST_URL": list_url})
    print(f"attacking at about {gen.rate:g} failures/s; Ctrl-C stops", flush=True)
    try:
        gen.run(stop)
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print("stopping fail2ban-server", flush=True)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    stop = threading.Event()
    install_signal_handlers(stop)
    lab, temporary = make_lab(args.base)
    gen = AttackGenerator(lab, DEMO_JAILS, build_pool(args.seed), rate=args.rate, seed=args.seed)
    if args.once is not None and demo_running(lab):
        # Feed the running demo's lab; its own process owns the server.
        gen.emit(args.once)
        print(f"appended {args.once} failures to the running demo in {lab.base}")
        return 0
    try:
        if args.once is not None:
            return run_once(lab, gen, args.once, stop)
        return run_forever(lab, gen, stop, args.history_days)
    except (RuntimeError, TimeoutError, FileNotFoundError, Fail2banError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        release_lab(lab, remove=temporary)


if __name__ == "__main__":
    sys.exit(main())
