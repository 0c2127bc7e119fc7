"""First-run setup."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from bangui.models import AppSettings
from bangui.setup.services import SetupAlreadyDone, setup_complete

PASSWORD = "a-long-enough-Passphrase"


def form_data(f2b, **over):
    data = {
        "password": PASSWORD,
        "password_confirm": PASSWORD,
        "fail2ban_socket": f2b.socket_path,
        "fail2ban_config_dir": str(f2b.conf_dir),
        "timezone": "Europe/Berlin",
        "session_minutes": "480",
    }
    data.update(over)
    return data


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/", "/jails/", "/login/", "/admin/", "/status/bar/"])
def test_it_sends_every_page_to_setup_first(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == "/setup/"


@pytest.mark.django_db
def test_it_keeps_health_endpoints_open_before_setup(client):
    assert client.get("/health/live").status_code == 200


@pytest.mark.django_db
def test_it_prefills_the_socket_from_the_environment(client, settings):
    settings.BANGUI_FAIL2BAN_SOCKET = "/run/custom/f2b.sock"
    response = client.get("/setup/")
    assert b"/run/custom/f2b.sock" in response.content


@pytest.mark.django_db
def test_it_completes_setup(client, f2b):
    response = client.post("/setup/", form_data(f2b))
    assert response.status_code == 302
    assert response["Location"] == "/login/"
    row = AppSettings.objects.get()
    assert row.setup_done
    assert row.fail2ban_socket == f2b.socket_path
    assert row.timezone == "Europe/Berlin"
    user = get_user_model().objects.get()
    assert user.check_password(PASSWORD)


@pytest.mark.django_db
def test_it_cannot_be_run_again(client, f2b):
    client.post("/setup/", form_data(f2b))
    assert client.get("/setup/")["Location"] == "/login/"
    response = client.post("/setup/", form_data(f2b, password="Another-long-password-1"))
    assert response["Location"] == "/login/"
    assert get_user_model().objects.get().check_password(PASSWORD)
    with pytest.raises(SetupAlreadyDone):
        setup_complete(
            password="x",
            fail2ban_socket="/x",
            fail2ban_config_dir="/x",
            timezone_name="UTC",
            session_minutes=5,
        )


@pytest.mark.django_db
def test_an_interrupted_setup_can_be_completed(client, f2b):
    # A crash after the user row was written but before setup was marked done.
    get_user_model().objects.create_user("admin", password="old-Password-123")
    AppSettings(pk=1, fail2ban_socket="/x", fail2ban_config_dir="/x").save()
    response = client.post("/setup/", form_data(f2b))
    assert response["Location"] == "/login/"
    assert get_user_model().objects.get().check_password(PASSWORD)
    assert AppSettings.objects.get().setup_done


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        (
            "password_confirm",
            "different-Passphrase-1",
            "The two passwords differ; type both again.",
        ),
        ("password", "short", "too short"),
        ("timezone", "Mars/Olympus", "Select a valid choice"),
        ("session_minutes", "0", "greater than or equal to 5"),
        ("fail2ban_config_dir", "/nonexistent", "is not a directory"),
        ("fail2ban_config_dir", "relative/dir", "absolute path"),
        ("fail2ban_socket", "/tmp/no-such.sock", "fail2ban did not answer"),
    ],
)
def test_it_rejects_bad_input_with_a_clear_message(client, f2b, field, value, message):
    data = form_data(f2b, **{field: value})
    if field == "password":
        data["password_confirm"] = value
    response = client.post("/setup/", data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not AppSettings.objects.exists()
    assert not get_user_model().objects.exists()


@pytest.mark.django_db
def test_it_saves_with_fail2ban_down_when_told_to(client, f2b):
    data = form_data(f2b, fail2ban_socket="/tmp/no-such.sock", skip_fail2ban_check="on")
    assert client.post("/setup/", data)["Location"] == "/login/"
    assert AppSettings.objects.get().fail2ban_socket == "/tmp/no-such.sock"
