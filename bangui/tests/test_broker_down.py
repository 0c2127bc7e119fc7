"""The broker killed and started again: every page still renders and says which part is
down (the broker, not fail2ban), health says so, and all is back without a restart."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from bangui.broker.server import BrokerServer, Policy, Settings, serve
from bangui.demo.lab import Fail2banLab
from bangui.status import status_refresh

PAGES = (
    "/",
    "/jails/",
    "/jails/alpha/",
    "/bans/new/",
    "/history/",
    "/map/",
    "/ip/?q=203.0.113.9",
    "/config/",
    "/config/jails/",
    "/config/server/",
    "/config/log/",
    "/blocklists/",
    "/audit/",
)


def _start(f2b: Fail2banLab, path: str) -> BrokerServer:
    return serve(path, Settings(f2b.socket_path, str(f2b.conf_dir)), Policy(), None)


def _stop(server: BrokerServer) -> None:
    server.shutdown()
    server.server_close()


@pytest.fixture
def broker_path(settings) -> str:  # type: ignore[no-untyped-def]
    path = str(Path(tempfile.mkdtemp(prefix="bgk-", dir="/tmp")) / "b.sock")
    settings.BANGUI_BROKER_SOCKET = path
    return path


def test_pages_render_and_name_the_broker_while_it_is_down(admin_client, f2b, broker_path):
    server = _start(f2b, broker_path)
    f2b.client().ban("alpha", ["203.0.113.9"])
    try:
        assert status_refresh().online
        assert "online" in admin_client.get("/status/bar/").content.decode()
    finally:
        _stop(server)

    snap = status_refresh()
    assert not snap.online and snap.broker_down
    bar = admin_client.get("/status/bar/").content.decode()
    assert "broker unreachable" in bar and "fail2ban's own state is unknown" in bar
    for path in PAGES:
        response = admin_client.get(path)
        assert response.status_code < 500, path
    ready = admin_client.get("/health/ready")
    assert ready.status_code == 503
    assert ready.json()["checks"]["broker"]["ok"] is False

    server = _start(f2b, broker_path)
    try:
        assert status_refresh().online
        bar = admin_client.get("/status/bar/").content.decode()
        assert "broker unreachable" not in bar and "online" in bar
        assert admin_client.get("/health/ready").json()["checks"]["broker"] == {"ok": True}
        assert "203.0.113.9" in admin_client.get("/jails/alpha/").content.decode()
    finally:
        _stop(server)


def test_a_ban_while_the_broker_is_down_says_so_and_bans_nothing(admin_client, f2b, broker_path):
    response = admin_client.post(
        "/bans/new/", {"jail": "manual", "ips": "203.0.113.10"}, follow=True
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "broker" in body
    assert f2b.client().banned_ips("alpha") == []


def test_a_bulk_ban_cut_off_by_a_broker_restart_reports_partial_counts_and_loses_nothing(
    configured, f2b, tmp_path
):
    import subprocess
    import sys

    from bangui.broker.client import BrokerClient, wait_ready
    from jails.audit.services import Actor
    from jails.live.services import ban_create

    sock = str(Path(tempfile.mkdtemp(prefix="bgk-", dir="/tmp")) / "b.sock")
    argv = [
        sys.executable, "-m", "bangui.broker", "--socket", sock, "--fail2ban-socket",
        f2b.socket_path, "--config-dir", str(f2b.conf_dir), "--state-dir", str(tmp_path),
    ]  # fmt: skip
    broker = subprocess.Popen(argv)
    wait_ready(sock)
    client = BrokerClient(sock, persistent=True)
    ips = [f"10.77.{i // 250}.{i % 250 + 1}" for i in range(6000)]
    calls = {"ban": 0}
    real_call = client.call

    def call(op: str, **args: object) -> object:
        if op == "ban":
            calls["ban"] += 1
            if calls["ban"] == 4:  # the broker dies between the third and fourth batch
                broker.kill()
                broker.wait()
        return real_call(op, **args)

    client.call = call  # type: ignore[method-assign]
    try:
        result = ban_create(actor=Actor.system("test"), client=client, jail="alpha", ips=ips)
    finally:
        client.close()
    assert result.banned == 3000 and result.already == 0
    assert len(result.failed) == 3000 and "broker" in result.error
    assert set(f2b.client().banned_ips("alpha")) == set(ips[:3000])  # fail2ban kept them

    broker = subprocess.Popen(argv)  # back again: the rest can be sent
    try:
        wait_ready(sock)
        again = BrokerClient(sock)
        rest = ban_create(actor=Actor.system("test"), client=again, jail="alpha", ips=ips)
        assert rest.banned == 3000 and rest.already == 3000 and not rest.failed
        assert set(f2b.client().banned_ips("alpha")) == set(ips)
    finally:
        broker.terminate()
        broker.wait(10)


def test_setup_checks_fail2ban_through_the_broker(db, f2b, broker_path):
    from bangui.setup.forms import SetupForm

    data = {
        "token": "t", "username": "admin", "password": "a-long-pass-phrase-9876",
        "password_confirm": "a-long-pass-phrase-9876", "fail2ban_socket": "/nonexistent/s",
        "fail2ban_config_dir": str(f2b.conf_dir), "timezone": "UTC", "session_minutes": 480,
    }  # fmt: skip
    down = SetupForm(data)
    assert not down.is_valid()
    assert "broker: not running" in str(down.errors["fail2ban_socket"])
    server = _start(f2b, broker_path)
    try:
        # The socket typed here is not used: the broker has its own.
        assert SetupForm(data).is_valid()
    finally:
        _stop(server)
