"""First-run setup."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from bangui.models import AppSettings
from bangui.setup.services import SetupAlreadyDone, setup_complete, setup_token

PASSWORD = "a-long-enough-Passphrase"


def form_data(f2b, **over):
    data = {
        "token": setup_token(),
        "username": "admin",
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
    response = client.get(f"/setup/?token={setup_token()}")
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


@pytest.mark.django_db
def test_without_the_token_setup_only_says_where_to_find_it(client, f2b, settings):
    response = client.get("/setup/")
    body = response.content.decode()
    assert response.status_code == 200
    assert "setup-token" in body and 'name="password"' not in body
    token_file = settings.DATA_DIR / "setup-token"
    assert token_file.stat().st_mode & 0o777 == 0o600
    # A POST without the token neither sets up nor probes the socket path it names.
    data = form_data(f2b, token="guess", fail2ban_socket="/etc/shadow")
    response = client.post("/setup/", data)
    assert response.status_code == 403
    assert "not valid" in response.content.decode() and "shadow" not in response.content.decode()
    assert not get_user_model().objects.exists() and not AppSettings.objects.exists()


@pytest.mark.django_db
def test_setup_creates_the_admin_it_is_told_and_forgets_the_token(client, f2b, settings):
    client.post("/setup/", form_data(f2b, username="alice"))
    user = get_user_model().objects.get()
    assert user.username == "alice" and user.bangui_profile.role == "admin"
    assert user.is_superuser and user.is_staff
    assert not (settings.DATA_DIR / "setup-token").exists()


@pytest.mark.django_db(transaction=True)
def test_two_setups_at_once_make_one_admin(f2b):
    import threading

    from django.db import connection

    results: list[str] = []
    barrier = threading.Barrier(2)

    def run(name: str) -> None:
        barrier.wait()
        try:
            setup_complete(
                username=name, password=PASSWORD, fail2ban_socket=f2b.socket_path,
                fail2ban_config_dir=str(f2b.conf_dir), timezone_name="UTC", session_minutes=60,
            )  # fmt: skip
            results.append(name)
        except SetupAlreadyDone:
            results.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(n,)) for n in ("first", "second")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results).count("refused") == 1
    assert get_user_model().objects.count() == 1
    assert get_user_model().objects.get().username in results
