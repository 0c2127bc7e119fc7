"""``manage.py sync_history``: progress, result, errors and exit status."""

from __future__ import annotations

import io
import json
import sqlite3
import time
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from jails.management.commands.sync_history import Command
from jails.models import BanRecord, HistorySyncState
from jails.tests.history.test_history_sync import wait_in_f2b_db

F2B_SCHEMA = """
CREATE TABLE fail2banDb(version INTEGER);
CREATE TABLE jails(name TEXT NOT NULL UNIQUE, enabled INTEGER NOT NULL DEFAULT 1);
CREATE TABLE bans(jail TEXT NOT NULL, ip TEXT, timeofban INTEGER NOT NULL, bantime INTEGER NOT NULL,
  bancount INTEGER NOT NULL default 1, data JSON, FOREIGN KEY(jail) REFERENCES jails(name));
CREATE INDEX bans_jail_timeofban_ip ON bans(jail, timeofban);
CREATE INDEX bans_jail_ip ON bans(jail, ip);
CREATE INDEX bans_ip ON bans(ip);
INSERT INTO fail2banDb(version) VALUES (4);
"""


def make_f2b_db(path: Path, bans: list[tuple[str, str, int]]) -> str:
    """A fail2ban (schema 4) database holding ``(jail, ip, seconds ago)`` bans."""
    conn = sqlite3.connect(path)
    conn.executescript(F2B_SCHEMA)
    now = int(time.time())
    for jail in sorted({b[0] for b in bans}):
        conn.execute("INSERT INTO jails(name) VALUES (?)", (jail,))
    for jail, ip, ago in bans:
        data = json.dumps({"matches": [f"failed login from {ip}"], "failures": 1}).encode()
        conn.execute("INSERT INTO bans VALUES (?, ?, ?, 600, 1, ?)", (jail, ip, now - ago, data))
    conn.commit()
    conn.close()
    return str(path)


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command("sync_history", *args, stdout=out)
    return out.getvalue()


def test_it_copies_the_bans_and_prints_progress_and_result(db, tmp_path):
    path = make_f2b_db(
        tmp_path / "f2b.sqlite3",
        [
            ("sshd", "203.0.113.1", 3600),
            ("sshd", "203.0.113.2", 7200),
            ("nginx", "2001:db8::1", 60),
        ],
    )
    out = _run("--db", path)
    lines = out.splitlines()
    assert lines[0] == f"Syncing the ban history from {path}…"
    assert lines[1].startswith("Added 3 of 3 bans read; longest read of fail2ban's database ")
    assert lines[1].endswith(" ms.")
    assert BanRecord.objects.count() == 3
    assert HistorySyncState.objects.get(pk=1).last_ok_at is not None
    assert _run("--db", path).splitlines()[1].startswith("Added 0 of ")


def test_backfill_days_limits_the_first_sync(db, tmp_path):
    path = make_f2b_db(
        tmp_path / "f2b.sqlite3",
        [("sshd", "203.0.113.1", 2 * 86400), ("sshd", "203.0.113.2", 10 * 86400)],
    )
    assert "Added 1 of 1 bans read" in _run("--db", path, "--backfill-days", "5")
    assert list(BanRecord.objects.values_list("ip", flat=True)) == ["203.0.113.1"]


def test_it_asks_the_running_fail2ban_for_its_database(configured, f2b):
    f2b.client().ban("alpha", ["203.0.113.41"])
    wait_in_f2b_db(f2b, "203.0.113.41")
    out = _run()
    assert out.startswith("Syncing the ban history from the database fail2ban names (dbfile)…")
    assert "Added 1 of 1 bans read" in out
    assert BanRecord.objects.get(ip="203.0.113.41").jail == "alpha"


def test_a_failure_is_an_error(db, tmp_path):
    with pytest.raises(CommandError) as exc:
        _run("--db", str(tmp_path / "missing.sqlite3"))
    assert str(exc.value).startswith("History sync failed after adding 0 bans: cannot read ")
    assert HistorySyncState.objects.get(pk=1).last_error


def test_a_failure_exits_with_status_1(db, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        Command().run_from_argv(
            ["manage.py", "sync_history", "--db", str(tmp_path / "missing.sqlite3")]
        )
    assert exc.value.code == 1
    assert "History sync failed" in capsys.readouterr().err


def test_it_fails_when_fail2ban_is_down_and_no_database_is_known(configured, f2b):
    f2b.stop()
    with pytest.raises(CommandError, match="fail2ban has no database"):
        _run()


def test_a_database_of_another_schema_is_refused(db, tmp_path):
    path = tmp_path / "other.sqlite3"
    conn = sqlite3.connect(path)
    conn.executescript(
        "CREATE TABLE fail2banDb(version INTEGER); INSERT INTO fail2banDb VALUES (2);"
    )
    conn.close()
    with pytest.raises(CommandError, match="schema version 2; BanGUI reads 4"):
        _run("--db", str(path))


@pytest.mark.parametrize(
    ("days", "message"),
    [("-3", "The number of days cannot be negative."), ("x", "“x” is not a whole number of days.")],
)
def test_bad_backfill_days_are_refused(db, days, message):
    with pytest.raises(CommandError, match=message):
        _run("--backfill-days", days)
    assert not BanRecord.objects.exists()
