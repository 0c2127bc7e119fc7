"""Blocklist sources in the Django admin: saved as the Blocklists page saves them."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from blocklists.models import BlocklistSource, ImportRun
from jails.models import AuditEvent

FORM = {
    "name": "blocklist.de ssh",
    "url": "https://lists.example/ssh.txt",
    "enabled": "on",
    "schedule": "daily",
    "run_at": "03:17",
    "weekday": "0",
    "bantime_text": "",
}


def _audit() -> list[tuple[str, str]]:
    return list(AuditEvent.objects.order_by("id").values_list("action", "target"))


def _post(client: Any, path: str, **changes: str) -> Any:
    return client.post(path, {**FORM, **changes})


def test_a_source_added_in_the_admin_is_scheduled_and_audited(admin_client) -> None:  # type: ignore[no-untyped-def]
    response = _post(
        admin_client, reverse("admin:blocklists_blocklistsource_add"), bantime_text="7d"
    )
    assert response.status_code == 302
    source = BlocklistSource.objects.get()
    assert source.next_run_at is not None and source.bantime == 7 * 86400
    assert ("blocklist_add", "blocklist.de ssh") in _audit()


def test_a_source_changed_in_the_admin_follows_its_new_schedule(admin_client) -> None:  # type: ignore[no-untyped-def]
    _post(admin_client, reverse("admin:blocklists_blocklistsource_add"))
    source = BlocklistSource.objects.get()
    change = reverse("admin:blocklists_blocklistsource_change", args=[source.pk])
    assert _post(admin_client, change, schedule="manual").status_code == 302
    source.refresh_from_db()
    assert source.schedule == "manual" and source.next_run_at is None
    assert _post(admin_client, change, schedule="hourly").status_code == 302
    source.refresh_from_db()
    assert source.next_run_at is not None and source.next_run_at.minute == 17
    assert _audit().count(("blocklist_edit", "blocklist.de ssh")) == 2


def test_the_admin_refuses_what_the_blocklists_page_refuses(admin_client) -> None:  # type: ignore[no-untyped-def]
    add = reverse("admin:blocklists_blocklistsource_add")
    for bad in ({"url": "ftp://lists.example/ssh.txt"}, {"bantime_text": "5m"}, {"name": "a<b>"}):
        response = _post(admin_client, add, **bad)
        assert response.status_code == 200 and response.context["adminform"].form.errors, bad
    assert not BlocklistSource.objects.exists() and not _audit()


def test_a_source_deleted_in_the_admin_is_audited_and_its_runs_stay(admin_client) -> None:  # type: ignore[no-untyped-def]
    first = BlocklistSource.objects.create(name="one", url="https://lists.example/1.txt")
    second = BlocklistSource.objects.create(name="two", url="https://lists.example/2.txt")
    ImportRun.objects.create(source=first, source_name="one", url=first.url, status="ok")
    delete = reverse("admin:blocklists_blocklistsource_delete", args=[first.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 302
    changelist = reverse("admin:blocklists_blocklistsource_changelist")
    action = {"action": "delete_selected", "_selected_action": [second.pk], "post": "yes"}
    assert admin_client.post(changelist, action).status_code == 302
    assert not BlocklistSource.objects.exists()
    assert ("blocklist_delete", "one") in _audit() and ("blocklist_delete", "two") in _audit()
    assert ImportRun.objects.get().source_name == "one"
