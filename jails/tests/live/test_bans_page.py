"""A jail's ban table read from fail2ban's own database, against the real fail2ban.

The page takes its rows from fail2ban's SQLite DB (an index walk per page) and
falls back to fail2ban's banned list whenever the DB does not hold what
fail2ban holds: writes not made yet, no DB, an unreadable one.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from bangui.demo.lab import Fail2banLab
from bangui.fail2ban.db import BANS, BIPS, BanScope, query_plans
from jails.live.bans_page import DB, FAIL2BAN, SMALL_JAIL, jail_bans_page
from jails.live.selectors import PER_PAGE


def _db_rows(lab: Fail2banLab, jail: str) -> int:
    conn = sqlite3.connect(f"file:{quote(lab.db_path)}?mode=ro", uri=True, timeout=2)
    try:
        return int(conn.execute("SELECT count(*) FROM bips WHERE jail = ?", (jail,)).fetchone()[0])
    finally:
        conn.close()


def _wait_db(lab: Fail2banLab, jail: str, count: int, timeout: float = 30.0) -> None:
    """fail2ban writes bans to its DB from a thread of its own, after it answered."""
    deadline = time.monotonic() + timeout
    while _db_rows(lab, jail) != count:
        assert time.monotonic() < deadline, f"fail2ban's DB never held {count} bans in {jail}"
        time.sleep(0.02)


def _snapshot(lab: Fail2banLab, target: Path) -> str:
    """A copy of fail2ban's DB as it is now: a DB that has not seen what comes next."""
    source = sqlite3.connect(f"file:{quote(lab.db_path)}?mode=ro", uri=True, timeout=2)
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)
    finally:
        source.close()
        copy.close()
    return str(target)


def _ips(body: str) -> list[str]:
    return re.findall(r'<td class="mono"><a [^>]*>([^<]+)</a></td>', body)


def _older_link(body: str) -> str:
    match = re.search(r'<a href="\?([^"]+)"[^>]*>Older →</a>', body)
    assert match, "no link to older bans"
    return match[1].replace("&amp;", "&")


def _newer_link(body: str) -> str:
    match = re.search(r'<a href="\?([^"]*)"[^>]*>← Newer</a>', body)
    assert match, "no link to newer bans"
    return match[1].replace("&amp;", "&")


def _block(prefix: str, count: int) -> list[str]:
    return [f"{prefix}.{i // 250}.{i % 250 + 1}" for i in range(count)]


def test_the_table_is_read_from_fail2bans_database_newest_first(admin_client, f2b):
    ips = _block("10.2", PER_PAGE + 10)
    f2b.client().ban("beta", ips)
    _wait_db(f2b, "beta", len(ips))
    response = admin_client.get("/jails/beta/")
    bans = response.context["bans"]
    assert bans.source == DB
    assert bans.total == len(ips)
    assert [r.ip for r in bans.rows] == list(reversed(ips))[:PER_PAGE]
    row = bans.rows[0]
    assert row.start is not None and row.end is not None and row.bancount == 1
    assert (row.end - row.start).total_seconds() == 3600  # beta's bantime
    assert f"{len(ips)} banned addresses" in response.content.decode()


def test_pages_follow_links_and_search_filters_in_the_database(admin_client, f2b):
    ips = _block("10.3", PER_PAGE * 2 + 5)
    f2b.client().ban("alpha", ips)
    _wait_db(f2b, "alpha", len(ips))
    newest = list(reversed(ips))
    body = admin_client.get("/jails/alpha/").content.decode()
    assert _ips(body) == newest[:PER_PAGE] and "Page 1 of 3" in body
    older = _older_link(body)
    assert "before=bans%3A" in older  # a keyset, not an offset
    page2 = admin_client.get(f"/jails/alpha/?{older}", HTTP_HX_REQUEST="true")
    assert page2.context["bans"].source == DB
    body2 = page2.content.decode()
    assert _ips(body2) == newest[PER_PAGE : PER_PAGE * 2] and "Page 2 of 3" in body2
    body3 = admin_client.get(f"/jails/alpha/?{_older_link(body2)}").content.decode()
    assert _ips(body3) == newest[PER_PAGE * 2 :] and "Older →" not in body3
    back = admin_client.get(f"/jails/alpha/?{_newer_link(body3)}").content.decode()
    assert _ips(back) == newest[PER_PAGE : PER_PAGE * 2]
    assert _ips(admin_client.get("/jails/alpha/?page=3").content.decode()) == newest[PER_PAGE * 2 :]
    found = admin_client.get("/jails/alpha/?q=10.3.0.1")
    assert found.context["bans"].source == DB
    expected = [ip for ip in newest if "10.3.0.1" in ip]
    assert _ips(found.content.decode()) == expected
    assert f"{len(expected)} of {len(ips)} banned addresses match" in found.content.decode()


def test_a_garbled_or_stale_page_link_starts_at_the_page_number(admin_client, f2b):
    ips = _block("10.4", PER_PAGE + 5)
    f2b.client().ban("alpha", ips)
    _wait_db(f2b, "alpha", len(ips))
    newest = list(reversed(ips))
    for link in ("page=2&before=nonsense", "page=2&before=bips:1:2", "page=2&after=x:1"):
        body = admin_client.get(f"/jails/alpha/?{link}").content.decode()
        assert _ips(body) == newest[PER_PAGE:], link


def test_a_ban_fail2ban_has_not_written_yet_is_shown(f2b, tmp_path):
    client = f2b.client()
    client.ban("alpha", ["192.0.2.1"])
    _wait_db(f2b, "alpha", 1)
    behind = _snapshot(f2b, tmp_path / "behind.sqlite3")
    client.ban("alpha", ["192.0.2.2"])
    # The copy stands for fail2ban's DB before its thread wrote the second ban.
    page = jail_bans_page(client=client, jail="alpha", db_path=behind)
    assert [r.ip for r in page.rows] == ["192.0.2.2", "192.0.2.1"]
    assert page.source == FAIL2BAN and page.total == 2


def test_a_ban_made_after_the_database_was_checked_is_shown(f2b, tmp_path):
    client = f2b.client()
    client.ban("alpha", ["192.0.2.1"])
    _wait_db(f2b, "alpha", 1)
    behind = _snapshot(f2b, tmp_path / "behind.sqlite3")
    first = jail_bans_page(client=client, jail="alpha", db_path=behind)
    assert first.source == DB  # the DB held fail2ban's one ban: it is trusted from now on
    client.ban("alpha", ["192.0.2.2"])
    page = jail_bans_page(client=client, jail="alpha", db_path=behind)
    assert [r.ip for r in page.rows] == ["192.0.2.2", "192.0.2.1"]
    _wait_db(f2b, "alpha", 2)
    page = jail_bans_page(client=client, jail="alpha", db_path=f2b.db_path)
    assert [r.ip for r in page.rows] == ["192.0.2.2", "192.0.2.1"] and page.source == DB


def test_a_ban_made_between_two_views_is_listed_first(admin_client, f2b):
    client = f2b.client()
    client.ban("alpha", ["192.0.2.60"])
    _wait_db(f2b, "alpha", 1)
    assert admin_client.get("/jails/alpha/").context["bans"].source == DB
    client.ban("alpha", ["192.0.2.61"])
    bans = admin_client.get("/jails/alpha/").context["bans"]  # fail2ban may not have written it
    assert [r.ip for r in bans.rows] == ["192.0.2.61", "192.0.2.60"]
    assert bans.source == DB  # the view waited the millisecond fail2ban's writer needs


def test_a_large_batch_is_listed_in_full_while_fail2ban_still_writes_it(admin_client, f2b):
    ips = _block("10.5", 5000)
    f2b.client().ban("alpha", ips)
    response = admin_client.get("/jails/alpha/")  # at once: the DB may still be behind
    bans = response.context["bans"]
    assert bans.total == len(ips)
    assert [r.ip for r in bans.rows] == list(reversed(ips))[:PER_PAGE]
    # fail2ban writes bans it no longer holds when "unban --all" (the next
    # test's reset) overtakes its writer; let it finish first.
    _wait_db(f2b, "alpha", len(ips))


def test_an_unbanned_address_disappears(admin_client, f2b):
    f2b.client().ban("alpha", ["192.0.2.10", "192.0.2.11", "192.0.2.12"])
    _wait_db(f2b, "alpha", 3)
    assert admin_client.get("/jails/alpha/").context["bans"].source == DB
    admin_client.post("/bans/unban/", {"entry": "192.0.2.11", "jail": "alpha"})
    response = admin_client.get("/jails/alpha/")
    bans = response.context["bans"]
    assert [r.ip for r in bans.rows] == ["192.0.2.12", "192.0.2.10"]
    assert bans.source == DB and bans.total == 2
    assert _ips(response.content.decode()) == ["192.0.2.12", "192.0.2.10"]


def test_permanent_bans_show_as_permanent(admin_client, f2b):
    client = f2b.client()
    ips = _block("10.6", SMALL_JAIL + 10)  # past the size where the DB is read for such jails
    client.set("alpha", "bantime", "-1")
    try:
        client.ban("alpha", ips)
        _wait_db(f2b, "alpha", len(ips))
        response = admin_client.get("/jails/alpha/")
    finally:
        client.set("alpha", "bantime", "600")
    bans = response.context["bans"]
    assert bans.source == DB and bans.total == len(ips)
    assert [r.ip for r in bans.rows] == list(reversed(ips))[:PER_PAGE]
    assert all(r.permanent and r.end is None for r in bans.rows)
    assert "permanent" in response.content.decode() and "∞" in response.content.decode()


def test_bans_restored_after_a_restart_are_listed_with_their_first_ban_time(
    config_admin_client, f2b_private
):
    lab = f2b_private
    lab.client().ban("alpha", ["192.0.2.20", "192.0.2.21"])
    _wait_db(lab, "alpha", 2)
    before = config_admin_client.get("/jails/alpha/").context["bans"]
    assert before.source == DB
    lab.stop()
    lab.start(keep_db=True)
    deadline = time.monotonic() + 20
    while lab.client().jail_status("alpha").currently_banned < 2:  # restored a moment later
        assert time.monotonic() < deadline, "fail2ban did not restore the bans"
        time.sleep(0.05)
    after = config_admin_client.get("/jails/alpha/").context["bans"]
    assert after.source == DB
    assert [(r.ip, r.start, r.end) for r in after.rows] == [
        (r.ip, r.start, r.end) for r in before.rows
    ]
    assert [r.ip for r in after.rows] == ["192.0.2.21", "192.0.2.20"]


def test_an_unreadable_database_falls_back_to_fail2bans_list(f2b, tmp_path):
    client = f2b.client()
    client.ban("alpha", ["192.0.2.30", "192.0.2.31"])
    garbage = tmp_path / "not-a-db.sqlite3"
    garbage.write_bytes(b"not a database" * 100)
    for path in (str(garbage), str(tmp_path / "missing" / "f2b.sqlite3")):
        page = jail_bans_page(client=client, jail="alpha", db_path=path)
        assert page.source == FAIL2BAN
        assert [r.ip for r in page.rows] == ["192.0.2.31", "192.0.2.30"]
        assert page.rows[0].end is not None  # times from banip --with-time
        assert any("could not be read" in note for note in page.notes)


def test_a_read_that_would_hold_fail2bans_database_too_long_is_cut_off(f2b, monkeypatch):
    from bangui.fail2ban import db

    ips = _block("10.7", 3000)
    f2b.client().ban("alpha", ips)
    _wait_db(f2b, "alpha", len(ips))
    monkeypatch.setattr(db, "READ_BUDGET_SECONDS", 0.0)  # every read is over budget
    scope = BanScope("alpha", int(time.time()), max_bantime=600, purge_age=86400)
    with pytest.raises(db.ReadTooLong):
        db.current_ban_count(f2b.db_path, scope, jail_size=len(ips))
    page = jail_bans_page(client=f2b.client(), jail="alpha", db_path=f2b.db_path)
    assert page.source == FAIL2BAN and page.total == len(ips)
    assert [r.ip for r in page.rows] == list(reversed(ips))[:PER_PAGE]
    assert page.notes == [
        "Reading fail2ban's database took over 1 s, so this list comes from fail2ban itself."
    ]


@pytest.fixture(scope="module")
def memory_lab() -> Iterator[Fail2banLab]:
    """A fail2ban-server with ``dbfile = :memory:``: nothing BanGUI can open."""
    lab = Fail2banLab()
    conf = lab.conf_dir / "fail2ban.conf"
    conf.write_text(conf.read_text().replace(f"dbfile = {lab.db_path}", "dbfile = :memory:"))
    try:
        lab.start()
        yield lab
    finally:
        lab.cleanup()


def test_a_fail2ban_without_a_database_file_is_listed_from_its_banned_list(client, db, memory_lab):
    from bangui.setup.services import setup_complete

    memory_lab.reset()
    user = setup_complete(
        password="correct-horse-battery-9",
        fail2ban_socket=memory_lab.socket_path,
        fail2ban_config_dir=str(memory_lab.conf_dir),
        timezone_name="UTC",
        session_minutes=480,
    )
    client.force_login(user)
    memory_lab.client().ban("beta", ["192.0.2.40", "192.0.2.41"])
    response = client.get("/jails/beta/")
    bans = response.context["bans"]
    assert bans.source == FAIL2BAN and bans.notes == []
    assert [r.ip for r in bans.rows] == ["192.0.2.41", "192.0.2.40"]
    assert bans.rows[0].end is not None


def test_every_query_walks_an_index_or_a_rowid_range_and_never_sorts(f2b):
    f2b.client().ban("alpha", ["192.0.2.50"])
    _wait_db(f2b, "alpha", 1)
    now = int(time.time())
    by_jail = BanScope("alpha", now, max_bantime=600, purge_age=86400)
    by_time = BanScope("alpha", now, max_bantime=-1, purge_age=86400)  # permanent bans
    assert (by_jail.table, by_time.table) == (BANS, BIPS)
    walk = [
        "SEARCH t USING INDEX bans_jail_timeofban_ip (jail=? AND timeofban>?)",
        "SEARCH p USING INDEX sqlite_autoindex_bips_1 (ip=? AND jail=?)",
    ]
    top_rowid = ["SCALAR SUBQUERY 1", "SEARCH bans"]  # max(rowid): the b-tree's last leaf
    assert query_plans(f2b.db_path, by_jail) == {
        "page": walk,
        "older page": [walk[0].replace(">?)", ">? AND timeofban<?)"), walk[1]],
        "newer page": walk,
        "written since": ["SEARCH bans USING INTEGER PRIMARY KEY (rowid>?)"],
        "count, pass": ["SCAN p", *top_rowid],  # on purpose: a straight pass over bips
        "count, walk": [*walk, *top_rowid],
    }
    plans = query_plans(f2b.db_path, by_time)
    assert plans["page"] == ["SEARCH t USING INDEX bips_timeofban (timeofban>?)"]
    assert plans["older page"] == [
        "SEARCH t USING INDEX bips_timeofban (timeofban>? AND timeofban<?)"
    ]
    assert plans["newer page"] == plans["page"]
