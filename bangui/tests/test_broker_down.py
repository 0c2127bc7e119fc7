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
