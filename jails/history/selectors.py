"""Reads of the history archive: the filtered ban list, one page of it, one IP's bans.

``ip`` is text (fail2ban also bans networks), so IP filters are range scans on
the ``jails_ban_ip_time`` index: ``ip >= prefix AND ip < successor(prefix)``.
Text order is byte order here (SQLite's BINARY collation; on PostgreSQL the
column would need the "C" collation for the same ranges).
"""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Count, Max, Min, Q, QuerySet, Sum

from bangui.fail2ban import Fail2banClient
from bangui.fail2ban.configured import purge_age
from bangui.fail2ban.server_settings import purge_age_too_short
from bangui.models import DataVersion
from bangui.pagecache import ARCHIVE
from bangui.web import page_number
from jails.live.selectors import BanRow, IpBan, banned_ips_cached, ip_lookup
from jails.models import BanRecord, HistorySyncState

PER_PAGE = 100
# Counting stops here: an exact COUNT(*) over a million filtered rows is the
# slow part of a paged list, and "10,000+" says enough.
COUNT_CAP = 10_000
# OFFSET walks the rows it skips; beyond this page a narrower filter is faster.
MAX_PAGE = 1_000
# A ban count (fail2ban's bancount, or bans in the archive) from here on is a repeat offender.
REPEAT_BANS = 3
# The per-IP page lists this many bans; the history table has them all.
TIMELINE_MAX = 200
# An IPv6 network filter is resolved to the archived addresses inside it.
IPV6_CANDIDATES_MAX = 10_000

SORTS: dict[str, tuple[str, ...]] = {
    "-time": ("-banned_at", "-id"),
    "time": ("banned_at", "id"),
    "ip": ("ip", "-banned_at", "-id"),
    "-ip": ("-ip", "-banned_at", "-id"),
    "jail": ("jail", "-banned_at", "-id"),
    "-jail": ("-jail", "-banned_at", "-id"),
    "-bancount": ("-bancount", "-banned_at", "-id"),
    "bancount": ("bancount", "-banned_at", "-id"),
}
DEFAULT_SORT = "-time"


# -- the IP filter ---------------------------------------------------------------


@dataclass(frozen=True)
class IpQuery:
    """What the IP filter asks for: one ``address``, a ``network`` or a text ``prefix``."""

    kind: str  # "address", "network" or "prefix"
    value: str

    def __str__(self) -> str:
        return self.value


def successor(prefix: str) -> str:
    """The smallest text greater than every text starting with ``prefix``."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


# The 256 octet values in the order their decimal texts sort: 0, 1, 10, 100, 101, …
_OCTETS_BY_TEXT = sorted(range(256), key=str)


def ipv4_ranges(net: ipaddress.IPv4Network) -> list[tuple[str, str]]:
    """Half-open text ranges ``[lo, hi)`` holding exactly the addresses of ``net``.

    Networks stored as text ("203.0.113.0/24") fall in the range of their
    network address. A prefix on an octet boundary is one range; otherwise the
    octet that is cut is split into runs of values whose texts sort next to each
    other (203.0.112.0/20 gives 112-119 and 120-127, since "12." sorts between).
    An empty list means every IPv4 address.
    """
    octets = str(net.network_address).split(".")
    full, rest = divmod(net.prefixlen, 8)
    head = "".join(f"{o}." for o in octets[:full])
    if rest == 0:
        return [(head, successor(head))] if head else []
    last_octet = full == 3
    start = int(octets[full])
    wanted = range(start, start + (1 << (8 - rest)))
    runs: list[list[int]] = []
    current: list[int] | None = None
    for value in _OCTETS_BY_TEXT:
        if value in wanted:
            if current is None:
                current = [value, value]
                runs.append(current)
            else:
                current[1] = value
        else:
            current = None
    # A last octet ends the text, or is followed by "/len" ("/" sorts before "0");
    # any other octet is followed by ".".
    lo_end, hi_end = ("", "0") if last_octet else (".", "/")
    return [(f"{head}{a}{lo_end}", f"{head}{b}{hi_end}") for a, b in runs]


def _ipv6_head(net: ipaddress.IPv6Network) -> str:
    """A text prefix every address of ``net`` starts with (perhaps empty).

    Only leading groups that are fully fixed and not zero: "::" compression
    can swallow a zero group, never a non-zero one.
    """
    groups = net.network_address.exploded.split(":")[: net.prefixlen // 16]
    head = []
    for group in groups:
        if int(group, 16) == 0:
            break
        head.append(format(int(group, 16), "x"))
    return "".join(f"{g}:" for g in head)


def _entry_address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        if "/" in text:
            return ipaddress.ip_network(text, strict=False).network_address
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _ipv6_condition(net: ipaddress.IPv6Network) -> Q:
    """The archived IPv6 entries inside ``net``, found by a range scan and checked exactly."""
    head = _ipv6_head(net)
    if head:
        scan = BanRecord.objects.filter(ip__gte=head, ip__lt=successor(head))
    else:  # a network starting with a zero group, e.g. ::ffff:0:0/96
        scan = BanRecord.objects.filter(ip__contains=":")
    candidates = list(
        scan.order_by("ip").values_list("ip", flat=True).distinct()[: IPV6_CANDIDATES_MAX + 1]
    )
    if len(candidates) > IPV6_CANDIDATES_MAX:
        raise ValidationError(
            f"More than {IPV6_CANDIDATES_MAX:,} archived addresses start like {net}; "
            "filter by a narrower network.",
            code="too_broad",
        )
    inside = [c for c in candidates if (a := _entry_address(c)) is not None and a in net]
    return Q(ip__in=inside)


def ip_condition(query: IpQuery) -> Q:
    """The filter for an IP query (raises ValidationError when it cannot be narrowed)."""
    if query.kind == "address":
        return Q(ip=query.value)
    if query.kind == "prefix":
        return Q(ip__gte=query.value, ip__lt=successor(query.value))
    net = ipaddress.ip_network(query.value)
    if isinstance(net, ipaddress.IPv6Network):
        return _ipv6_condition(net)
    ranges = ipv4_ranges(net)
    if not ranges:  # 0.0.0.0/0
        return Q(ip__contains=".")
    condition = Q()
    for lo, hi in ranges:
        condition |= Q(ip__gte=lo, ip__lt=hi)
    return condition


# -- the list and its pages ------------------------------------------------------


def ban_record_list(
    *,
    since: datetime | None = None,
    jail: str | None = None,
    origin: str | None = None,
    country: str | None = None,
    ip: IpQuery | None = None,
    sort: str = DEFAULT_SORT,
) -> QuerySet[BanRecord]:
    """Archived bans matching every filter given, in the order of ``sort`` (a SORTS key).

    Raises ValidationError when an IPv6 network holds too many addresses to list.
    """
    records = BanRecord.objects.all()
    if since is not None:
        records = records.filter(banned_at__gte=since)
    if jail:
        records = records.filter(jail=jail)
    if origin:
        records = records.filter(origin=origin)
    if country:
        records = records.filter(country_code=country)
    if ip is not None:
        records = records.filter(ip_condition(ip))
    return records.order_by(*SORTS.get(sort, SORTS[DEFAULT_SORT]))


@dataclass(frozen=True)
class HistoryRow:
    """A record as listed, with how many bans the archive holds for its address."""

    record: BanRecord
    archived: int

    @property
    def repeat(self) -> bool:
        return self.archived >= REPEAT_BANS or self.record.bancount >= REPEAT_BANS


@dataclass
class HistoryPage:
    """One page of the list; ``total`` is exact unless ``total_capped`` (then "at least")."""

    records: list[BanRecord]
    number: int
    has_next: bool
    total: int
    total_capped: bool
    per_page: int = PER_PAGE
    note: str = ""
    rows: list[HistoryRow] = field(default_factory=list)

    @property
    def total_text(self) -> str:
        return f"{self.total:,}+" if self.total_capped else f"{self.total:,}"

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def previous_page_number(self) -> int:
        return self.number - 1

    @property
    def next_page_number(self) -> int:
        return self.number + 1

    @property
    def start_index(self) -> int:
        return (self.number - 1) * self.per_page + 1 if self.records else 0

    @property
    def end_index(self) -> int:
        return self.start_index + len(self.records) - 1 if self.records else 0

    @property
    def num_pages(self) -> int:
        """Pages known to exist (all of them unless the count was capped)."""
        return max(1, math.ceil(self.total / self.per_page), self.number)

    @property
    def page_range(self) -> list[int | str]:
        pages = Paginator(range(self.num_pages), 1)
        return list(pages.get_elided_page_range(self.number, on_each_side=2, on_ends=1))

    @property
    def multiple(self) -> bool:
        return self.has_next or self.number > 1


def _count(records: QuerySet[BanRecord]) -> tuple[int, bool]:
    """How many rows match, counting no further than COUNT_CAP."""
    found = records.order_by()[: COUNT_CAP + 1].count()
    return min(found, COUNT_CAP), found > COUNT_CAP


def _page_number(raw: str | None) -> tuple[int, str, str]:
    """The page asked for, a note if it cannot be shown, and the text asked (shortened)."""
    number, note = page_number(raw)
    shown = str(raw or "1")
    shown = shown if len(shown) <= 20 else shown[:19] + "…"
    if number > MAX_PAGE:
        note = (
            f"Pages after {MAX_PAGE:,} are not shown; showing page {MAX_PAGE:,}. "
            "Narrow the filters to reach older bans."
        )
        return MAX_PAGE, note, shown
    return number, note, shown


def history_page(records: QuerySet[BanRecord], raw_page: str | None) -> HistoryPage:
    """The requested page (100 rows), or the nearest one with a note when there is no such page.

    One query for the rows (one extra row says whether a next page exists), one
    capped count unless the first page already holds everything, and one
    grouped count of the archived bans of the addresses shown.
    """
    number, note, shown = _page_number(raw_page)
    rows = list(records[(number - 1) * PER_PAGE : number * PER_PAGE + 1])
    if number == 1 and len(rows) <= PER_PAGE:
        total, capped = len(rows), False
    else:
        total, capped = _count(records)
    if not rows and number > 1:
        last = max(1, min(math.ceil(total / PER_PAGE), MAX_PAGE))
        note = f"There is no page {shown}; showing the last page ({last})."
        number = last
        rows = list(records[(number - 1) * PER_PAGE : number * PER_PAGE + 1])
    page = HistoryPage(
        records=rows[:PER_PAGE],
        number=number,
        has_next=len(rows) > PER_PAGE and number < MAX_PAGE,
        total=total,
        total_capped=capped,
        note=note,
    )
    archived = archived_ban_counts([r.ip for r in page.records])
    page.rows = [HistoryRow(record=r, archived=archived.get(r.ip, 1)) for r in page.records]
    return page


def archived_ban_counts(ips: list[str]) -> dict[str, int]:
    """How many bans the archive holds for each address (one grouped query)."""
    if not ips:
        return {}
    rows = (
        BanRecord.objects.filter(ip__in=set(ips))
        .order_by()
        .values_list("ip")
        .annotate(n=Count("id"))
    )
    return {ip: n for ip, n in rows}


def archive_token() -> tuple[int, int]:
    """What every page over the archive depends on, in one short query.

    BanGUI's own version of the archive (bumped by each write: the sync, unban
    marks, the purge) and the newest row's id, which also catches rows written
    behind BanGUI's back (a restore, a raw insert). Read it *before* the data.
    """
    versions = connection.ops.quote_name(DataVersion._meta.db_table)
    table = connection.ops.quote_name(BanRecord._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT (SELECT value FROM {versions} WHERE name = %s), (SELECT MAX(id) FROM {table})",
            [ARCHIVE],
        )
        version, newest = cursor.fetchone()
    return int(version or 0), int(newest or 0)


def history_jails(token: tuple[int, int] | None = None) -> list[str]:
    """The jails that appear in the archive, by name.

    A loose index scan (one index seek per jail) instead of ``DISTINCT``,
    which would read every entry of the jail index. With the ``archive_token``
    a page read first, the answer is kept until the archive changes: one query
    less per page, and one GIL hand-off less per request under load (issue 16).
    """
    if token is not None:
        key = f"bangui:history-jails:{token[0]}:{token[1]}"
        found: list[str] | None = cache.get(key)
        if found is None:
            found = history_jails()
            cache.set(key, found, 300)
        return found
    table = connection.ops.quote_name(BanRecord._meta.db_table)
    sql = (
        f"WITH RECURSIVE j(name) AS (SELECT MIN(jail) FROM {table} "
        f"UNION ALL SELECT (SELECT MIN(jail) FROM {table} WHERE jail > j.name) "
        "FROM j WHERE j.name IS NOT NULL) SELECT name FROM j WHERE name IS NOT NULL"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return [str(row[0]) for row in cursor.fetchall()]


# -- sync state and fail2ban's purge age --------------------------------------------


@dataclass(frozen=True)
class PurgeAgeWarning:
    purge_age: int
    sync_minutes: int

    @property
    def interval_too_long(self) -> bool:
        """fail2ban purges within two sync intervals: one missed run loses bans."""
        return self.purge_age < 2 * self.sync_minutes * 60


def purge_age_warning(*, client: Fail2banClient, sync_minutes: int) -> PurgeAgeWarning | None:
    """A warning when fail2ban forgets bans sooner than a day or two sync intervals."""
    age = purge_age(client)
    if age is None or not purge_age_too_short(age, sync_minutes):
        return None
    return PurgeAgeWarning(purge_age=age, sync_minutes=sync_minutes)


def sync_state() -> HistorySyncState | None:
    return HistorySyncState.objects.filter(pk=1).first()


# -- one address ----------------------------------------------------------------


@dataclass(frozen=True)
class JailSummary:
    jail: str
    bans: int
    last: datetime


@dataclass
class IpHistory:
    ip: str
    records: list[BanRecord]
    bans: int
    failures: int
    first: datetime | None
    last: datetime | None
    jails: list[JailSummary]
    country_code: str

    @property
    def truncated(self) -> bool:
        return self.bans > len(self.records)

    @property
    def repeat(self) -> bool:
        return self.bans >= REPEAT_BANS


def ip_history(ip: str) -> IpHistory:
    """Every archived ban of one address (or network entry), newest first, with totals."""
    records = BanRecord.objects.filter(ip=ip)
    totals: dict[str, Any] = records.aggregate(
        bans=Count("id"), failures=Sum("failures"), first=Min("banned_at"), last=Max("banned_at")
    )
    jails = [
        JailSummary(jail=j, bans=n, last=last)
        for j, n, last in records.order_by()
        .values_list("jail")
        .annotate(n=Count("id"), last=Max("banned_at"))
        .order_by("-last")
        .values_list("jail", "n", "last")
    ]
    shown = list(records.order_by("-banned_at", "-id")[:TIMELINE_MAX])
    country = next((r.country_code for r in shown if r.country_code), "")
    return IpHistory(
        ip=ip,
        records=shown,
        bans=totals["bans"] or 0,
        failures=totals["failures"] or 0,
        first=totals["first"],
        last=totals["last"],
        jails=jails,
        country_code=country,
    )


def ip_banned_now(*, client: Fail2banClient, ip: str, db_path: str | None) -> list[IpBan]:
    """Where an address or network entry is banned right now (raises Fail2banError).

    fail2ban's ``banned`` command takes single addresses; a network entry is
    looked for in each jail's (briefly cached) list of banned entries.
    """
    if "/" not in ip:
        return ip_lookup(client=client, ip=ip, db_path=db_path)
    return [
        IpBan(jail=jail, ban=BanRow(ip=ip))
        for jail in client.jails()
        if ip in banned_ips_cached(client, jail)
    ]
