"""The blocklists page: sources, preview, import now, runs; never a 500."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django_q.models import OrmQ

from blocklists.models import BlocklistSource, ImportRun
from blocklists.tests.httpserver import LocalServer, respond

pytestmark = pytest.mark.django_db

VALID = {
    "name": "ssh list",
    "schedule": "daily",
    "run_at": "03:17",
    "weekday": "0",
    "enabled": "on",
}


def test_the_page_lists_sources_and_runs(admin_client) -> None:  # type: ignore[no-untyped-def]
    source = BlocklistSource.objects.create(name="ssh list", url="https://example.org/ssh.txt")
    ImportRun.objects.create(
        source=source, source_name="ssh list", url=source.url, status="ok", newly_banned=1234
    )
    body = admin_client.get("/blocklists/").content.decode()
    assert "ssh list" in body and "1,234 new" in body and "Import now" in body


def test_adding_a_source_schedules_it(admin_client) -> None:  # type: ignore[no-untyped-def]
    response = admin_client.post("/blocklists/add/", {**VALID, "url": "https://example.org/l.txt"})
    assert response.status_code == 302
    source = BlocklistSource.objects.get()
    assert source.next_run_at is not None and source.bantime is None


@pytest.mark.parametrize("name", ["blocklist.de ssh", "Spamhaus (DROP)", "liste_Übel-2"])
def test_a_name_of_the_promised_characters_is_taken(admin_client, name: str) -> None:  # type: ignore[no-untyped-def]
    data = {**VALID, "url": "https://example.org/l.txt", "name": name}
    assert admin_client.post("/blocklists/add/", data).status_code == 302
    assert BlocklistSource.objects.get().name == name


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("url", "ftp://example.org/x", "Only http"),
        ("url", "javascript:alert(1)", "Only http"),
        ("url", "https://user:pw@example.org/x", "no user name"),
        ("url", "", "Enter the URL"),
        ("bantime_text", "__import__('os')", "not a duration"),
        ("bantime_text", "-1", "Permanent bans are not offered"),
        ("bantime_text", "1m", "at least 10 minutes"),
        ("name", "<b>x</b>", "Use letters"),
        ("name", "1h; id", "Use letters"),
        ("name", "%", "Use letters"),
        ("name", "/etc/passwd", "Use letters"),
        ("name", "sshd\n[DEFAULT]", "Use letters"),
        ("name", "%(logpath)s", "Use letters"),
        ("name", "a\x00b", "Null characters are not allowed"),
        ("name", "   ", "This field is required"),
        ("run_at", "25:99", "Enter a valid time"),
    ],
)
def test_bad_input_gets_a_clear_message_and_saves_nothing(  # type: ignore[no-untyped-def]
    admin_client, field: str, value: str, message: str
) -> None:
    data = {**VALID, "url": "https://example.org/l.txt", field: value}
    response = admin_client.post("/blocklists/add/", data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not BlocklistSource.objects.exists()


def test_a_duplicate_url_is_refused(admin_client) -> None:  # type: ignore[no-untyped-def]
    BlocklistSource.objects.create(name="a", url="https://example.org/l.txt")
    response = admin_client.post("/blocklists/add/", {**VALID, "url": "https://example.org/l.txt"})
    body = response.content.decode()
    assert response.status_code == 400 and "This URL is already the source" in body


def test_preview_shows_counts_and_saves_nothing(admin_client, http_server: LocalServer) -> None:  # type: ignore[no-untyped-def]
    http_server.route("/p.txt", respond("1.2.3.4\nnope\n0.0.0.0/0\n10.1.2.3\n5.6.7.8\n"))
    data = {**VALID, "url": http_server.url("/p.txt"), "preview": "1"}
    body = admin_client.post("/blocklists/add/", data, HTTP_HX_REQUEST="true").content.decode()
    assert "<b>2</b> addresses would be banned" in body
    assert "network too broad" in body and "2: nope" in body
    assert not BlocklistSource.objects.exists()


def test_preview_of_a_bad_url_says_why(admin_client, http_server: LocalServer) -> None:  # type: ignore[no-untyped-def]
    data = {**VALID, "url": http_server.url("/missing.txt"), "preview": "1"}
    response = admin_client.post("/blocklists/add/", data)
    assert response.status_code == 200
    assert "404 Not Found" in response.content.decode()


def test_import_now_queues_a_run_for_the_job_cluster(admin_client) -> None:  # type: ignore[no-untyped-def]
    source = BlocklistSource.objects.create(name="a", url="https://example.org/l.txt")
    response = admin_client.post(f"/blocklists/{source.pk}/import/", follow=True)
    assert "Import started" in response.content.decode()
    run = ImportRun.objects.get()
    assert run.status == ImportRun.Status.QUEUED and run.username == "admin"
    assert OrmQ.objects.count() == 1
    # A second click while it waits does not queue it twice.
    admin_client.post(f"/blocklists/{source.pk}/import/")
    assert ImportRun.objects.count() == 1


def test_the_live_panel_reloads_the_page_when_the_last_import_ends(admin_client) -> None:  # type: ignore[no-untyped-def]
    ImportRun.objects.create(
        url="https://example.org/l.txt", status="running", phase="ban", done=5, total=10
    )
    polling = admin_client.get("/blocklists/live/", HTTP_HX_REQUEST="true")
    assert "5 of 10" in polling.content.decode() and "HX-Refresh" not in polling
    ImportRun.objects.update(status="ok")
    assert admin_client.get("/blocklists/live/", HTTP_HX_REQUEST="true")["HX-Refresh"] == "true"


def test_run_page_and_unknown_ids(admin_client) -> None:  # type: ignore[no-untyped-def]
    run = ImportRun.objects.create(
        url="https://example.org/l.txt", status="failed", error="The server answered 404"
    )
    assert (
        "The server answered 404"
        in admin_client.get(f"/blocklists/runs/{run.pk}/").content.decode()
    )
    assert admin_client.get("/blocklists/runs/999999/").status_code == 404
    assert admin_client.post("/blocklists/999999/import/").status_code == 404
    assert admin_client.get("/blocklists/999999/edit/").status_code == 404


def test_deleting_a_source_keeps_its_runs(admin_client) -> None:  # type: ignore[no-untyped-def]
    source = BlocklistSource.objects.create(name="a", url="https://example.org/l.txt")
    ImportRun.objects.create(source=source, source_name="a", url=source.url, status="ok")
    admin_client.post(f"/blocklists/{source.pk}/delete/")
    assert not BlocklistSource.objects.exists()
    assert ImportRun.objects.get().source_name == "a"


def test_get_on_a_post_only_url_is_refused(admin_client) -> None:  # type: ignore[no-untyped-def]
    assert admin_client.get("/blocklists/import-all/").status_code == 405


def test_the_command_imports_a_url_as_a_dry_run(
    configured, http_server: LocalServer, capsys
) -> None:  # type: ignore[no-untyped-def]
    http_server.route("/c.txt", respond("1.2.3.4\n5.6.7.8\nbad\n"))
    call_command("import_blocklist", "--url", http_server.url("/c.txt"), "--dry-run")
    out = capsys.readouterr().out
    assert "imported (dry run): 3 lines, 0 newly banned" in out and "1 invalid" in out


def test_the_command_names_the_sources_it_knows(configured) -> None:  # type: ignore[no-untyped-def]
    BlocklistSource.objects.create(name="known", url="https://example.org/l.txt")
    with pytest.raises(CommandError, match="Sources: known"):
        call_command("import_blocklist", "--source", "nope")
    with pytest.raises(CommandError, match="Only http"):
        call_command("import_blocklist", "--url", "file:///etc/passwd")
