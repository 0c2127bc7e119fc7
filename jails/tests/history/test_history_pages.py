"""The history page and the per-IP page: rows, filters, sorting, paging, bad input, htmx."""

from __future__ import annotations

import ipaddress
import random
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bangui.models import AppSettings
from jails.history import selectors as history_selectors
from jails.history.forms import parse_ip_query
from jails.history.selectors import PER_PAGE, ban_record_list, ip_condition, ipv4_ranges
from jails.models import BanRecord, HistorySyncState
from jails.tests.history.test_history_sync import wait_banned

T0 = datetime(2025, 3, 10, 12, 0, 0, tzinfo=UTC)


def _rec(ip: str, *, at: datetime = T0, jail: str = "sshd", **fields: object) -> BanRecord:
    values: dict[str, object] = {"bantime": 600, "bancount": 1, "failures": 3, **fields}
    return BanRecord.objects.create(ip=ip, jail=jail, banned_at=at, **values)


def _get(client, query: str = "", **headers: str) -> str:  # type: ignore[no-untyped-def]
    response = client.get(f"/history/{query}", **headers)
    assert response.status_code == 200
    return str(response.content.decode())


def _table(body: str) -> str:
    return body[body.index('<div id="history-table">') :]


def _ips(body: str) -> list[str]:
    """The addresses listed in the history table, in order."""
    return re.findall(r'<td class="mono nowrap"><a href="/history/ip/[^"]+/">([^<]+)</a>', body)


@pytest.fixture
def mixed(db) -> dict[str, BanRecord]:  # type: ignore[no-untyped-def]
    """Five bans of different kinds, an hour apart, the IPv6 one the newest."""
    return {
        "old": _rec("203.0.113.7", at=T0, jail="sshd", country_code="DE"),
        "manual": _rec(
            "198.51.100.4",
            at=T0 + timedelta(hours=1),
            jail="manual",
            origin="manual",
            failures=0,
            bantime=-1,
            unbanned_at=T0 + timedelta(hours=2),
            unbanned_by="operator",
        ),
        "block": _rec(
            "192.0.2.0/24", at=T0 + timedelta(hours=2), jail="blocklist-import", origin="blocklist"
        ),
        "repeat": _rec("203.0.113.70", at=T0 + timedelta(hours=3), jail="nginx", bancount=4),
        "v6": _rec("2001:db8::5", at=T0 + timedelta(hours=4), jail="sshd", country_code="FR"),
    }


# -- rows ----------------------------------------------------------------------


def test_it_lists_every_column_newest_first(admin_client, mixed):
    body = _get(admin_client)
    assert _ips(body) == [
        "2001:db8::5",
        "203.0.113.70",
        "192.0.2.0/24",
        "198.51.100.4",
        "203.0.113.7",
    ]
    assert "5 bans archived." in body
    table = _table(body)
    assert 'datetime="2025-03-10T12:00:00+00:00">2025-03-10 12:00:00</time>' in table
    assert '<a href="/history/ip/192.0.2.0/24/">192.0.2.0/24</a>' in table
    assert '<span class="badge origin-manual badge-muted">Manual</span>' in table
    assert '<span class="badge origin-blocklist badge-muted">Blocklist</span>' in table
    assert '<span class="badge origin-detected">Detected</span>' in table
    # The country archived with the ban, named (these test addresses have no geo).
    assert "Germany</span>" in table and "France</span>" in table
    assert '<td class="num nowrap">10m</td>' in table
    assert '<td class="num nowrap">permanent</td>' in table
    assert 'operator, <time datetime="2025-03-10T14:00:00+00:00">2025-03-10 14:00</time>' in table
    assert 'aria-current="page">History</a>' in body


def test_it_shows_times_in_the_timezone_chosen_at_setup(admin_client, db):
    _rec("203.0.113.9", at=datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC))
    AppSettings.objects.filter(pk=1).update(timezone="Europe/Berlin")
    cache.clear()
    body = _get(admin_client)
    assert 'datetime="2025-01-02T04:04:05+01:00">2025-01-02 04:04:05</time>' in body


def test_repeat_offenders_are_highlighted(admin_client, mixed):
    for hours in (5, 6):
        _rec("203.0.113.7", at=T0 + timedelta(hours=hours), jail="nginx")
    table = _table(_get(admin_client))
    # Three archived bans of 203.0.113.7; fail2ban's own ban count of 4 for .70.
    in_history = 'title="3 bans of this address in the history, all jails">3 in history</a>'
    assert table.count(in_history) == 3
    assert "ban number 4 of this address in" in table
    assert table.count('<tr class="is-repeat">') == 4
    assert "198.51.100.4</a> <span" not in table  # banned once


def test_the_page_takes_a_fixed_number_of_queries(admin_client, django_assert_max_num_queries, db):
    for i in range(PER_PAGE + 5):
        _rec(f"10.0.{i // 250}.{i % 250}", at=T0 + timedelta(minutes=i))
    admin_client.get("/history/")  # session, settings and status are cached after this
    with django_assert_max_num_queries(12):
        body = _get(admin_client, "?page=2")
    assert len(_ips(body)) == 5


def test_entries_that_are_not_addresses_still_list(admin_client, db):
    # fail2ban's banip takes any string; the archive keeps what fail2ban stored.
    _rec("not-an-ip")
    _rec("a b/c?d")
    body = _get(admin_client)
    assert _ips(body) == ["a b/c?d", "not-an-ip"]
    assert 'href="/history/ip/a%20b/c%3Fd/"' in body
    assert admin_client.get("/history/ip/not-an-ip/").status_code == 404


def test_it_says_so_when_the_archive_is_empty(admin_client):
    body = _get(admin_client)
    assert "0 bans archived." in body
    assert "The archive is empty." in body
    assert '<nav class="pager"' not in body


def test_it_says_so_when_nothing_matches(admin_client, mixed):
    body = _get(admin_client, "?ip=10.")
    assert "0 bans match the filters." in body
    assert "No archived ban matches these filters." in body


# -- filters -------------------------------------------------------------------


def test_it_filters_by_time_range(admin_client, db):
    now = timezone.now()
    for n, days in enumerate([0.1, 3, 20, 200, 800], start=1):
        _rec(f"10.0.0.{n}", at=now - timedelta(days=days))
    assert _ips(_get(admin_client, "?period=24h")) == ["10.0.0.1"]
    assert len(_ips(_get(admin_client, "?period=7d"))) == 2
    assert len(_ips(_get(admin_client, "?period=30d"))) == 3
    assert len(_ips(_get(admin_client, "?period=365d"))) == 4
    assert len(_ips(_get(admin_client, "?period=all"))) == 5
    assert '<option value="7d" selected>Last 7 days</option>' in _get(admin_client, "?period=7d")


def test_it_filters_by_jail_origin_and_country(admin_client, mixed):
    body = _get(admin_client, "?jail=nginx")
    assert _ips(body) == ["203.0.113.70"] and "1 ban matches the filters." in body
    assert '<option value="blocklist-import">blocklist-import</option>' in body
    assert _ips(_get(admin_client, "?origin=manual")) == ["198.51.100.4"]
    assert _ips(_get(admin_client, "?origin=blocklist")) == ["192.0.2.0/24"]
    assert _ips(_get(admin_client, "?country=de")) == ["203.0.113.7"]
    assert _ips(_get(admin_client, "?jail=sshd&country=FR")) == ["2001:db8::5"]
    assert len(_ips(_get(admin_client, "?jail=all&origin=all&country="))) == 5


@pytest.mark.parametrize(
    ("ip", "found"),
    [
        ("203.0.113.", ["203.0.113.70", "203.0.113.7"]),  # a prefix
        ("203.0.113.7", ["203.0.113.7"]),  # an address is exact, not a prefix
        ("203.0.113.0/24", ["203.0.113.70", "203.0.113.7"]),
        ("203.0.113.64/26", ["203.0.113.70"]),
        ("192.0.2.0/24", ["192.0.2.0/24"]),  # a banned network, by its address
        ("192.0.0.0/8", ["192.0.2.0/24"]),
        ("2001:DB8:", ["2001:db8::5"]),  # case does not matter
        ("2001:db8::/32", ["2001:db8::5"]),
        ("2001:db9::/32", []),
        ("::/0", ["2001:db8::5"]),
        ("0.0.0.0/0", ["203.0.113.70", "192.0.2.0/24", "198.51.100.4", "203.0.113.7"]),
    ],
)
def test_it_filters_by_address_prefix_or_network(admin_client, mixed, ip, found):
    assert _ips(_get(admin_client, f"?ip={ip}")) == found


def test_a_prefix_is_a_range_on_the_ip_index_not_like(db):
    query = parse_ip_query("203.0.113.")
    assert query is not None
    with CaptureQueriesContext(connection) as ctx:
        list(ban_record_list(ip=query))
    sql = ctx.captured_queries[-1]["sql"]
    assert "LIKE" not in sql.upper()
    assert "\"ip\" >= '203.0.113.'" in sql and "\"ip\" < '203.0.113/'" in sql
    explain = "EXPLAIN QUERY PLAN" if connection.vendor == "sqlite" else "EXPLAIN"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # An empty table is read whole by default; ask whether the index can answer.
            cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(
            f"{explain} SELECT id FROM jails_banrecord WHERE ip >= %s AND ip < %s "
            "ORDER BY banned_at DESC",
            ["203.0.113.", "203.0.113/"],
        )
        assert "jails_ban_ip_time" in " ".join(str(row) for row in cursor.fetchall())


CIDRS = [
    "10.0.112.0/20",
    "10.0.0.0/17",
    "10.0.128.0/18",
    "10.0.12.0/22",
    "10.0.7.16/28",
    "10.0.7.0/25",
    "10.0.7.128/30",
    "10.0.0.0/16",
    "8.0.0.0/6",
]


def test_network_ranges_hold_exactly_the_addresses_of_the_network():
    rng = random.Random(5)
    texts = [
        str(ipaddress.IPv4Address(rng.getrandbits(32) & 0xFFFF00FF | 0x0A000000))
        for _ in range(300)
    ]
    texts += [
        f"10.0.{a}.{b}" for a in range(0, 256, 7) for b in (0, 1, 9, 10, 19, 99, 100, 199, 255)
    ]
    texts += ["10.0.112.0/20", "10.0.113.16/28", "10.0.12.0/24"]
    for cidr in CIDRS:
        net = ipaddress.ip_network(cidr)
        ranges = ipv4_ranges(net)  # type: ignore[arg-type]
        for text in texts:
            address = ipaddress.ip_network(text, strict=False).network_address
            in_ranges = any(lo <= text < hi for lo, hi in ranges)
            assert in_ranges == (address in net), (cidr, text)
    assert ipv4_ranges(ipaddress.IPv4Network("10.0.112.0/20")) == [
        ("10.0.112.", "10.0.119/"),
        ("10.0.120.", "10.0.127/"),
    ]


def test_network_filters_match_the_same_rows_as_python(db):
    rng = random.Random(7)
    ips = {f"10.{rng.choice([0, 1])}.{rng.randrange(256)}.{rng.randrange(256)}" for _ in range(400)}
    for i, ip in enumerate(sorted(ips)):
        _rec(ip, at=T0 + timedelta(seconds=i))
    for cidr in ["10.0.112.0/20", "10.1.0.0/17", "10.0.7.0/26", "10.0.0.0/15"]:
        net = ipaddress.ip_network(cidr)
        got = set(
            BanRecord.objects.filter(ip_condition(parse_ip_query(cidr))).values_list(
                "ip", flat=True
            )
        )  # type: ignore[arg-type]
        assert got == {ip for ip in ips if ipaddress.ip_address(ip) in net}, cidr


def test_filters_combine_and_the_form_keeps_them(admin_client, mixed):
    body = _get(admin_client, "?ip=203.0.113.&jail=nginx&country=&period=all")
    assert _ips(body) == ["203.0.113.70"]
    assert 'value="203.0.113."' in body
    assert '<option value="nginx" selected>nginx</option>' in body


# -- sorting -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sort", "order"),
    [
        ("time", ["203.0.113.7", "198.51.100.4", "192.0.2.0/24", "203.0.113.70", "2001:db8::5"]),
        ("ip", ["192.0.2.0/24", "198.51.100.4", "2001:db8::5", "203.0.113.7", "203.0.113.70"]),
        ("-ip", ["203.0.113.70", "203.0.113.7", "2001:db8::5", "198.51.100.4", "192.0.2.0/24"]),
        ("jail", ["192.0.2.0/24", "198.51.100.4", "203.0.113.70", "2001:db8::5", "203.0.113.7"]),
        (
            "-bancount",
            ["203.0.113.70", "2001:db8::5", "192.0.2.0/24", "198.51.100.4", "203.0.113.7"],
        ),
    ],
)
def test_it_sorts(admin_client, mixed, sort, order):
    assert _ips(_get(admin_client, f"?sort={sort}")) == order


def test_column_headings_sort_and_reverse(admin_client, mixed):
    body = _get(admin_client, "?jail=sshd&page=1")
    # Newest first by default: the time heading reverses it, the others start their own way.
    assert 'aria-sort="descending"><a href="/history/?jail=sshd&amp;sort=time"' in body
    assert 'href="/history/?jail=sshd&amp;sort=ip"' in body
    assert 'href="/history/?jail=sshd&amp;sort=-bancount"' in body
    body = _get(admin_client, "?sort=ip")
    assert 'aria-sort="ascending"><a href="/history/?sort=-ip"' in body
    assert "IP ↑</a>" in body
    assert (
        '<input type="hidden" name="sort" value="ip" id="id_sort" form="history-filters">' in body
    )


# -- paging --------------------------------------------------------------------


@pytest.fixture
def many(db) -> list[BanRecord]:  # type: ignore[no-untyped-def]
    return [
        _rec(f"10.0.{i // 200}.{i % 200}", at=T0 + timedelta(minutes=i))
        for i in range(PER_PAGE * 2 + 20)
    ]


def test_it_pages_a_hundred_bans_at_a_time(admin_client, many):
    first = _get(admin_client)
    assert len(_ips(first)) == PER_PAGE
    assert "220 bans archived, showing 1–100." in first
    assert "Page 1 of 3" in first
    assert _ips(first)[0] == "10.0.1.19"  # the newest
    assert 'href="/history/?page=2" hx-get="/history/?page=2" rel="next"' in first
    last = _get(admin_client, "?page=3")
    assert len(_ips(last)) == 20 and _ips(last)[-1] == "10.0.0.0"
    assert "showing 201–220" in last and 'rel="next"' not in last


def test_page_links_keep_the_filters_and_the_sort(admin_client, many):
    body = _get(admin_client, "?ip=10.0.&sort=ip&page=2")
    assert 'href="/history/?ip=10.0.&amp;sort=ip&amp;page=3"' in body
    assert 'hx-get="/history/?ip=10.0.&amp;sort=ip&amp;page=1"' in body


def test_counting_stops_at_the_cap(admin_client, many, monkeypatch):
    monkeypatch.setattr(history_selectors, "COUNT_CAP", 150)
    body = _get(admin_client, "?page=2")
    assert "150+ bans archived, showing 101–200." in body
    assert "Page 2 of 2+" in body and 'rel="next"' in body
    third = _get(admin_client, "?page=3")
    assert len(_ips(third)) == 20 and "Page 3 of 3+" in third


def test_very_deep_pages_are_refused_with_a_note(admin_client, many, monkeypatch):
    monkeypatch.setattr(history_selectors, "MAX_PAGE", 2)
    body = _get(admin_client, "?page=3")
    assert "Pages after 2 are not shown; showing page 2." in body
    assert len(_ips(body)) == PER_PAGE and 'rel="next"' not in body


@pytest.mark.parametrize(
    ("page", "note", "shown"),
    [
        ("abc", "There is no page “abc”; showing the first page.", 1),
        ("0", "There is no page 0; showing the first page.", 1),
        ("-4", "There is no page “-4”; showing the first page.", 1),
        ("99", "There is no page 99; showing the last page (3).", 3),
        ("9" * 40, f"There is no page {'9' * 19}…; showing the last page (3).", 3),
        ("٣", "There is no page “٣”; showing the first page.", 1),
    ],
)
def test_a_page_that_does_not_exist_shows_the_nearest_with_a_note(
    admin_client, many, page, note, shown
):
    body = _get(admin_client, f"?page={page}")
    assert note in body
    assert f"Page {shown} of 3" in body


# -- bad input -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("period=2w", "Time: Choose the last 24 hours, 7, 30 or 365 days, or all time."),
        ("jail=nope", "Jail: No ban in the history comes from a jail “nope”."),
        ("origin=alien", "Origin: Choose detected, manual, blocklist or any origin."),
        ("country=1A", "Country: “1A” is not a country BanGUI knows; use its name or its"),
        ("country=DEU", "Country: “DEU” is not a country BanGUI knows; use its name or its"),
        (
            "ip=zz.top",
            "IP or network: “zz.top” is not an address, a network such as 203.0.113.0/24",
        ),
        ("ip=203.0.113.7/24", "“203.0.113.7/24” has host bits set; did you mean 203.0.113.0/24?"),
        ("ip=203.0.113.0/33", "“203.0.113.0/33” is not a valid IP network."),
        ("ip=" + "1" * 65, "IP or network: An IP filter has at most 64 characters."),
        ("ip=1%00", "IP or network: Null characters are not allowed."),
        ("sort=evil", "Sort: The table cannot be sorted by “evil”."),
    ],
)
def test_bad_filters_are_reported(admin_client, mixed, query, message):
    body = _get(admin_client, f"?{query}")
    assert message in body
    assert "This filter is not applied." in body
    assert len(_ips(body)) == 5


def test_the_valid_filters_still_apply_beside_a_bad_one(admin_client, mixed):
    body = _get(admin_client, "?country=1A&jail=nginx&ip=zz")
    assert _ips(body) == ["203.0.113.70"]
    assert body.count("This filter is not applied.") == 2


def test_markup_in_bad_input_is_escaped(admin_client, mixed):
    body = _get(admin_client, "?jail=<b>x</b>&ip=<script>")
    assert "<b>x</b>" not in body and "<script>" not in body
    assert "“&lt;b&gt;x&lt;/b&gt;”" in body


def test_an_ipv6_network_too_broad_to_list_is_reported(admin_client, db, monkeypatch):
    monkeypatch.setattr(history_selectors, "IPV6_CANDIDATES_MAX", 2)
    for i in range(3):
        _rec(f"2001:db8::{i + 1}", at=T0 + timedelta(minutes=i))
    body = _get(admin_client, "?ip=2001:db8::/32&jail=sshd")
    assert "More than 2 archived addresses start like 2001:db8::/32" in body
    assert len(_ips(body)) == 3
    monkeypatch.setattr(history_selectors, "IPV6_CANDIDATES_MAX", 10)
    assert len(_ips(_get(admin_client, "?ip=2001:db8::/126"))) == 3


def test_a_post_is_refused(admin_client):
    assert admin_client.post("/history/").status_code == 405


# -- htmx ----------------------------------------------------------------------


def test_an_htmx_request_gets_only_the_table(admin_client, mixed):
    response = admin_client.get("/history/?jail=nginx&sort=ip", HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="history-table">')
    assert "<html" not in body and 'id="history-filters"' not in body
    assert _ips(body) == ["203.0.113.70"]
    # The form's hidden sort field is swapped with the table.
    assert (
        '<input type="hidden" name="sort" value="ip" id="id_sort" form="history-filters">' in body
    )
    assert "HX-Request" in response["Vary"]


def test_an_htmx_history_restore_gets_the_whole_page(admin_client, mixed):
    body = _get(
        admin_client, "?jail=nginx", HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true"
    )
    assert "<html" in body and 'id="history-filters"' in body


def test_the_full_page_has_a_filter_form_that_swaps_the_table(admin_client):
    body = _get(admin_client)
    form = re.search(r'<form id="history-filters"[^>]*>', body)
    assert form is not None
    assert 'method="get"' in form[0] and 'hx-get="/history/"' in form[0]
    assert 'hx-target="#history-table"' in form[0] and 'hx-push-url="true"' in form[0]
    assert " style=" not in body and "hx-on" not in body and "<script>" not in body


def test_export_links_carry_the_filters(admin_client, mixed):
    body = _get(admin_client, "?jail=nginx&page=1")
    assert 'href="/history/export/?jail=nginx&amp;format=csv"' in body
    assert 'href="/history/export/?jail=nginx&amp;format=json"' in body


# -- sync state and fail2ban's purge age ----------------------------------------------


def test_it_says_when_the_archive_was_never_synced(admin_client):
    assert "The archive has not been synced yet" in _get(admin_client)


def test_it_shows_the_sync_state(admin_client):
    HistorySyncState.objects.create(
        pk=1,
        high_water=T0,
        last_run_at=T0 + timedelta(minutes=5),
        last_ok_at=T0 + timedelta(minutes=1),
        last_error="cannot read fail2ban's database /x: unable to open database file",
    )
    body = _get(admin_client)
    assert "Last sync <time" in body and "2025-03-10 12:01:00" in body
    assert "archived up to" in body and "2025-03-10 12:00:00" in body
    assert "failed: cannot read fail2ban&#x27;s database /x: unable to open" in body


def test_no_purge_age_warning_with_fail2bans_default(admin_client):
    # The lab keeps bans a day; the sync runs every minute.
    assert "fail2ban forgets bans" not in _get(admin_client)


def test_it_warns_when_fail2ban_purges_sooner_than_two_sync_intervals(admin_client, settings):
    settings.BANGUI_HISTORY_SYNC_MINUTES = 24 * 60
    body = _get(admin_client)
    assert "fail2ban forgets bans after 1d" in body
    assert "Configuration › Server" in body
    assert "/fail2ban.local</code>" in body
    assert "With a sync every 1440 minutes, a single missed run is enough." in body
    assert "<code>BANGUI_HISTORY_SYNC_MINUTES</code> is 1440." in body


def test_it_warns_when_fail2ban_purges_within_a_day(admin_client, f2b, monkeypatch):
    monkeypatch.setattr(
        type(f2b.client()), "get_server", lambda self, name: 3600 if name == "dbpurgeage" else None
    )
    body = _get(admin_client)
    assert "fail2ban forgets bans after 1h" in body
    assert "a single missed run" not in body  # the sync runs every minute


def test_the_page_works_while_fail2ban_is_down(admin_client, f2b, mixed, settings):
    settings.BANGUI_HISTORY_SYNC_MINUTES = 24 * 60
    f2b.stop()
    body = _get(admin_client)
    assert len(_ips(body)) == 5
    assert "fail2ban forgets bans" not in body


# -- access --------------------------------------------------------------------


def test_it_needs_a_login(client, configured):
    response = client.get("/history/")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/history/"
    assert client.get("/history/ip/203.0.113.7/").status_code == 302


# -- the per-IP page ------------------------------------------------------------


@pytest.fixture
def offender(db) -> list[BanRecord]:  # type: ignore[no-untyped-def]
    return [
        _rec(
            "203.0.113.7",
            at=T0,
            jail="sshd",
            failures=5,
            matches="Mar 10 12:00:01 host sshd[1]: Failed password for root from 203.0.113.7\n"
            "Mar 10 12:00:02 host sshd[2]: Failed password for <b>admin</b> from 203.0.113.7",
            country_code="NL",
        ),
        _rec("203.0.113.7", at=T0 + timedelta(days=1), jail="nginx", failures=2, bancount=2),
        _rec(
            "203.0.113.7",
            at=T0 + timedelta(days=2),
            jail="sshd",
            failures=0,
            origin="manual",
            bantime=-1,
            bancount=3,
            unbanned_at=T0 + timedelta(days=2, hours=1),
            unbanned_by="admin",
        ),
        _rec("203.0.113.8", at=T0, jail="sshd"),
    ]


def _ip_page(client, ip: str) -> str:  # type: ignore[no-untyped-def]
    response = client.get(f"/history/ip/{ip}/")
    assert response.status_code == 200
    return str(response.content.decode())


def test_the_ip_page_lists_every_ban_newest_first_with_totals(admin_client, offender):
    body = _ip_page(admin_client, "203.0.113.7")
    assert "banned 3 times</span>" in body
    cards = re.findall(r'card-label">([^<]+)</span><span class="card-value[^"]*">([^<]+)<', body)
    assert dict(cards) == {"Bans archived": "3", "Failures": "7", "Jails": "2", "Country": "NL"}
    timeline = body[body.index('id="timeline-h"') :]
    times = re.findall(r'<td class="nowrap"><time datetime="([^"]+)"', timeline)
    assert times == [
        "2025-03-12T12:00:00+00:00",
        "2025-03-11T12:00:00+00:00",
        "2025-03-10T12:00:00+00:00",
    ]
    assert "203.0.113.8" not in body
    assert "admin, <time" in body and ">permanent<" in body


def test_the_ip_page_shows_matched_lines_folded(admin_client, offender):
    body = _ip_page(admin_client, "203.0.113.7")
    assert body.count("<details>") == 1
    assert "2 matched log lines</summary>" in body
    assert "Failed password for &lt;b&gt;admin&lt;/b&gt; from 203.0.113.7</li>" in body


def test_the_ip_page_offers_ban_again_per_jail(admin_client, offender):
    body = _ip_page(admin_client, "203.0.113.7")
    assert 'href="/bans/new/?ip=203.0.113.7&amp;jail=sshd">Ban again…</a>' in body
    assert 'href="/bans/new/?ip=203.0.113.7&amp;jail=nginx">Ban again…</a>' in body
    assert 'href="/history/?ip=203.0.113.7">In the history table</a>' in body


def test_the_ip_page_shows_where_it_is_banned_now_with_unban(admin_client, f2b, offender):
    f2b.client().ban("alpha", ["203.0.113.7"])
    wait_banned(f2b, "alpha", "203.0.113.7")
    body = _ip_page(admin_client, "203.0.113.7")
    assert "Banned now in 1 jail</h2>" in body
    form = body[body.index('action="/bans/unban/"') :][:600]
    assert 'name="entry" value="203.0.113.7"' in form and 'name="jail" value="alpha"' in form
    assert 'name="next" value="/history/ip/203.0.113.7/"' in form
    response = admin_client.post(
        "/bans/unban/",
        {"entry": "203.0.113.7", "jail": "alpha", "next": "/history/ip/203.0.113.7/"},
    )
    assert response.status_code == 302 and response["Location"] == "/history/ip/203.0.113.7/"
    assert "Not banned now" in _ip_page(admin_client, "203.0.113.7")


def test_the_ip_page_works_while_fail2ban_is_down(admin_client, f2b, offender):
    f2b.stop()
    body = _ip_page(admin_client, "203.0.113.7")
    assert "Banned now: unknown" in body and "fail2ban is unreachable" in body
    assert "Bans archived" in body and "2 matched log lines" in body


def test_the_ip_page_of_a_network_entry(admin_client, f2b, mixed):
    body = _ip_page(admin_client, "192.0.2.0/24")
    assert 'IP <span class="mono">192.0.2.0/24</span>' in body
    assert "Not banned now" in body
    f2b.client().ban("alpha", ["192.0.2.0/24"])
    wait_banned(f2b, "alpha", "192.0.2.0/24")
    cache.clear()
    assert "Banned now in 1 jail</h2>" in _ip_page(admin_client, "192.0.2.0/24")


def test_the_ip_page_of_an_address_never_banned(admin_client, f2b):
    body = _ip_page(admin_client, "198.51.100.200")
    assert "The archive holds no ban of 198.51.100.200." in body
    assert 'href="/bans/new/?ip=198.51.100.200">Ban again…</a>' in body


def test_the_ip_page_normalises_the_address(admin_client, f2b, mixed):
    assert "2001:db8::5</span>" in _ip_page(admin_client, "2001:DB8:0::5")


@pytest.mark.parametrize(
    "ip", ["not-an-ip", "203.0.113.7/24", "0.0.0.0/0", "1.2.3.4.5", "..%2F..%2Fetc", "%00"]
)
def test_the_ip_page_of_something_not_an_address_is_a_404(admin_client, ip):
    assert admin_client.get(f"/history/ip/{ip}/").status_code == 404


def test_the_ip_page_refuses_post(admin_client):
    assert admin_client.post("/history/ip/203.0.113.7/").status_code == 405


@pytest.mark.parametrize("typed", ["DE", "de", "Germany", "germany", "  Germany "])
def test_the_country_filter_takes_a_code_or_a_name(admin_client, mixed, typed):
    direct = _ips(_get(admin_client, "?country=DE"))
    assert direct == ["203.0.113.7"]
    assert _ips(_get(admin_client, f"?country={typed}")) == direct
