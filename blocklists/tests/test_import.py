"""Imports against a real fail2ban (the module's own) and a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import gzip
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.utils import timezone

from bangui.demo.lab import Fail2banLab
from blocklists import services
from blocklists.jail import BASE_JAIL
from blocklists.models import BlocklistSource, ImportRun
from blocklists.services import IN_EARLIER_SOURCE, import_run, import_runs, runs_queue, runs_reap
from blocklists.tests.httpserver import LocalServer, respond, sequence, sleep_then, stream, trickle
from jails.audit.services import Actor

# Public addresses: documentation ranges count as reserved and are never banned.
PUBLIC = [f"1.2.{n // 250}.{n % 250 + 1}" for n in range(2500)]


@pytest.fixture(autouse=True)
def _quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """The real retry loop, with waits short enough for a test run."""
    monkeypatch.setattr(
        services,
        "FETCH_OPTIONS",
        {
            "connect_timeout": 2.0,
            "read_timeout": 1.0,
            "deadline": 3.0,
            "retries": 2,
            "backoff": 0.05,
        },
    )


@pytest.fixture
def lab(config_admin_client, f2b_private: Fail2banLab) -> Iterator[Fail2banLab]:  # type: ignore[no-untyped-def]
    yield f2b_private


def _source(
    server: LocalServer, path: str, body: bytes | str, name: str = "test list"
) -> BlocklistSource:
    server.route(path, respond(body))
    return BlocklistSource.objects.create(name=name, url=server.url(path))


def _run(source: BlocklistSource, **kw: object) -> ImportRun:
    (run,) = runs_queue([source], actor=Actor.system("test"), trigger="manual", **kw)  # type: ignore[arg-type]
    return import_run(run)


def _banned(lab: Fail2banLab, jail: str = BASE_JAIL) -> set[str]:
    return set(lab.client().banned_ips(jail))


def test_it_creates_the_jail_and_bans_the_list(lab: Fail2banLab, http_server: LocalServer) -> None:
    body = "# a list\n" + "\n".join(PUBLIC[:300]) + "\n2a00:1450::5\n1.2.3.0/24 ; a network\n"
    run = _run(_source(http_server, "/l.txt", body))
    assert run.status == ImportRun.Status.OK, run.error
    assert run.jail == BASE_JAIL
    assert (lab.conf_dir / "jail.d" / "blocklist-import.conf").exists()
    assert (lab.conf_dir / "jail.d" / "blocklist-import.local").exists()
    assert run.newly_banned == 302 and run.already_banned == 0 and run.failed == 0
    assert {"2a00:1450::5", "1.2.3.0/24", PUBLIC[0]} <= _banned(lab)
    assert lab.cli("get", BASE_JAIL, "bantime").strip() == "86400"
    assert "created jail.d/blocklist-import.conf" in run.log
    # Countries are looked up by the history sync in the job cluster, not while the import runs.
    from django_q.models import OrmQ

    queued = [q.task["func"] for q in OrmQ.objects.all()]
    assert queued == ["jails.tasks.history_sync"]


def test_it_never_overwrites_an_operators_jail_files(
    lab: Fail2banLab, http_server: LocalServer
) -> None:
    local = lab.conf_dir / "jail.d" / "blocklist-import.local"
    local.write_text("[blocklist-import]\nenabled = true\nbantime = 3600\n")
    run = _run(_source(http_server, "/l.txt", "5.6.7.8\n"))
    assert run.status == ImportRun.Status.OK, run.error
    assert "bantime = 3600" in local.read_text()
    assert lab.cli("get", BASE_JAIL, "bantime").strip() == "3600"


def test_garbage_lines_are_counted_and_dangerous_entries_refused(
    lab: Fail2banLab, http_server: LocalServer
) -> None:
    body = "\n".join(
        ["1.2.3.4", "not an ip", "300.1.1.1", "0.0.0.0/0", "::/0", "10.0.0.1", "127.0.0.1",
         "192.0.2.7", "1.2.3.4", "2a00:1450::1", "<script>", "5.6.7.8 trailing fields here"]
    )  # fmt: skip
    run = _run(_source(http_server, "/g.txt", body))
    assert run.status == ImportRun.Status.OK
    assert (run.lines, run.invalid, run.duplicates) == (12, 3, 1)
    assert run.skipped["network too broad"] == 2
    # 127.0.0.1 is in fail2ban's default ignore list, which is checked first.
    assert run.skipped["private/reserved"] + run.skipped.get("ignore list", 0) == 3
    assert run.newly_banned == 3
    banned = _banned(lab)
    assert banned == {"1.2.3.4", "2a00:1450::1", "5.6.7.8"}


def test_the_admins_own_address_and_the_ignore_list_are_skipped(
    lab: Fail2banLab, http_server: LocalServer
) -> None:
    source = _source(http_server, "/o.txt", "1.2.3.4\n5.6.7.8\n9.9.9.9\n")
    _run(source)  # creates the jail
    lab.cli("set", BASE_JAIL, "addignoreip", "9.9.9.0/24")
    lab.cli("unban", "--all")
    (run,) = runs_queue(
        [source], actor=Actor(user=None, username="admin", client_ip="5.6.7.8"), trigger="manual"
    )
    run = import_run(run)
    assert run.skipped == {"own IP": 1, "ignore list": 1}
    assert _banned(lab) == {"1.2.3.4"}


BAD_SERVERS = {
    "404": (respond("nope", status=404), "404 Not Found"),
    "500": (respond("boom", status=500), "500 Internal Server Error"),
    "timeout": (sleep_then(2.5, respond("1.2.3.4\n")), "did not"),
    "trickle": (trickle(b"1.2.3.4\n" * 200, 0.05), "minute"),
    "html": (respond("<!DOCTYPE html><html>login</html>", content_type="text/html"), "HTML"),
    "binary": (
        respond(b"\x00\x01\x02\xff" * 100, content_type="application/octet-stream"),
        "binary",
    ),
}


@pytest.mark.parametrize("kind", sorted(BAD_SERVERS))
def test_a_bad_download_fails_clearly_and_keeps_earlier_bans(
    kind: str, lab: Fail2banLab, http_server: LocalServer
) -> None:
    good = _run(_source(http_server, "/good.txt", "1.2.3.4\n", name="good"))
    assert good.status == ImportRun.Status.OK
    lab.cli("set", "alpha", "banip", "5.6.7.8")
    handler, words = BAD_SERVERS[kind]
    http_server.route("/bad.txt", handler)
    run = _run(BlocklistSource.objects.create(name="bad", url=http_server.url("/bad.txt")))
    assert run.status == ImportRun.Status.FAILED
    assert run.error and run.finished_at is not None
    assert words.lower() in run.error.lower() or kind in ("timeout", "trickle"), run.error
    assert run.newly_banned == 0
    assert "1.2.3.4" in _banned(lab) and "5.6.7.8" in _banned(lab, "alpha")


def test_a_200_mb_list_is_refused_without_downloading_it(
    lab: Fail2banLab, http_server: LocalServer, settings
) -> None:  # type: ignore[no-untyped-def]
    settings.BANGUI_BLOCKLIST_MAX_MB = 1
    http_server.route(
        "/big.txt", stream(lambda: iter([b"1.2.3.4\n" * 1000] * 26_000), length=200 * 1024 * 1024)
    )
    run = _run(BlocklistSource.objects.create(name="big", url=http_server.url("/big.txt")))
    assert run.status == ImportRun.Status.FAILED
    assert "larger than the 1 MB limit" in run.error


def test_429_then_success_imports(lab: Fail2banLab, http_server: LocalServer) -> None:
    http_server.route("/r.txt", sequence(respond("slow down", status=429), respond("1.2.3.4\n")))
    run = _run(BlocklistSource.objects.create(name="r", url=http_server.url("/r.txt")))
    assert run.status == ImportRun.Status.OK and run.newly_banned == 1
    assert http_server.hits["/r.txt"] == 2


def test_a_gzip_encoded_list_imports(lab: Fail2banLab, http_server: LocalServer) -> None:
    body = gzip.compress("\n".join(PUBLIC[:50]).encode())
    http_server.route("/z.txt", respond(body, headers={"Content-Encoding": "gzip"}))
    run = _run(BlocklistSource.objects.create(name="z", url=http_server.url("/z.txt")))
    assert run.status == ImportRun.Status.OK and run.newly_banned == 50


def test_the_same_content_is_not_sent_again_while_its_bans_are_fresh(
    lab: Fail2banLab, http_server: LocalServer
) -> None:
    source = _source(http_server, "/s.txt", "\n".join(PUBLIC[:100]))
    first = _run(source)
    again = _run(source)
    assert again.status == ImportRun.Status.UNCHANGED
    assert again.newly_banned == again.already_banned == 0
    assert "nothing sent" in again.log
    # After half the ban time the same list is sent again: listed addresses stay banned.
    ImportRun.objects.filter(pk=first.pk).update(finished_at=timezone.now() - timedelta(hours=13))
    ImportRun.objects.filter(pk=again.pk).update(
        status=ImportRun.Status.OK, finished_at=timezone.now() - timedelta(hours=13)
    )
    refresh = _run(source)
    assert refresh.status == ImportRun.Status.OK
    assert (refresh.newly_banned, refresh.already_banned) == (0, 100)


def test_unbanned_addresses_are_banned_again_even_if_the_list_did_not_change(
    lab: Fail2banLab, http_server: LocalServer
) -> None:
    source = _source(http_server, "/u.txt", "1.2.3.4\n5.6.7.8\n")
    _run(source)
    lab.cli("set", BASE_JAIL, "unbanip", "1.2.3.4")
    run = _run(source)
    assert run.status == ImportRun.Status.OK and run.newly_banned == 1


class _Killed(BaseException):
    """Stands for the process being killed half-way (nothing below catches it)."""


def test_a_run_killed_half_way_and_run_again_ends_with_exactly_the_list(
    lab: Fail2banLab, http_server: LocalServer
) -> None:
    source = _source(http_server, "/k.txt", "\n".join(PUBLIC))

    def kill_after_first_batch(run: ImportRun) -> None:
        if run.phase == "ban" and run.done >= 1000:
            raise _Killed

    (run,) = runs_queue([source], actor=Actor.system("test"), trigger="manual")
    with pytest.raises(_Killed):
        import_run(run, progress=kill_after_first_batch)
    assert ImportRun.objects.get(pk=run.pk).status == ImportRun.Status.RUNNING
    assert runs_reap(now=timezone.now() + timedelta(minutes=5)) == 1
    assert ImportRun.objects.get(pk=run.pk).status == ImportRun.Status.INTERRUPTED

    again = _run(source)
    assert again.status == ImportRun.Status.OK
    assert again.already_banned >= 1000 and again.newly_banned + again.already_banned == len(PUBLIC)
    assert _banned(lab) == set(PUBLIC)
    # fail2ban writes its database from a queue, a moment after banning.
    db = sqlite3.connect(lab.db_path)
    query = "SELECT COUNT(*), COUNT(DISTINCT ip) FROM bans WHERE jail = ?"
    deadline = time.monotonic() + 15
    while (rows := db.execute(query, (BASE_JAIL,)).fetchone())[0] < len(PUBLIC):
        assert time.monotonic() < deadline, rows
        time.sleep(0.2)
    time.sleep(0.5)
    assert db.execute(query, (BASE_JAIL,)).fetchone() == (len(PUBLIC), len(PUBLIC))


def test_fail2ban_going_down_mid_import_ends_partial_with_honest_counts(
    lab: Fail2banLab, http_server: LocalServer
) -> None:
    source = _source(http_server, "/d.txt", "\n".join(PUBLIC))

    def stop_after_first_batch(run: ImportRun) -> None:
        if run.phase == "ban" and run.done >= 1000 and lab.running:
            lab.stop()

    (run,) = runs_queue([source], actor=Actor.system("test"), trigger="manual")
    run = import_run(run, progress=stop_after_first_batch)
    assert run.status == ImportRun.Status.PARTIAL
    assert run.newly_banned == 1000 and run.failed == len(PUBLIC) - 1000
    assert "run the import again" in run.error


def test_fail2ban_down_before_the_import_fails_clearly(
    lab: Fail2banLab, http_server: LocalServer
) -> None:
    source = _source(http_server, "/x.txt", "1.2.3.4\n")
    lab.stop()
    run = _run(source)
    assert run.status == ImportRun.Status.FAILED
    assert "fail2ban" in run.error
    assert http_server.hits["/x.txt"] == 0  # nothing downloaded for nothing


def test_a_stopped_jail_is_started_again(lab: Fail2banLab, http_server: LocalServer) -> None:
    source = _source(http_server, "/j.txt", "1.2.3.4\n")
    _run(source)
    lab.cli("stop", BASE_JAIL)
    run = _run(BlocklistSource.objects.create(name="other", url=source.url + "?2"))
    assert run.status == ImportRun.Status.OK, run.error
    assert f"started jail {BASE_JAIL}" in run.log


def test_a_read_only_jail_dir_fails_clearly(lab: Fail2banLab, http_server: LocalServer) -> None:
    source = _source(http_server, "/ro.txt", "1.2.3.4\n")
    jail_d = lab.conf_dir / "jail.d"
    subprocess.run(["chattr", "+i", str(jail_d)], check=True)
    try:
        run = _run(source)
    finally:
        subprocess.run(["chattr", "-i", str(jail_d)], check=True)
    assert run.status == ImportRun.Status.FAILED
    assert "Cannot create the jail blocklist-import" in run.error


def test_a_source_with_its_own_ban_time_gets_its_own_jail(
    lab: Fail2banLab, http_server: LocalServer
) -> None:
    source = _source(http_server, "/w.txt", "1.2.3.4\n")
    source.bantime = 7 * 86400
    source.save()
    run = _run(source)
    assert run.status == ImportRun.Status.OK, run.error
    assert run.jail == "blocklist-import-1w"
    assert lab.cli("get", "blocklist-import-1w", "bantime").strip() == "604800"


def test_sources_imported_together_are_deduplicated(
    lab: Fail2banLab, http_server: LocalServer
) -> None:
    a = _source(http_server, "/a.txt", "1.2.3.4\n5.6.7.8\n", name="a")
    b = _source(http_server, "/b.txt", "5.6.7.8\n9.9.9.9\n", name="b")
    runs = runs_queue([a, b], actor=Actor.system("test"), trigger="manual")
    first, second = import_runs([r.pk for r in runs])
    assert first.newly_banned == 2
    assert second.skipped == {IN_EARLIER_SOURCE: 1} and second.newly_banned == 1


def test_a_dry_run_bans_nothing(lab: Fail2banLab, http_server: LocalServer) -> None:
    run = _run(_source(http_server, "/dry.txt", "1.2.3.4\n"), dry_run=True)
    assert run.status == ImportRun.Status.OK
    assert "would be sent" in run.log
    assert not (lab.conf_dir / "jail.d" / "blocklist-import.conf").exists()


def test_imported_bans_reach_the_archive_once_with_origin_blocklist(
    lab: Fail2banLab, http_server: LocalServer
) -> None:
    from jails.history.services import history_sync
    from jails.models import BanRecord

    source = _source(http_server, "/h.txt", "\n".join(PUBLIC[:40]))
    _run(source)
    ImportRun.objects.update(finished_at=timezone.now() - timedelta(days=1))
    _run(source)  # sent again: fail2ban only moves the ban end
    deadline = time.monotonic() + 15
    while BanRecord.objects.filter(jail=BASE_JAIL).count() < 40:
        assert time.monotonic() < deadline
        history_sync(db_path=lab.db_path)
        time.sleep(0.2)
    history_sync(db_path=lab.db_path)
    records = BanRecord.objects.filter(jail=BASE_JAIL)
    assert records.count() == 40
    assert set(records.values_list("origin", flat=True)) == {BanRecord.Origin.BLOCKLIST}
    # The sync pre-warmed the geo cache: every imported address has a row there.
    from geo.models import GeoCache

    assert GeoCache.objects.filter(ip__in=PUBLIC[:40]).count() == 40
