"""Manual bans and unbans through the pages, against the real fail2ban."""

from __future__ import annotations

import pytest

from jails.models import AuditEvent


@pytest.fixture
def no_manual_jail(f2b):
    """The manual jail's files are created by BanGUI; remove them afterwards."""
    yield
    for name in ("manual.conf", "manual.local"):
        (f2b.conf_dir / "jail.d" / name).unlink(missing_ok=True)
    f2b.reload()


def test_it_bans_one_ip_into_a_jail_and_audits_it(admin_client, f2b):
    response = admin_client.post("/bans/new/", {"ips": "203.0.113.10", "jail": "alpha"})
    assert response.status_code == 200
    assert "<b>1</b> banned" in response.content.decode()
    assert "203.0.113.10" in f2b.cli("status", "alpha")
    event = AuditEvent.objects.get()
    assert (event.action, event.target, event.ok, event.username) == (
        "ban",
        "203.0.113.10",
        True,
        "admin",
    )


def test_it_bans_many_ipv4_and_ipv6_skipping_duplicates(admin_client, f2b):
    text = "203.0.113.1\n203.0.113.2, 2001:db8::2 ; 203.0.113.1\n# a comment\n"
    body = admin_client.post("/bans/new/", {"ips": text, "jail": "beta"}).content.decode()
    assert "<b>3</b> banned" in body and "1 duplicate skipped" in body
    assert set(f2b.client().banned_ips("beta")) == {"203.0.113.1", "203.0.113.2", "2001:db8::2"}


def test_the_manual_jail_is_created_and_started_when_needed(admin_client, f2b, no_manual_jail):
    manual = f2b.conf_dir / "jail.d" / "manual.conf"
    assert not manual.exists()
    body = admin_client.post("/bans/new/", {"ips": "198.51.100.44", "jail": "manual"}).content
    assert b"<b>1</b> banned" in body
    assert "198.51.100.44" in f2b.cli("status", "manual")
    assert manual.exists() and (f2b.conf_dir / "jail.d" / "manual.local").exists()


def test_existing_manual_jail_files_are_never_overwritten(admin_client, f2b, no_manual_jail):
    custom = "[manual]\nenabled = false\nfilter =\nlogpath = /dev/null\nbantime = 2d\n# mine\n"
    (f2b.conf_dir / "jail.d" / "manual.conf").write_text(custom)
    admin_client.post("/bans/new/", {"ips": "198.51.100.45", "jail": "manual"})
    assert (f2b.conf_dir / "jail.d" / "manual.conf").read_text() == custom
    assert f2b.client().get("manual", "bantime") == 172800


@pytest.mark.parametrize(
    "bad",
    ["1.2.3.4; id", "not-an-ip", "10.0.0.0/33", "0.0.0.0/0", "::/0", "$(reboot)"],
)
def test_invalid_input_bans_nothing_and_says_why(admin_client, f2b, bad):
    body = admin_client.post(
        "/bans/new/", {"ips": f"203.0.113.50\n{bad}", "jail": "alpha"}
    ).content.decode()
    assert "nothing was banned" in body.lower()
    assert f2b.client().banned_ips("alpha") == []
    assert not AuditEvent.objects.exists()


def test_a_hostile_jail_choice_is_refused(admin_client, f2b):
    response = admin_client.post("/bans/new/", {"ips": "203.0.113.51", "jail": "../x"})
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not AuditEvent.objects.exists()


def test_a_paste_of_more_than_ten_thousand_entries_is_refused(admin_client, f2b):
    text = "\n".join(f"10.{i // 65536}.{i // 256 % 256}.{i % 256}" for i in range(10_001))
    body = admin_client.post("/bans/new/", {"ips": text, "jail": "alpha"}).content.decode()
    assert "At most 10,000 addresses at a time" in body
    assert f2b.client().banned_ips("alpha") == []


def test_it_warns_before_banning_the_requesters_own_address(admin_client, f2b):
    body = admin_client.post(
        "/bans/new/", {"ips": "203.0.113.60", "jail": "alpha"}, REMOTE_ADDR="203.0.113.60"
    ).content.decode()
    assert "your own address" in body and "Ban anyway" in body
    assert f2b.client().banned_ips("alpha") == []
    body = admin_client.post(
        "/bans/new/",
        {"ips": "203.0.113.60", "jail": "alpha", "confirm": "on"},
        REMOTE_ADDR="203.0.113.60",
    ).content.decode()
    assert "<b>1</b> banned" in body


def test_it_warns_before_banning_an_ignored_address(admin_client, f2b):
    f2b.client().add_ignore("alpha", ["192.0.2.0/24"])
    body = admin_client.post("/bans/new/", {"ips": "192.0.2.5", "jail": "alpha"}).content.decode()
    assert "ignore list (192.0.2.0/24)" in body
    assert f2b.client().banned_ips("alpha") == []


def test_networks_can_be_banned_where_the_actions_allow_it(admin_client, f2b):
    # The test jails have no actions: fail2ban records the network as one ban.
    body = admin_client.post("/bans/new/", {"ips": "198.51.100.0/24", "jail": "alpha"}).content
    assert b"<b>1</b> banned" in body
    assert f2b.client().banned_ips("alpha") == ["198.51.100.0/24"]


def test_a_failure_half_way_is_reported_honestly(admin_client, f2b, monkeypatch):
    from bangui.fail2ban import client as client_module

    monkeypatch.setattr(client_module, "BAN_BATCH", 2)
    real_send = client_module.Fail2banClient._send
    calls = {"banip": 0}

    def flaky(self, args):  # fail2ban goes away after the first batch
        if args[2:3] == ["banip"]:
            calls["banip"] += 1
            if calls["banip"] == 2:
                f2b.stop()
        return real_send(self, args)

    monkeypatch.setattr(client_module.Fail2banClient, "_send", flaky)
    text = "203.0.113.71 203.0.113.72 203.0.113.73 203.0.113.74"
    body = admin_client.post("/bans/new/", {"ips": text, "jail": "alpha"}).content.decode()
    assert "<b>2</b> banned" in body and "<b>2</b> not banned" in body
    assert "fail2ban stopped answering" in body
    event = AuditEvent.objects.get()
    assert not event.ok and "2 banned" in event.result


def test_it_unbans_from_one_jail(admin_client, f2b):
    f2b.client().ban("alpha", ["203.0.113.80"])
    response = admin_client.post(
        "/bans/unban/", {"entry": "203.0.113.80", "jail": "alpha", "next": "/jails/alpha/"}
    )
    assert response["Location"] == "/jails/alpha/"
    assert f2b.client().banned_ips("alpha") == []
    assert AuditEvent.objects.get().action == "unban"


def test_unban_from_every_jail_asks_first(admin_client, f2b):
    f2b.client().ban("alpha", ["203.0.113.81"])
    f2b.client().ban("beta", ["203.0.113.81"])
    body = admin_client.post("/bans/unban/", {"entry": "203.0.113.81", "jail": "*"}).content
    assert b"Unban 203.0.113.81 from every jail?" in body
    assert f2b.client().jails_banning(["203.0.113.81"])["203.0.113.81"] == ["alpha", "beta"]
    admin_client.post("/bans/unban/", {"entry": "203.0.113.81", "jail": "*", "confirmed": "yes"})
    assert f2b.client().jails_banning(["203.0.113.81"])["203.0.113.81"] == []


def test_unban_all_shows_the_count_then_lifts_everything(admin_client, f2b):
    f2b.client().ban("alpha", ["203.0.113.90", "203.0.113.91"])
    f2b.client().ban("sshd", ["203.0.113.92"])
    body = admin_client.get("/bans/unban-all/").content.decode()
    assert "Unban all 3 addresses?" in body
    admin_client.post("/bans/unban-all/", {"confirmed": "yes"})
    assert sum(len(v) for v in f2b.client().banned().values()) == 0
    assert AuditEvent.objects.get().action == "unban_all"


def test_unban_rejects_hostile_input(admin_client, f2b):
    response = admin_client.post("/bans/unban/", {"entry": "1.2.3.4; id", "jail": "alpha"})
    assert response.status_code == 302
    assert not AuditEvent.objects.exists()
    response = admin_client.post("/bans/unban/", {"entry": "1.2.3.4", "jail": "../x"})
    assert response.status_code == 302
    assert not AuditEvent.objects.exists()


def test_unban_ignores_next_pointing_elsewhere(admin_client, f2b):
    response = admin_client.post(
        "/bans/unban/", {"entry": "203.0.113.99", "jail": "alpha", "next": "https://evil.example/"}
    )
    assert response["Location"] == "/jails/"


@pytest.mark.parametrize("target", ["abc", "$(id)", "sshd", "-1", "//evil.example/x"])
def test_unban_with_a_bare_word_next_goes_back_to_the_jails(admin_client, f2b, target):
    response = admin_client.post(
        "/bans/unban/", {"entry": "203.0.113.99", "jail": "alpha", "next": target}
    )
    assert response.status_code == 302 and response["Location"] == "/jails/"


def test_ip_lookup_lists_the_jails_that_ban_an_address(admin_client, f2b):
    f2b.client().ban("alpha", ["203.0.113.120"])
    f2b.client().ban("sshd", ["203.0.113.120"])
    body = admin_client.get("/ip/?q=203.0.113.120").content.decode()
    assert "Banned now in 2 jails" in body
    assert 'href="/jails/alpha/"' in body and 'href="/jails/sshd/"' in body
    assert "Unban from every jail" in body


def test_ip_lookup_rejects_garbage_clearly(admin_client, f2b):
    body = admin_client.get("/ip/?q=1.2.3.4%3B+id").content.decode()
    assert "is not a valid IP address" in body


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        ("0.0.0.0", "unspecified address"),
        ("::", "unspecified address"),
        ("255.255.255.255", "broadcast address"),
        ("fe80::1%eth0", "zone index"),
        ("2a00::1%$(id)", "zone index"),
    ],
)
def test_a_meaningless_address_is_refused_with_the_reason(admin_client, f2b, entry, reason):
    body = admin_client.post("/bans/new/", {"ips": entry, "jail": "alpha"}).content.decode()
    assert reason in body
    assert f2b.client().banned_ips("alpha") == []
    response = admin_client.post("/jails/alpha/ignore/add/", {"entries": entry}, follow=True)
    assert reason in response.content.decode()
    assert not [i for i in f2b.client().get("alpha", "ignoreip") if "%" in str(i) or i == entry]


def test_a_private_address_needs_a_confirmation(admin_client, f2b):
    body = admin_client.post("/bans/new/", {"ips": "10.1.2.3", "jail": "alpha"}).content.decode()
    assert "10.1.2.3 (private network): not an internet address" in body
    assert f2b.client().banned_ips("alpha") == []
    admin_client.post("/bans/new/", {"ips": "10.1.2.3", "jail": "alpha", "confirm": "on"})
    assert f2b.client().banned_ips("alpha") == ["10.1.2.3"]


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        ("0.0.0.0/0", "too wide"),
        ("::/0", "too wide"),
        ("8.8.8.0/8", "did you mean 8.0.0.0/8"),
    ],
)
def test_a_wide_or_misaligned_network_is_refused_with_the_reason(admin_client, f2b, entry, reason):
    body = admin_client.post("/bans/new/", {"ips": entry, "jail": "alpha"}).content.decode()
    assert reason in body
    assert "None of the entries is a valid IP address" not in body
    assert f2b.client().banned_ips("alpha") == []
