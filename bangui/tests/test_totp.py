"""Two-factor login: turning it on, the code step (throttled too), recovery codes, the rule."""

from __future__ import annotations

import re

from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from conftest import ADMIN_PASSWORD


def _code(device: TOTPDevice, drift: int = 0) -> str:
    """The app's code now (``drift=1``: the next step's, as a code used once is not taken again
    and the device accepts one step of clock drift)."""
    value = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=drift)
    return f"{value:06d}"


def _turn_on(client) -> list[str]:  # type: ignore[no-untyped-def]
    page = client.get("/account/totp/").content.decode()
    assert "<svg" in page and "Scan this code" in page
    device = TOTPDevice.objects.get(confirmed=False)
    body = client.post("/account/totp/", {"code": _code(device)}).content.decode()
    assert "Your recovery codes" in body
    return re.findall(r"<li>([a-z0-9]{8})</li>", body)


def test_turning_it_on_asks_for_a_code_at_the_next_login(client, configured):  # type: ignore[no-untyped-def]
    client.force_login(configured)
    codes = _turn_on(client)
    assert len(codes) == 10
    client.logout()
    response = client.post("/login/", {"password": ADMIN_PASSWORD}, REMOTE_ADDR="203.0.113.3")
    assert response["Location"] == "/login/code/"
    assert "_auth_user_id" not in client.session  # not logged in after the password alone
    assert client.get("/").status_code == 302
    wrong = client.post("/login/code/", {"code": "000000"}, REMOTE_ADDR="203.0.113.3")
    assert "That code is not right" in wrong.content.decode()
    device = TOTPDevice.objects.get(confirmed=True)
    ok = client.post("/login/code/", {"code": _code(device, 1)}, REMOTE_ADDR="203.0.113.3")
    assert ok["Location"] == "/"
    assert client.get("/").status_code == 200


def test_a_recovery_code_logs_in_once(client, configured):  # type: ignore[no-untyped-def]
    client.force_login(configured)
    codes = _turn_on(client)
    client.logout()
    for expected in ("/", None):
        client.post("/login/", {"password": ADMIN_PASSWORD}, REMOTE_ADDR="203.0.113.4")
        answer = client.post("/login/code/", {"code": codes[0]}, REMOTE_ADDR="203.0.113.4")
        if expected:
            assert answer["Location"] == expected
            client.logout()
        else:
            assert answer.status_code == 200  # used already


def test_the_code_step_is_throttled_like_the_password(client, configured):  # type: ignore[no-untyped-def]
    client.force_login(configured)
    _turn_on(client)
    client.logout()
    client.post("/login/", {"password": ADMIN_PASSWORD}, REMOTE_ADDR="203.0.113.5")
    statuses = [
        client.post("/login/code/", {"code": "123456"}, REMOTE_ADDR="203.0.113.5").status_code
        for _ in range(5)
    ]
    assert statuses == [200] * 5
    device = TOTPDevice.objects.get(confirmed=True)
    right = client.post("/login/code/", {"code": _code(device, 1)}, REMOTE_ADDR="203.0.113.5")
    assert right.status_code == 429  # even the right code waits


def test_admins_can_be_required_to_use_it(admin_client, settings):  # type: ignore[no-untyped-def]
    settings.BANGUI_REQUIRE_TOTP_FOR_ADMINS = True
    response = admin_client.get("/jails/")
    assert response.status_code == 302 and response["Location"] == "/account/totp/"
    assert admin_client.post("/bans/unban-all/", {"confirmed": "yes"}).status_code == 302
    _turn_on(admin_client)
    assert admin_client.get("/jails/").status_code == 200
    refused = admin_client.post("/account/totp/disable/", follow=True)
    assert "Admins must keep two-factor login on here." in refused.content.decode()
