"""Reads of the jails area: the jail overview, one jail, its banned list, an IP lookup.

Overviews use fail2ban's ``short`` status (counts only); full IP lists are
fetched only for the one jail being looked at, and briefly cached. The page
of a jail's bans is built in ``bans_page.py``.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.core.cache import cache

from bangui.fail2ban import Fail2banClient, Fail2banError
from bangui.fail2ban.configreader import ConfiguredJail, configured_jails
from bangui.fail2ban.db import BanTime
from bangui.fail2ban.host import fail2ban_db
from jails.models import MANUAL_JAIL

BANLIST_CACHE_SECONDS = 5
RUNNING_JAILS_CACHE_SECONDS = 5
PER_PAGE = 50
# Below this many bans the exact --with-time list is cheap (about 30 ms at 5k).
WITH_TIME_LIMIT = 5000

# Runtime idle state is not readable over the socket in fail2ban 1.0.2; BanGUI
# remembers what it set itself until the next reload.
idle_state: dict[str, bool] = {}


@dataclass
class JailRow:
    name: str
    running: bool
    enabled_in_config: bool | None = None
    currently_failed: int | None = None
    currently_banned: int | None = None
    total_failed: int | None = None
    total_banned: int | None = None
    bantime: int | str | None = None
    findtime: int | str | None = None
    maxretry: int | str | None = None
    backend: str = ""
    idle: bool | None = None
    error: str = ""


@dataclass
class Overview:
    jails: list[JailRow]
    online: bool
    error: str = ""
    config_error: str = ""


SORT_KEYS = {
    "name": lambda r: r.name,
    "banned": lambda r: r.currently_banned or 0,
    "failed": lambda r: r.currently_failed or 0,
    "total_banned": lambda r: r.total_banned or 0,
    "total_failed": lambda r: r.total_failed or 0,
}


def jail_overview(
    *,
    client: Fail2banClient,
    config_dir: str,
    q: str = "",
    sort: str = "name",
    flavour: str = "short",
) -> Overview:
    """Running jails with counters and settings, then configured jails that are not running.

    ``flavour="basic"`` (every banned IP in each reply) exists only as the
    benchmark's naive baseline.
    """
    rows: dict[str, JailRow] = {}
    online, error, config_error = True, "", ""
    try:
        for name in client.jails():
            st = client.jail_status(name, flavour=flavour)
            rows[name] = JailRow(
                name=name,
                running=True,
                currently_failed=st.currently_failed,
                currently_banned=st.currently_banned,
                total_failed=st.total_failed,
                total_banned=st.total_banned,
                bantime=client.get(name, "bantime"),
                findtime=client.get(name, "findtime"),
                maxretry=client.get(name, "maxretry"),
                idle=idle_state.get(name),
            )
    except Fail2banError as exc:
        online, error = False, str(exc)
    configured: list[ConfiguredJail] = []
    try:
        configured = configured_jails(config_dir)
    except Fail2banError as exc:
        config_error = str(exc)
    for conf in configured:
        row = rows.get(conf.name)
        if row is None:
            rows[conf.name] = JailRow(
                name=conf.name,
                running=False,
                enabled_in_config=conf.enabled,
                bantime=conf.bantime,
                findtime=conf.findtime,
                maxretry=conf.maxretry,
                backend=conf.backend,
                error=conf.error,
            )
        else:
            row.enabled_in_config = conf.enabled
            row.backend = conf.backend
    result = list(rows.values())
    if q:
        needle = q.lower()
        result = [r for r in result if needle in r.name.lower()]
    key = sort.lstrip("-")
    result.sort(key=SORT_KEYS.get(key, SORT_KEYS["name"]), reverse=sort.startswith("-"))
    # Running jails first, whatever the sort: inactive ones are the long tail.
    result.sort(key=lambda r: not r.running)
    return Overview(jails=result, online=online, error=error, config_error=config_error)


@dataclass
class JailDetail:
    name: str
    status: Any
    settings: dict[str, Any]
    logpaths: list[str]
    failregex: list[str]
    ignoreregex: list[str]
    actions: list[str]
    ignoreip: list[str]
    ignoreself: bool
    increment: dict[str, Any] | None
    backend: str = ""
    idle: bool | None = None


_INCREMENT_KEYS = ("factor", "formula", "multipliers", "maxtime", "rndtime", "overalljails")


def jail_detail(*, client: Fail2banClient, jail: str, config_dir: str) -> JailDetail:
    """Everything about one running jail (raises Fail2banError if it is not running)."""
    status = client.jail_status(jail)
    increment = None
    if client.get(jail, "bantime.increment"):
        increment = {k: client.get(jail, f"bantime.{k}") for k in _INCREMENT_KEYS}
    backend = ""
    with contextlib.suppress(Fail2banError):
        backend = next((c.backend for c in configured_jails(config_dir) if c.name == jail), "")
    return JailDetail(
        name=jail,
        status=status,
        settings={
            "bantime": client.get(jail, "bantime"),
            "findtime": client.get(jail, "findtime"),
            "maxretry": client.get(jail, "maxretry"),
            "maxmatches": client.get(jail, "maxmatches"),
            "usedns": client.get(jail, "usedns"),
        },
        logpaths=[str(p) for p in client.get(jail, "logpath") or []],
        failregex=[str(r) for r in client.get(jail, "failregex") or []],
        ignoreregex=[str(r) for r in client.get(jail, "ignoreregex") or []],
        actions=[str(a) for a in client.get(jail, "actions") or []],
        ignoreip=[str(i) for i in client.get(jail, "ignoreip") or []],
        ignoreself=bool(client.get(jail, "ignoreself")),
        increment=increment,
        backend=backend,
        idle=idle_state.get(jail),
    )


@dataclass
class BanRow:
    ip: str
    start: datetime | None = None
    end: datetime | None = None
    permanent: bool = False
    bancount: int | None = None


def _jails_key(socket_path: str) -> str:
    return f"bangui:jails:{socket_path}"


def running_jails(client: Fail2banClient) -> list[str]:
    """The jails fail2ban runs (asked at most every few seconds; raises Fail2banError).

    Checked before any command that names a jail: fail2ban logs every command
    about a jail it does not have as an ERROR line.
    """
    key = _jails_key(client.socket_path)
    jails: list[str] | None = cache.get(key)
    if jails is None:
        jails = client.jails()
        cache.set(key, jails, RUNNING_JAILS_CACHE_SECONDS)
    return jails


def running_jails_invalidate(socket_path: str) -> None:
    cache.delete(_jails_key(socket_path))


def _banlist_key(jail: str) -> str:
    return f"bangui:banip:{jail}"


def banlist_invalidate(*jails: str) -> None:
    cache.delete_many([_banlist_key(j) for j in jails])


def banned_ips_cached(client: Fail2banClient, jail: str) -> list[str]:
    key = _banlist_key(jail)
    ips: list[str] | None = cache.get(key)
    if ips is None:
        ips = client.banned_ips(jail)
        cache.set(key, ips, BANLIST_CACHE_SECONDS)
    return ips


_WITH_TIME = re.compile(
    r"^(?P<ip>\S+)\s+(?P<start>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) \+ (?P<secs>-?\d+) = (?P<end>.+)$"
)


def _local_epoch(text: str) -> int:
    # fail2ban prints its own local time without a zone; BanGUI reads it as the
    # local time of this host, which is where fail2ban runs.
    return int(datetime.strptime(text, "%Y-%m-%d %H:%M:%S").timestamp())


def parse_with_time(lines: list[str]) -> dict[str, BanTime]:
    out: dict[str, BanTime] = {}
    for line in lines:
        m = _WITH_TIME.match(line)
        if m:
            out[m["ip"]] = BanTime(_local_epoch(m["start"]), int(m["secs"]), 0)
    return out


def ban_row(ip: str, bt: BanTime | None) -> BanRow:
    if bt is None:
        return BanRow(ip=ip)
    start = datetime.fromtimestamp(bt.timeofban, tz=UTC)
    permanent = bt.bantime < 0
    end = None if permanent else datetime.fromtimestamp(bt.timeofban + bt.bantime, tz=UTC)
    return BanRow(ip=ip, start=start, end=end, permanent=permanent, bancount=bt.bancount or None)


@dataclass
class IpBan:
    jail: str
    ban: BanRow


def ip_lookup(*, client: Fail2banClient, ip: str, db_path: str | None) -> list[IpBan]:
    """Where an IP is banned now, with since/until per jail."""
    jails = client.jails_banning([ip]).get(ip, [])
    found: list[IpBan] = []
    db = fail2ban_db(client, db_path)
    for jail in jails:
        bt: BanTime | None = None
        if db is not None:
            try:
                bt = db.ban_times(jail, [ip]).get(ip)
            except Exception:  # noqa: BLE001 - times are optional here
                bt = None
        if bt is None:
            bt = parse_with_time(client.banned_with_time(jail)).get(ip)
        found.append(IpBan(jail=jail, ban=ban_row(ip, bt)))
    return found


def ban_jails(client: Fail2banClient) -> list[str]:
    """The jails a manual ban can go to: BanGUI's manual jail first, then the running ones."""
    try:
        running = client.jails()
    except Fail2banError:
        running = []
    return [MANUAL_JAIL, *[j for j in running if j != MANUAL_JAIL]]
