"""Login, throttling, the auth log, next=, logout and session length."""

from __future__ import annotations

import logging
import re

import pytest
from django.contrib.auth import get_user_model

from conftest import ADMIN_PASSWORD

# The documented format (README, "Failed logins").
FAILURE_LINE = re.compile(r'^login failed from (?P<ip>[0-9a-f.:]+) user="(?P<user>[^"]*)"$')


def test_it_shows_a_password_only_form_for_a_single_user(client, configured):
    body = client.get("/login/").content.decode()
    assert 'name="password"' in body
    assert 'name="username"' not in body


def test_it_asks_for_a_user_name_once_there_are_several(client, configured):
    get_user_model().objects.create_user("operator", password="Operator-pass-123")
    body = client.get("/login/").content.decode()
    assert 'name="username"' in body
    response = client.post("/login/", {"username": "operator", "password": "Operator-pass-123"})
    assert response["Location"] == "/"


def test_it_logs_in_and_sets_the_session_length(client, configured):
    response = client.post("/login/", {"password": ADMIN_PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.session.get_expiry_age() == 480 * 60
    assert client.get("/").status_code == 200


def test_it_refuses_a_wrong_password_and_logs_it(client, configured, caplog):
    with caplog.at_level(logging.WARNING, logger="bangui.auth"):
        response = client.post("/login/", {"password": "wrong"}, REMOTE_ADDR="203.0.113.5")
    assert response.status_code == 200
    assert "Wrong password." in response.content.decode()
    lines = [r.getMessage() for r in caplog.records if r.name == "bangui.auth"]
    assert len(lines) == 1
    match = FAILURE_LINE.match(lines[0])
    assert match and match["ip"] == "203.0.113.5" and match["user"] == "admin"


def test_the_sixth_failure_in_a_minute_is_refused(client, configured, caplog):
    for _ in range(5):
        assert client.post("/login/", {"password": "wrong"}).status_code == 200
    with caplog.at_level(logging.WARNING, logger="bangui.auth"):
        response = client.post("/login/", {"password": ADMIN_PASSWORD})
    assert response.status_code == 429
    assert "Too many failed logins" in response.content.decode()
    assert int(response["Retry-After"]) > 0
    assert "_auth_user_id" not in client.session
    assert any("refused (throttled) from 127.0.0.1" in r.getMessage() for r in caplog.records)


def test_throttling_is_per_address(client, configured):
    for _ in range(5):
        client.post("/login/", {"password": "wrong"}, REMOTE_ADDR="203.0.113.9")
    response = client.post("/login/", {"password": ADMIN_PASSWORD}, REMOTE_ADDR="203.0.113.10")
    assert response.status_code == 302


def test_it_ignores_forwarded_for_from_untrusted_clients(client, configured, caplog):
    with caplog.at_level(logging.WARNING, logger="bangui.auth"):
        client.post(
            "/login/",
            {"password": "wrong"},
            REMOTE_ADDR="203.0.113.20",
            HTTP_X_FORWARDED_FOR="198.51.100.1",
        )
    assert "from 203.0.113.20 " in caplog.records[-1].getMessage()


def test_it_honours_forwarded_for_from_a_trusted_proxy(client, configured, settings, caplog):
    import ipaddress

    settings.BANGUI_TRUSTED_PROXIES = [ipaddress.ip_network("10.0.0.0/8")]
    with caplog.at_level(logging.WARNING, logger="bangui.auth"):
        client.post(
            "/login/",
            {"password": "wrong"},
            REMOTE_ADDR="10.0.0.2",
            HTTP_X_FORWARDED_FOR="198.51.100.66, 203.0.113.30, 10.0.0.3",
        )
    # Rightmost address that is not one of our proxies: the one that reached them.
    assert "from 203.0.113.30 " in caplog.records[-1].getMessage()


def test_a_hostile_user_name_cannot_forge_a_log_line(client, configured, caplog):
    get_user_model().objects.create_user("other", password="Other-pass-1234")
    with caplog.at_level(logging.WARNING, logger="bangui.auth"):
        client.post(
            "/login/",
            {"username": 'x" from 6.6.6.6\nlogin failed from 7.7.7.7', "password": "nope"},
            REMOTE_ADDR="203.0.113.40",
        )
    line = caplog.records[-1].getMessage()
    assert "\n" not in line
    assert line.startswith("login failed from 203.0.113.40 user=")


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/", "javascript:alert(1)", "/\\evil.example"]
)
def test_it_ignores_next_pointing_elsewhere(client, configured, target):
    response = client.post(f"/login/?next={target}", {"password": ADMIN_PASSWORD})
    assert response["Location"] == "/"


def test_it_follows_next_on_this_site(client, configured):
    response = client.get("/jails/")
    assert response["Location"] == "/login/?next=/jails/"
    response = client.post("/login/?next=/jails/", {"password": ADMIN_PASSWORD, "next": "/jails/"})
    assert response["Location"] == "/jails/"


def test_logout_needs_post(admin_client):
    assert admin_client.get("/logout/").status_code == 405
    response = admin_client.post("/logout/")
    assert response["Location"] == "/login/"
    assert admin_client.get("/")["Location"] == "/login/?next=/"


def test_an_htmx_poll_after_the_session_ended_reloads_to_login(client, configured):
    response = client.get(
        "/status/bar/", HTTP_HX_REQUEST="true", HTTP_HX_CURRENT_URL="http://testserver/jails/"
    )
    assert response.status_code == 204
    assert response["HX-Redirect"].startswith("/login/?next=")


def test_logout_is_csrf_protected(configured):
    from django.test import Client

    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(configured)
    assert csrf_client.post("/logout/").status_code == 403
