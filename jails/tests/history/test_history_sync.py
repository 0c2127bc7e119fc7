"""The history archive against a real fail2ban and its real database."""

from __future__ import annotations

import shutil
import sqlite3
import time

import pytest

from jails.history import services as history
from jails.models import BanRecord, HistorySyncState


def wait_in_f2b_db(lab, ip: str, timeout: float = 10) -> None:
    """fail2ban writes bans to its DB from a queue: wait until the row is there."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        conn = sqlite3.connect(f"file:{lab.db_path}?mode=ro", uri=True)
        try:
            if conn.execute("SELECT 1 FROM bans WHERE ip = ?", (ip,)).fetchone():
                return
        except sqlite3.OperationalError:
            pass
        finally:
            conn.close()
        time.sleep(0.05)
    raise AssertionError(f"{ip} never reached fail2ban's database")


def wait_banned(lab, jail: str, ip: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while ip not in lab.client().banned_ips(jail):
        assert time.monotonic() < deadline, f"{ip} was not banned in {jail}"
        time.sleep(0.05)


def test_bans_from_log_lines_are_archived_with_their_matches(configured, f2b):
    f2b.add_failures("sshd", "198.51.100.31", 3)
    wait_banned(f2b, "sshd", "198.51.100.31")
    wait_in_f2b_db(f2b, "198.51.100.31")
    result = history.history_sync(client=f2b.client())
    assert result.ok and result.added == 1
    record = BanRecord.objects.get(ip="198.51.100.31")
    assert record.jail == "sshd" and record.origin == "detected"
    assert record.failures == 3
    assert "Failed password for root from 198.51.100.31" in record.matches


def test_bans_from_the_ui_are_archived_as_manual(admin_client, f2b):
    admin_client.post("/bans/new/", {"ips": "203.0.113.31", "jail": "alpha"})
    wait_in_f2b_db(f2b, "203.0.113.31")
    history.history_sync(client=f2b.client())
    assert BanRecord.objects.get(ip="203.0.113.31").origin == "manual"


def test_an_unban_through_bangui_keeps_the_history(admin_client, f2b):
    f2b.client().ban("beta", ["203.0.113.32"])
    wait_in_f2b_db(f2b, "203.0.113.32")
    # No sync ran yet: the unban itself archives the rows fail2ban is about to delete.
    admin_client.post("/bans/unban/", {"entry": "203.0.113.32", "jail": "beta"})
    record = BanRecord.objects.get(ip="203.0.113.32")
    assert record.unbanned_at is not None and record.unbanned_by == "admin"
    conn = sqlite3.connect(f"file:{f2b.db_path}?mode=ro", uri=True)
    assert conn.execute("SELECT count(*) FROM bans WHERE ip='203.0.113.32'").fetchone()[0] == 0
    conn.close()
    history.history_sync(client=f2b.client())
    assert BanRecord.objects.filter(ip="203.0.113.32").count() == 1


def test_a_purge_in_fail2bans_db_does_not_remove_archived_rows(configured, f2b, tmp_path):
    f2b.client().ban("alpha", ["203.0.113.33"])
    wait_in_f2b_db(f2b, "203.0.113.33")
    history.history_sync(client=f2b.client())
    # A copy of fail2ban's DB with its bans purged, as dbpurgeage would do.
    copy = tmp_path / "purged.sqlite3"
    shutil.copy(f2b.db_path, copy)
    conn = sqlite3.connect(copy)
    conn.execute("DELETE FROM bans")
    conn.commit()
    conn.close()
    assert history.history_sync(db_path=str(copy)).ok
    assert BanRecord.objects.filter(ip="203.0.113.33").exists()


def test_a_sync_killed_half_way_and_run_again_has_no_duplicates_or_gaps(
    configured, f2b, monkeypatch
):
    ips = [f"10.9.0.{i}" for i in range(1, 61)]
    f2b.client().ban("alpha", ips)
    wait_in_f2b_db(f2b, ips[-1])
    monkeypatch.setattr(history, "CHUNK", 7)
    real_store = history._store
    calls = {"n": 0}

    def dying_store(records, memo=None):  # the process dies after three chunks
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt
        return real_store(records, memo)

    monkeypatch.setattr(history, "_store", dying_store)
    with pytest.raises(KeyboardInterrupt):
        history.history_sync(client=f2b.client())
    assert BanRecord.objects.count() == 21
    monkeypatch.setattr(history, "_store", real_store)
    assert history.history_sync(client=f2b.client()).ok
    assert sorted(BanRecord.objects.values_list("ip", flat=True)) == sorted(ips)
    assert history.history_sync(client=f2b.client()).added == 0


def test_it_reports_a_missing_database_and_keeps_the_archive(configured, f2b):
    f2b.client().ban("alpha", ["203.0.113.34"])
    wait_in_f2b_db(f2b, "203.0.113.34")
    history.history_sync(client=f2b.client())
    result = history.history_sync(db_path="/nonexistent/f2b.sqlite3")
    assert not result.ok and "cannot read fail2ban's database" in result.error
    assert BanRecord.objects.filter(ip="203.0.113.34").exists()
    assert "cannot read" in HistorySyncState.objects.get().last_error


def test_it_refuses_an_unknown_schema_version(configured, tmp_path):
    db = tmp_path / "f2b.sqlite3"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE fail2banDb(version INTEGER)")
    conn.execute("INSERT INTO fail2banDb VALUES (9)")
    conn.commit()
    conn.close()
    result = history.history_sync(db_path=str(db))
    assert not result.ok and "schema version 9" in result.error


def test_malformed_data_is_kept_without_its_details(configured, f2b, tmp_path):
    copy = tmp_path / "f2b.sqlite3"
    f2b.client().ban("alpha", ["203.0.113.35"])
    wait_in_f2b_db(f2b, "203.0.113.35")
    shutil.copy(f2b.db_path, copy)
    conn = sqlite3.connect(copy)
    conn.execute("UPDATE bans SET data = x'7b6e6f74206a736f6e' WHERE ip = '203.0.113.35'")
    conn.execute(
        "INSERT INTO bans VALUES ('alpha', '203.0.113.36', strftime('%s','now'), 600, 1, "
        '\'{"matches": [["a", "b"], "c"], "failures": 2}\')'
    )
    conn.commit()
    conn.close()
    assert history.history_sync(db_path=str(copy)).ok
    assert BanRecord.objects.get(ip="203.0.113.35").failures == 0
    assert BanRecord.objects.get(ip="203.0.113.36").matches == "ab\nc"


def test_the_purge_deletes_only_rows_past_retention(configured):
    from datetime import timedelta

    from django.utils import timezone

    now = timezone.now()
    for days in (1, 364, 366, 800):
        BanRecord.objects.create(
            ip=f"192.0.2.{days % 250}",
            jail="alpha",
            banned_at=now - timedelta(days=days),
            bantime=600,
        )
    assert history.history_purge(days=365, batch=1) == 2
    assert BanRecord.objects.count() == 2


def test_archived_bans_carry_their_country(configured, f2b):
    # 81.2.69.142 is in the GeoLite2 test data as GB (also in the 2018 GeoLite2-City).
    f2b.client().ban("alpha", ["81.2.69.142", "10.0.0.1"])
    wait_in_f2b_db(f2b, "10.0.0.1")
    wait_in_f2b_db(f2b, "81.2.69.142")
    history.history_sync(client=f2b.client())
    assert BanRecord.objects.get(ip="81.2.69.142").country_code == "GB"
    assert BanRecord.objects.get(ip="10.0.0.1").country_code == ""


def test_a_ban_through_bangui_queues_a_history_sync_at_once(admin_client, f2b):
    from django_q.models import OrmQ

    admin_client.post("/bans/new/", {"ips": "203.0.113.37", "jail": "alpha"})
    assert [task.func() for task in OrmQ.objects.all()] == ["jails.tasks.history_sync"]
