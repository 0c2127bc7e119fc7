"""fail2ban's database read by the broker: the jail page, the IP lookup and the history
archive get the same answers as a root process reading the file, and the broker refuses
every argument it does not expect (a path above all: it reads the DB fail2ban names)."""

from __future__ import annotations

import sqlite3
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from django.core.exceptions import ValidationError

from bangui.broker.client import BrokerClient
from bangui.broker.server import BrokerServer, Policy, Settings, serve
from bangui.demo.lab import Fail2banLab
from jails.history.services import history_sync
from jails.live.bans_page import DB, jail_bans_page
from jails.live.selectors import PER_PAGE, ip_lookup
from jails.models import BanRecord


@pytest.fixture
def broker(f2b: Fail2banLab) -> Iterator[BrokerServer]:
    run = Path(tempfile.mkdtemp(prefix="bgd-", dir="/tmp"))
    server = serve(
        str(run / "b.sock"), Settings(f2b.socket_path, str(f2b.conf_dir)), Policy(), None
    )
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def via(broker: BrokerServer) -> Iterator[BrokerClient]:
    client = BrokerClient(broker.path, persistent=True)
    yield client
    client.close()


def _wait_db(lab: Fail2banLab, jail: str, count: int) -> None:
    deadline = time.monotonic() + 30
    while True:
        conn = sqlite3.connect(f"file:{quote(lab.db_path)}?mode=ro", uri=True, timeout=2)
        try:
            n = conn.execute("SELECT count(*) FROM bips WHERE jail = ?", (jail,)).fetchone()[0]
        finally:
            conn.close()
        if n == count:
            return
        assert time.monotonic() < deadline, f"fail2ban's DB never held {count} bans"
        time.sleep(0.02)


def _ban(lab: Fail2banLab, count: int) -> list[str]:
    ips = [f"10.9.{i // 250}.{i % 250 + 1}" for i in range(count)]
    lab.client().ban("beta", ips)
    _wait_db(lab, "beta", count)
    return ips


def test_the_jail_page_reads_fail2bans_database_through_the_broker(f2b, via, db):
    ips = _ban(f2b, PER_PAGE + 7)
    # What an unprivileged web process knows: the DB's name, which it cannot open.
    page = jail_bans_page(client=via, jail="beta", db_path=f2b.db_path)
    direct = jail_bans_page(client=f2b.client(), jail="beta", db_path=f2b.db_path)
    assert page.source == direct.source == DB
    assert [r.ip for r in page.rows] == [r.ip for r in direct.rows] == ips[::-1][:PER_PAGE]
    assert [(r.start, r.end, r.bancount) for r in page.rows] == [
        (r.start, r.end, r.bancount) for r in direct.rows
    ]
    older = jail_bans_page(
        client=via, jail="beta", db_path=f2b.db_path, page=2, before=page.pager.older or ""
    )
    assert [r.ip for r in older.rows] == ips[::-1][PER_PAGE:]
    found = ip_lookup(client=via, ip=ips[0], db_path=f2b.db_path)
    assert [(b.jail, b.ban.start is not None) for b in found] == [("beta", True)]


def test_the_history_archive_is_filled_through_the_broker(f2b, via, db):
    ips = _ban(f2b, 30)
    result = history_sync(client=via)
    assert result.ok, result.error
    assert set(BanRecord.objects.filter(jail="beta").values_list("ip", flat=True)) == set(ips)


@pytest.mark.parametrize(
    ("op", "args"),
    [
        ("db_schema", {"path": "/etc/shadow"}),
        ("db_ban_times", {"jail": "beta", "ips": ["1.2.3.4"], "db": "/tmp/x.sqlite3"}),
        ("db_ban_times", {"jail": "../beta", "ips": ["1.2.3.4"]}),
        ("db_ban_times", {"jail": "beta", "ips": ["1.2.3.4'; DROP TABLE bans; --"]}),
        ("db_ban_times", {"jail": "beta", "ips": ["1.2.3.4"] * 1001}),
        ("db_bans_chunk", {"jail": "beta", "after_time": 0, "after_rowid": 0, "limit": 10**6}),
        ("db_bans_chunk", {"jail": "beta", "after_time": "0", "after_rowid": 0, "limit": 5}),
        ("db_bans_of_ip", {"ip": "not-an-ip"}),
        (
            "db_current_bans",
            {
                "scope": {"jail": "beta", "now": 1, "max_bantime": 60, "q": "' OR 1=1"},
                "limit": 10,
                "before": "",
                "after": "",
                "offset": 0,
            },
        ),
        (
            "db_current_bans",
            {
                "scope": {"jail": "beta", "now": 1, "max_bantime": 60, "q": ""},
                "limit": 5000,
                "before": "",
                "after": "",
                "offset": 0,
            },
        ),
        (
            "db_current_bans",
            {
                "scope": {"jail": "beta", "now": 1, "max_bantime": 60, "q": ""},
                "limit": 10,
                "before": "bans:1:1; ATTACH",
                "after": "",
                "offset": 0,
            },
        ),
    ],
)
def test_it_refuses_database_reads_it_does_not_expect(via, op, args):
    with pytest.raises(ValidationError):
        via.call(op, **args)


def test_without_a_database_file_the_read_is_a_database_error(f2b, via, monkeypatch):
    from bangui.broker import ops_db

    monkeypatch.setattr(ops_db, "_db_path", lambda ctx: "/nonexistent/fail2ban.sqlite3")
    with pytest.raises(sqlite3.OperationalError):
        via.call("db_schema")


HOSTILE = ["-1", "'; DROP TABLE bans; --", "\x00", "bans:１:1", "<script>", "x" * 64, "9" * 70,
           "bans:-1:1", "bips:0:0", "../../etc/passwd", "1e9", " ", "%", "dead::beef"]  # fmt: skip


@pytest.mark.parametrize("through_broker", [True, False], ids=["broker", "direct"])
def test_hostile_page_parameters_give_a_page_not_an_error(
    admin_client, f2b, broker, settings, through_broker
):
    ips = _ban(f2b, PER_PAGE + 3)
    if through_broker:
        settings.BANGUI_BROKER_SOCKET = broker.path
    for key in ("q", "before", "after", "page"):
        for value in HOSTILE:
            response = admin_client.get("/jails/beta/", {key: value, "page": "2"})
            assert response.status_code == 200, (key, value)
    body = admin_client.get("/jails/beta/", {"q": "-1"}).content.decode()
    assert f"0 of {len(ips)} banned addresses match" in body
