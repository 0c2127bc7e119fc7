"""The geo cache in the Django admin: entries may be deleted (it is a cache), never written."""

from __future__ import annotations

from datetime import UTC, datetime

from django.urls import reverse

from geo.info import GeoInfo
from geo.lookup.memory import CacheEntry
from geo.lookup.pipeline import memory
from geo.models import GeoCache

NOW = datetime(2025, 3, 10, 12, 0, 0, tzinfo=UTC)


def _entry(ip: str, code: str = "DE") -> GeoCache:
    return GeoCache.objects.create(
        ip=ip, country_code=code, source="mmdb", resolved_at=NOW, last_seen=NOW
    )


def test_the_geo_cache_is_not_written_in_the_admin(admin_client) -> None:  # type: ignore[no-untyped-def]
    entry = _entry("203.0.113.7")
    add = reverse("admin:geo_geocache_add")
    change = reverse("admin:geo_geocache_change", args=[entry.pk])
    assert admin_client.post(add, {"ip": "198.51.100.1", "country_code": "US"}).status_code == 403
    assert admin_client.post(change, {"ip": entry.ip, "country_code": "US"}).status_code == 403
    assert list(GeoCache.objects.values_list("ip", "country_code")) == [("203.0.113.7", "DE")]


def test_a_geo_cache_entry_deleted_in_the_admin_is_looked_up_again(admin_client) -> None:  # type: ignore[no-untyped-def]
    kept, dropped = _entry("203.0.113.7"), _entry("203.0.113.8")
    info = GeoInfo(ip=dropped.ip, country_code="DE", source="mmdb", resolved=True)
    memory().put([CacheEntry(info=info, resolved_at=NOW, last_seen=NOW)])
    assert dropped.ip in memory().get_many([dropped.ip])
    delete = reverse("admin:geo_geocache_delete", args=[dropped.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 302
    assert list(GeoCache.objects.values_list("ip", flat=True)) == [kept.ip]
    assert dropped.ip not in memory().get_many([dropped.ip])  # this process forgot it too


def test_the_geo_cache_search_is_a_range_on_the_address(admin_client) -> None:  # type: ignore[no-untyped-def]
    for ip in ("203.0.113.7", "203.0.113.70", "198.51.100.4", "2001:db8::1"):
        _entry(ip)
    changelist = reverse("admin:geo_geocache_changelist")

    def found(term: str) -> set[str]:
        response = admin_client.get(changelist, {"q": term})
        assert response.status_code == 200
        return set(response.context["cl"].result_list.values_list("ip", flat=True))

    assert found("203.0.113.7") == {"203.0.113.7"}
    assert found("203.0.113.") == {"203.0.113.7", "203.0.113.70"}
    assert found("2001:DB8:") == {"2001:db8::1"}
    assert found("not an address") == set()


def test_deleting_many_geo_cache_entries_lists_a_few_and_deletes_all(admin_client) -> None:  # type: ignore[no-untyped-def]
    GeoCache.objects.bulk_create(
        GeoCache(ip=f"203.0.113.{n}", source="none", resolved_at=NOW, last_seen=NOW)
        for n in range(1, 106)
    )
    info = GeoInfo(ip="203.0.113.9", country_code="DE", source="mmdb", resolved=True)
    memory().put([CacheEntry(info=info, resolved_at=NOW, last_seen=NOW)])
    changelist = reverse("admin:geo_geocache_changelist")
    action = {"action": "delete_selected", "select_across": "1", "index": "0",
              "_selected_action": ["203.0.113.1"]}  # fmt: skip
    confirm = admin_client.post(changelist, action)
    assert confirm.status_code == 200
    body = confirm.content.decode()
    assert "… and 5 more" in body and body.count("<li>") < 130
    assert admin_client.post(changelist, {**action, "post": "yes"}).status_code == 302
    assert not GeoCache.objects.exists()
    assert not memory().get_many(["203.0.113.9"])
