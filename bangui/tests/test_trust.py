"""The holes of the trust review, each closed: login paths, throttle, data dir, brute force."""

from __future__ import annotations

import ipaddress
import logging
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.test import Client, RequestFactory

from bangui.demo.lab import Fail2banLab, LabJail
from bangui.setup.services import setup_complete
from conftest import ADMIN_PASSWORD

ROOT = Path(__file__).resolve().parents[2]


def _messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "bangui.auth"]


# -- every login path goes through the throttle and the log ------------------------------


def test_the_admins_login_sends_to_banguis_and_takes_no_password(client, configured, caplog):  # type: ignore[no-untyped-def]
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=%2Fadmin%2F"
    with caplog.at_level(logging.INFO, logger="bangui.auth"):
        for _ in range(25):
            answer = client.post(
                "/admin/login/", {"username": "admin", "password": "wrong", "next": "/admin/"}
            )
            assert answer.status_code == 405  # no password is ever checked here
    assert "_auth_user_id" not in client.session
    assert _messages(caplog) == []


def test_authenticate_itself_is_throttled_and_logged(configured, caplog):  # type: ignore[no-untyped-def]
    request = RequestFactory().post("/anything/", REMOTE_ADDR="203.0.113.77")
    with caplog.at_level(logging.INFO, logger="bangui.auth"):
        for _ in range(7):
            assert authenticate(request, username="admin", password="wrong") is None
        # Even the right password is refused while the address is throttled.
        assert authenticate(request, username="admin", password=ADMIN_PASSWORD) is None
    lines = _messages(caplog)
    assert lines.count('login failed from 203.0.113.77 user="admin"') == 5
    assert lines.count("login refused (throttled) from 203.0.113.77") == 3


def test_every_login_gets_the_configured_session_length(configured):  # type: ignore[no-untyped-def]
    from django.contrib.auth import login
    from django.contrib.sessions.backends.db import SessionStore

    request = RequestFactory().post("/x/", REMOTE_ADDR="203.0.113.78")
    request.session = SessionStore()
    login(request, configured, backend="bangui.auth.ThrottledBackend")
    assert request.session.get_expiry_age() == 480 * 60


# -- the throttle counts before it checks -------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_forty_wrong_logins_at_once_get_five_password_checks(f2b, caplog):  # type: ignore[no-untyped-def]
    setup_complete(
        password=ADMIN_PASSWORD, fail2ban_socket=f2b.socket_path,
        fail2ban_config_dir=str(f2b.conf_dir), timezone_name="UTC", session_minutes=60,
    )  # fmt: skip
    from django.db import connection

    barrier = threading.Barrier(40)
    codes: list[int] = []

    def attempt() -> None:
        client = Client(REMOTE_ADDR="203.0.113.80")
        barrier.wait()
        codes.append(client.post("/login/", {"password": "wrong"}).status_code)
        connection.close()

    with caplog.at_level(logging.INFO, logger="bangui.auth"):
        threads = [threading.Thread(target=attempt) for _ in range(40)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    failed = [m for m in _messages(caplog) if m.startswith("login failed")]
    assert len(failed) == 5
    assert sorted(codes) == [200] * 5 + [429] * 35


def test_an_ipv6_client_is_counted_by_its_64(client, configured):  # type: ignore[no-untyped-def]
    for n in range(1, 6):
        client.post("/login/", {"password": "wrong"}, REMOTE_ADDR=f"2001:db8:0:7::{n}")
    same = client.post("/login/", {"password": ADMIN_PASSWORD}, REMOTE_ADDR="2001:db8:0:7::99")
    assert same.status_code == 429
    other = client.post("/login/", {"password": ADMIN_PASSWORD}, REMOTE_ADDR="2001:db8:0:8::1")
    assert other.status_code == 302


def test_one_account_is_throttled_whatever_the_addresses(client, configured, settings):  # type: ignore[no-untyped-def]
    for n in range(settings.BANGUI_LOGIN_ACCOUNT_MAX_FAILURES):
        client.post("/login/", {"password": "wrong"}, REMOTE_ADDR=f"198.51.100.{n + 1}")
    response = client.post("/login/", {"password": ADMIN_PASSWORD}, REMOTE_ADDR="192.0.2.200")
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0


# -- the data dir is private ------------------------------------------------------------


def _manage(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BANGUI_")}
    env["BANGUI_DATA_DIR"] = str(data_dir)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True,
        text=True, timeout=120,
    )  # fmt: skip


def test_a_data_dir_others_can_read_is_refused_with_the_fix(tmp_path):  # type: ignore[no-untyped-def]
    data = tmp_path / "data"
    data.mkdir()
    data.chmod(0o755)
    result = _manage(data, "check")
    assert result.returncode != 0
    assert "can be read by other users (mode 755)" in result.stderr
    assert f"chmod 700 {data}" in result.stderr


def test_a_new_data_dir_and_its_database_are_private(tmp_path):  # type: ignore[no-untyped-def]
    data = tmp_path / "new" / "data"
    result = _manage(data, "migrate", "--noinput")
    assert result.returncode == 0, result.stderr
    assert data.stat().st_mode & 0o777 == 0o700
    for path in data.iterdir():
        assert path.stat().st_mode & 0o077 == 0, path


# -- brute force, end to end ----------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_fail2ban_bans_a_brute_force_through_the_trusted_proxy(settings, tmp_path):  # type: ignore[no-untyped-def]
    """A real fail2ban jail on BanGUI's auth log, with the shipped filter, bans the attacker."""
    auth_log = tmp_path / "auth.log"
    handler = logging.FileHandler(auth_log)
    handler.setFormatter(logging.Formatter(settings.LOGGING["formatters"]["auth"]["format"]))
    logger = logging.getLogger("bangui.auth")
    logger.addHandler(handler)
    filter_text = (ROOT / "contrib/fail2ban/filter.d/bangui-auth.conf").read_text()
    jail = LabJail(
        "bangui-auth", filter="bangui-auth",
        options={"maxretry": "5", "findtime": "60", "bantime": "600", "backend": "polling"},
    )  # fmt: skip
    lab = Fail2banLab([jail])
    (lab.conf_dir / "filter.d" / "bangui-auth.conf").write_text(filter_text)
    lab.log_path("bangui-auth").unlink(missing_ok=True)
    lab.log_path("bangui-auth").symlink_to(auth_log)
    auth_log.touch()
    lab.start()
    try:
        setup_complete(
            password=ADMIN_PASSWORD, fail2ban_socket=lab.socket_path,
            fail2ban_config_dir=str(lab.conf_dir), timezone_name="UTC", session_minutes=60,
        )  # fmt: skip
        get_user_model().objects.create_user("second", password="Second-pass-1234")
        settings.BANGUI_TRUSTED_PROXIES = [ipaddress.ip_network("127.0.0.1/32")]
        client = Client(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.66")
        for _ in range(3):
            client.post("/login/", {"username": "admin", "password": "wrong"})
        for _ in range(4):  # the admin's login path: no password taken, then BanGUI's
            assert (
                client.post("/admin/login/", {"username": "admin", "password": "x"}).status_code
                == 405
            )
            client.post("/login/?next=/admin/", {"username": "admin", "password": "wrong"})
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if "203.0.113.66" in lab.client().banned_ips("bangui-auth"):
                break
            time.sleep(0.2)
        assert lab.client().banned_ips("bangui-auth") == ["203.0.113.66"]
        assert "127.0.0.1" not in auth_log.read_text()  # the proxy itself is never logged
    finally:
        logger.removeHandler(handler)
        handler.close()
        lab.cleanup()
