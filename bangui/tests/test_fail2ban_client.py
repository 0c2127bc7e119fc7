"""The socket client against a real fail2ban-server."""

from __future__ import annotations

import threading

import pytest

from bangui.fail2ban import Fail2banClient, Fail2banCommandError, Fail2banUnavailable


def test_it_bans_so_fail2ban_client_sees_it(f2b):
    client = f2b.client()
    assert client.ban("alpha", ["192.0.2.10", "2001:db8::10"]) == 2
    out = f2b.cli("status", "alpha")
    assert "192.0.2.10" in out
    assert "2001:db8::10" in out


def test_it_unbans(f2b):
    client = f2b.client()
    client.ban("beta", ["192.0.2.11"])
    assert client.unban("beta", ["192.0.2.11"]) == 1
    assert "192.0.2.11" not in f2b.cli("status", "beta")


def test_it_reads_jails_and_short_status(f2b):
    client = f2b.client()
    assert client.ping() is True
    assert client.version().startswith("1.")
    assert client.jails() == ["alpha", "beta", "sshd"]
    client.ban("alpha", ["192.0.2.12"])
    status = client.jail_status("alpha")
    assert status.currently_banned == 1
    assert status.banned is None  # the short flavour never carries the IP list


def test_it_sees_bans_from_log_failures(f2b):
    client = f2b.client()
    f2b.add_failures("sshd", "198.51.100.7", 3)
    import time

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if "198.51.100.7" in client.banned().get("sshd", []):
            break
        time.sleep(0.05)
    assert client.jails_banning(["198.51.100.7"]) == {"198.51.100.7": ["sshd"]}


def test_it_reports_fail2ban_errors_with_their_message(f2b):
    with pytest.raises(Fail2banCommandError) as exc:
        f2b.client().get("nosuchjail", "bantime")
    assert exc.value.unknown_jail
    assert "nosuchjail" in exc.value.message


def test_it_sets_time_values_as_plain_seconds(f2b):
    client = f2b.client()
    assert client.set("alpha", "bantime", "1h") == 3600
    assert client.get("alpha", "bantime") == 3600
    assert client.set("alpha", "findtime", "1d 12h") == 129600


def test_it_says_unavailable_when_the_socket_is_missing(tmp_path):
    client = Fail2banClient(str(tmp_path / "nothing.sock"), timeout=1)
    with pytest.raises(Fail2banUnavailable, match="no fail2ban socket"):
        client.ping()


def test_it_survives_many_threads_at_once(f2b):
    # The server listens with a backlog of one; without the EAGAIN retry
    # most of these fail (fail2ban-notes §0.5).
    client = f2b.client()
    errors: list[BaseException] = []

    def hammer() -> None:
        try:
            for _ in range(100):
                client.jail_status("alpha")
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_a_persistent_client_reconnects_after_a_restart(f2b):
    client = Fail2banClient(f2b.socket_path, persistent=True)
    assert client.ping()
    f2b.restart()
    assert client.ping()
    client.close()


def test_it_reloads_a_stopped_jail_back_through_the_cli(f2b):
    from bangui.fail2ban import cli

    client = f2b.client()
    client.stop_jail("beta")
    assert "beta" not in client.jails()
    cli.reload(
        config_dir=str(f2b.conf_dir), socket_path=f2b.socket_path, jail="beta", if_exists=True
    )
    assert "beta" in client.jails()
