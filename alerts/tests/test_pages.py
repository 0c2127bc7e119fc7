"""The Alerts page: channels, the test button, rules, the list, failures shown, admins only."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.test import Client

from alerts.models import Channel, Notification, Rule
from alerts.tests.helpers import webhook
from bangui.models import UserProfile

URL = "/config/alerts/"


def _client(role: str) -> Client:
    user = get_user_model().objects.create_user(f"{role}-user", password="x-9-long-password")
    UserProfile.objects.create(user=user, role=role)
    client = Client()
    client.force_login(user)
    return client


def test_it_adds_a_webhook_channel_and_never_shows_its_secret(admin_client, hooks) -> None:  # type: ignore[no-untyped-def]
    response = admin_client.post(
        f"{URL}channels/add/",
        {
            "name": "ops",
            "kind": "webhook",
            "target": hooks.url(),
            "secret": "hush-42",
            "enabled": "on",
        },
    )
    assert response.status_code == 302
    channel = Channel.objects.get(name="ops")
    assert channel.secret == "hush-42"
    page = admin_client.get(URL).content.decode()
    assert "ops" in page and "hush-42" not in page
    edit = admin_client.get(f"{URL}channels/{channel.pk}/edit/").content.decode()
    assert "hush-42" not in edit and "A secret is stored" in edit
    # Saving the edit with the secret left empty keeps it.
    admin_client.post(
        f"{URL}channels/{channel.pk}/edit/",
        {"name": "ops2", "kind": "webhook", "target": hooks.url(), "secret": "", "enabled": "on"},
    )
    channel.refresh_from_db()
    assert channel.name == "ops2" and channel.secret == "hush-42"


def test_send_test_shows_the_outcome_in_the_row_and_the_list(admin_client, hooks) -> None:  # type: ignore[no-untyped-def]
    channel = webhook(hooks)
    response = admin_client.post(
        f"{URL}channels/{channel.pk}/test/", headers={"HX-Request": "true"}
    )
    body = response.content.decode()
    assert response.status_code == 200 and "test sent" in body
    assert 'hx-swap-oob="true"' in body and "Test from BanGUI (hook)" in body
    assert hooks.received[0].json()["test"] is True

    hooks.status = 500
    response = admin_client.post(f"{URL}channels/{channel.pk}/test/", follow=True)
    assert "The test to “hook” failed: HTTP 500 from the webhook" in response.content.decode()
    page = admin_client.get(URL).content.decode()
    assert "failing" in page and "HTTP 500 from the webhook" in page
    # ... and the status bar says so on every page.
    bar = admin_client.get("/status/bar/").content.decode()
    assert "alerts failing" in bar


def test_it_creates_a_rule_with_its_channels(admin_client, hooks) -> None:  # type: ignore[no-untyped-def]
    channel = webhook(hooks)
    response = admin_client.post(
        f"{URL}rules/add/",
        {"name": "spikes", "event": "ban_spike", "threshold": "100", "window_minutes": "5",
         "scope": "jail", "jail": "sshd", "origin": "", "country": "cn",
         "channels": [str(channel.pk)], "quiet_minutes": "15", "enabled": "on"},
    )  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:2000]
    rule = Rule.objects.get(name="spikes")
    assert rule.country == "CN" and list(rule.channels.all()) == [channel]
    page = admin_client.get(URL).content.decode()
    assert "more than 100 bans in 5 min, per jail, jail sshd" in page


def test_bad_input_is_refused_next_to_the_field(admin_client) -> None:  # type: ignore[no-untyped-def]
    response = admin_client.post(
        f"{URL}channels/add/", {"name": "x", "kind": "email", "target": "not-an-address, <b>"}
    )
    assert response.status_code == 400
    assert "is not an email address." in response.content.decode()
    response = admin_client.post(
        f"{URL}rules/add/",
        {"name": "r", "event": "ban_spike", "threshold": "-1", "window_minutes": "0",
         "scope": "nope", "jail": "../../etc", "country": "ZZZ", "quiet_minutes": "x"},
    )  # fmt: skip
    assert response.status_code == 400
    assert not Rule.objects.exists()


def test_only_admins_see_or_change_alerts(configured, hooks) -> None:  # type: ignore[no-untyped-def]
    channel = webhook(hooks)
    for role in ("viewer", "operator"):
        client = _client(role)
        assert client.get(URL).status_code == 403
        assert client.post(f"{URL}channels/{channel.pk}/test/").status_code == 403
        assert client.get(f"{URL}notifications/").status_code == 403
    assert hooks.received == []
    assert not Notification.objects.exists()


def test_unknown_objects_are_404_not_500(admin_client) -> None:  # type: ignore[no-untyped-def]
    assert admin_client.get(f"{URL}channels/999/edit/").status_code == 404
    assert admin_client.post(f"{URL}channels/999/test/").status_code == 404
    assert admin_client.post(f"{URL}rules/999/delete/").status_code == 404


def test_channel_and_rule_changes_are_audited_without_the_secret(admin_client, hooks) -> None:  # type: ignore[no-untyped-def]
    from jails.models import AuditEvent

    form = {"name": "ops", "kind": "webhook", "target": hooks.url(), "secret": "hush-42"}
    assert admin_client.post(f"{URL}channels/add/", {**form, "enabled": "on"}).status_code == 302
    channel = Channel.objects.get(name="ops")
    admin_client.post(f"{URL}channels/{channel.pk}/delete/")
    rows = list(AuditEvent.objects.filter(action="alert_channel").order_by("id"))
    assert [(r.target, r.params["op"]) for r in rows] == [("ops", "add"), ("ops", "delete")]
    assert all(r.user_id for r in rows)
    assert not any("hush-42" in str(r.params) or hooks.url() in str(r.params) for r in rows)

    rule = Rule.objects.create(name="spike", event="ban_spike")
    admin_client.post(f"{URL}rules/{rule.pk}/delete/")
    deleted = AuditEvent.objects.get(action="alert_rule")
    assert (deleted.target, deleted.params["op"]) == ("spike", "delete")
