"""Jail controls, ignore lists, reload and restart, against the real fail2ban."""

from __future__ import annotations

import shlex

from jails.models import AuditEvent


def actions() -> list[tuple[str, str, bool]]:
    return list(AuditEvent.objects.order_by("id").values_list("action", "target", "ok"))


def test_stop_asks_then_stops_and_start_brings_the_jail_back(admin_client, f2b):
    body = admin_client.post("/jails/beta/stop/").content.decode()
    assert "Stop jail beta?" in body
    assert "beta" in f2b.client().jails()
    admin_client.post("/jails/beta/stop/", {"confirmed": "yes"})
    assert "beta" not in f2b.client().jails()
    # A configured jail that is stopped: its page says so and offers Start (not a 404).
    page = admin_client.get("/jails/beta/")
    assert page.status_code == 200 and "This jail is not running" in page.content.decode()
    admin_client.post("/jails/beta/start/")
    assert "beta" in f2b.client().jails()
    assert actions() == [("jail_stop", "beta", True), ("jail_start", "beta", True)]


def test_starting_a_jail_that_is_not_enabled_says_so(admin_client, f2b):
    response = admin_client.post("/jails/ghost/start/", follow=True)
    assert "“ghost” is not defined in the config" in response.content.decode()
    assert actions() == [("jail_start", "ghost", False)]


def test_reload_reverts_runtime_changes(admin_client, f2b):
    f2b.client().set("alpha", "bantime", "1h")
    admin_client.post("/jails/alpha/reload/")
    assert f2b.client().get("alpha", "bantime") == 600
    assert actions() == [("jail_reload", "alpha", True)]


def test_idle_on_and_off(admin_client, f2b):
    admin_client.post("/jails/alpha/idle/", {"idle": "on"})
    assert "idle" in admin_client.get("/jails/alpha/").content.decode()
    admin_client.post("/jails/alpha/idle/", {"idle": "off"})
    assert [a for a, _, _ in actions()] == ["jail_idle", "jail_idle"]


def test_controls_need_post(admin_client):
    for url in ("/jails/alpha/stop/", "/jails/alpha/reload/", "/jails/reload/", "/bans/unban/"):
        assert admin_client.get(url).status_code == 405


def test_ignore_list_add_and_remove(admin_client, f2b):
    admin_client.post("/jails/alpha/ignore/add/", {"entries": "192.0.2.10, 2001:db8::/48"})
    assert {"192.0.2.10", "2001:db8::/48"} <= set(f2b.client().get("alpha", "ignoreip"))
    admin_client.post("/jails/alpha/ignore/remove/", {"entry": "192.0.2.10"})
    assert "192.0.2.10" not in f2b.client().get("alpha", "ignoreip")
    assert [a for a, _, _ in actions()] == ["ignore_add", "ignore_remove"]
    f2b.reload()


def test_ignore_list_rejects_bad_entries_and_changes_nothing(admin_client, f2b):
    before = f2b.client().get("alpha", "ignoreip")
    for bad in ("example.com", "0.0.0.0/0", "1.2.3.4; id", "x" * 10_000):
        response = admin_client.post("/jails/alpha/ignore/add/", {"entries": bad}, follow=True)
        # The jail page again, the reason next to the field it is about.
        assert response.status_code == 400
        assert 'id="ignore-add"' in response.content.decode()
        assert "Nothing was added" in response.content.decode()
    assert f2b.client().get("alpha", "ignoreip") == before
    assert actions() == []


def test_removing_an_entry_that_is_not_there_is_a_clear_error(admin_client, f2b):
    response = admin_client.post(
        "/jails/alpha/ignore/remove/", {"entry": "203.0.113.200"}, follow=True
    )
    assert "203.0.113.200 is not in alpha&#x27;s ignore list; nothing was removed" in (
        response.content.decode()
    )
    assert actions() == [("ignore_remove", "alpha", False)]


def test_ignoreself_toggle(admin_client, f2b):
    admin_client.post("/jails/alpha/ignoreself/", {"ignoreself": "true"})
    assert f2b.client().get("alpha", "ignoreself") is True
    admin_client.post("/jails/alpha/ignoreself/", {"ignoreself": "false"})
    assert f2b.client().get("alpha", "ignoreself") is False


def test_reload_fail2ban_asks_then_reloads_every_jail(admin_client, f2b):
    f2b.client().stop_jail("beta")
    assert b"Reload fail2ban?" in admin_client.post("/jails/reload/").content
    admin_client.post("/jails/reload/", {"confirmed": "yes"})
    assert f2b.client().jails() == ["alpha", "beta", "sshd"]
    assert actions() == [("fail2ban_reload", "fail2ban", True)]


def test_restart_without_a_start_command_is_refused(admin_client, f2b, settings):
    settings.BANGUI_FAIL2BAN_START_COMMAND = ""
    response = admin_client.post("/jails/restart/", {"confirmed": "yes"}, follow=True)
    assert "No start command is configured" in response.content.decode()
    assert f2b.client().ping()


def test_restart_stops_and_starts_fail2ban_with_the_start_command(admin_client, f2b, settings):
    f2b.client().ban("beta", ["203.0.113.140"])
    settings.BANGUI_FAIL2BAN_START_COMMAND = shlex.join(
        [
            "fail2ban-server",
            "-b",
            "-x",
            "-c",
            str(f2b.conf_dir),
            "-s",
            f2b.socket_path,
            "-p",
            str(f2b.run_dir / "pid"),
            "start",
        ]
    )
    old_pid = f2b.proc.pid if f2b.proc else None
    try:
        response = admin_client.post("/jails/restart/", {"confirmed": "yes"}, follow=True)
        assert "fail2ban restarted." in response.content.decode()
        client = f2b.client()
        assert client.ping()
        assert int((f2b.run_dir / "pid").read_text()) != old_pid
        assert actions() == [("fail2ban_restart", "fail2ban", True)]
    finally:
        # The new server is not the lab's child: stop it over the socket and
        # let the lab start its own again for the next tests.
        f2b.client().stop_server()
        f2b.stop()
        f2b.start()


def test_controls_say_so_when_fail2ban_is_down(admin_client, f2b):
    f2b.stop()
    response = admin_client.post("/jails/alpha/idle/", {"idle": "on"}, follow=True)
    assert response.status_code == 200
    assert "fail2ban is not running" in response.content.decode() or "no fail2ban socket" in (
        response.content.decode()
    )
    assert actions() == [("jail_idle", "alpha", False)]
