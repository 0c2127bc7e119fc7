"""The demo's parts against a real fail2ban: its attack lines, its past bans, its blocklist."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import requests

from bangui.demo.attacks import build_pool
from bangui.demo.blocklist import demo_list, serve_blocklist
from bangui.demo.history import past_bans, seed_history
from bangui.demo.jails import DEMO_JAILS
from bangui.demo.lab import Fail2banLab
from blocklists.parse import filter_entries, parse_list

REPO = Path(__file__).resolve().parents[2]


def test_every_attack_line_is_a_failure_for_debians_filters() -> None:
    """``--once`` waits until fail2ban has counted every line it wrote."""
    base = tempfile.mkdtemp(prefix="f2b-demo-")
    result = subprocess.run(
        [sys.executable, "-m", "bangui.demo", "--base", base, "--once", "40"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "sshd" in result.stdout and "postfix-sasl" in result.stdout


def test_past_bans_are_expired_and_shaped_like_the_jails() -> None:
    now = datetime(2026, 11, 30, 12, 0)
    rows = list(past_bans(DEMO_JAILS, build_pool(1), days=14, now=now, seed=1))
    assert 14 * 100 < len(rows) < 14 * 400
    assert {r[0] for r in rows} == {j.name for j in DEMO_JAILS}
    stamps = [r[2] for r in rows]
    assert min(stamps) >= (now - timedelta(days=14, hours=1)).timestamp()
    # Every ban is over before "now", so fail2ban restores none of them.
    assert max(r[2] + r[3] for r in rows) < now.timestamp()
    # An address is never banned again in a jail while its ban there runs.
    until: dict[tuple[str, str], int] = {}
    for jail, ip, stamp, bantime, _count, _data in sorted(rows, key=lambda r: r[2]):
        assert until.get((jail, ip), 0) < stamp
        until[(jail, ip)] = stamp + bantime


@pytest.mark.django_db
def test_the_past_bans_reach_the_archive_through_the_history_sync() -> None:
    from jails.history.services import history_sync
    from jails.models import BanRecord

    lab = Fail2banLab([j.lab for j in DEMO_JAILS])
    try:
        lab.start()
        added = seed_history(lab.db_path, DEMO_JAILS, build_pool(2), days=3, seed=2)
        assert added > 0
        assert lab.client().banned() == {j.name: [] for j in DEMO_JAILS}
        result = history_sync(db_path=lab.db_path, backfill_days=4)
        assert result.ok, result.error
        assert BanRecord.objects.count() == added
        assert set(BanRecord.objects.values_list("origin", flat=True)) == {"detected"}
        record = BanRecord.objects.filter(jail="sshd").first()
        assert record is not None and "sshd[" in record.matches
    finally:
        lab.cleanup()


def test_the_demo_list_shows_every_counter_of_a_preview() -> None:
    parsed = parse_list(demo_list(7, hour=0).decode())
    assert parsed.invalid == 1  # "not-an-address"
    assert "45.148.10.0/24" in parsed.entries
    assert any(":" in e for e in parsed.entries)
    kept, dropped = filter_entries(parsed.entries, ignore=[], own=[])
    assert dropped == {"private/reserved": 1}  # 10.0.0.7
    assert len(kept) == 602


def test_the_demo_list_changes_a_little_every_hour() -> None:
    a = set(demo_list(7, hour=0).decode().split())
    b = set(demo_list(7, hour=1).decode().split())
    assert 0 < len(a - b) <= 20


def test_the_demo_serves_its_list_on_loopback() -> None:
    server, url = serve_blocklist(7)
    try:
        assert url.startswith("http://127.0.0.1:")
        response = requests.get(url, timeout=5)
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("text/plain")
        assert requests.get(url.replace("blocklist.txt", "x"), timeout=5).status_code == 404
    finally:
        server.shutdown()
        time.sleep(0.05)
