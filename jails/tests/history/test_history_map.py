"""The map on the History page: counts for the page's filters, links that pick a country."""

from __future__ import annotations

import random
import re
from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from jails.history.forms import parse_ip_query
from jails.history.map import history_country_counts
from jails.history.rollup import rollup_fill
from jails.models import BanRecord

pytestmark = pytest.mark.django_db


def _rec(ip: str, country: str, *, days_ago: float = 1, jail: str = "sshd", **kw: object) -> None:
    BanRecord.objects.create(
        ip=ip,
        jail=jail,
        banned_at=timezone.now() - timedelta(days=days_ago),
        bantime=600,
        bancount=1,
        failures=3,
        country_code=country,
        **kw,
    )


@pytest.fixture
def archive() -> None:
    _rec("81.2.69.1", "GB", days_ago=0.1)
    _rec("81.2.69.2", "GB", days_ago=3)
    _rec("8.8.8.8", "US", days_ago=3, jail="nginx")
    _rec("1.2.3.4", "", days_ago=40)
    _rec("5.6.7.8", "DE", days_ago=2, jail="manual", origin="manual")


def _map(client, query: str = "") -> str:  # type: ignore[no-untyped-def]
    response = client.get(f"/history/map/{query}")
    assert response.status_code == 200
    return str(response.content.decode())


def test_the_map_counts_every_ban_and_links_each_country(admin_client, archive) -> None:  # type: ignore[no-untyped-def]
    body = _map(admin_client)
    assert "<strong>5</strong> bans from <strong>3</strong> countries" in body
    assert "1 ban from addresses with no known country" in body
    assert re.search(r'<a href="/history/\?country=GB" class="country c1"', body)
    assert "<title>United Kingdom: 2 bans</title>" in body
    assert "hx-get" not in body  # plain links: the page reloads with the country chosen


def test_the_map_follows_the_other_filters_but_not_the_country(admin_client, archive) -> None:  # type: ignore[no-untyped-def]
    body = _map(admin_client, "?period=7d&jail=sshd&country=US&sort=ip")
    assert "<strong>2</strong> bans from <strong>1</strong> country" in body
    assert "<title>United States: no bans</title>" in body
    assert 'href="/history/?period=7d&amp;jail=sshd&amp;sort=ip&amp;country=GB"' in body
    body = _map(admin_client, "?origin=manual")
    assert "<title>Germany: 1 ban</title>" in body
    assert "<title>United Kingdom: no bans</title>" in body


def test_an_address_filter_is_counted_too(admin_client, archive) -> None:  # type: ignore[no-untyped-def]
    body = _map(admin_client, "?ip=81.2.69.0/24")
    assert "<strong>2</strong> bans from <strong>1</strong> country" in body


def test_bad_filters_are_left_out_not_an_error(admin_client, archive) -> None:  # type: ignore[no-untyped-def]
    body = _map(admin_client, "?period=nonsense&country=%3Cb%3E&ip=not-an-ip&jail=nope")
    assert "<strong>5</strong> bans" in body


def test_an_empty_archive_gives_an_empty_map(admin_client) -> None:  # type: ignore[no-untyped-def]
    body = _map(admin_client)
    assert "<strong>0</strong> bans match" in body
    assert 'class="worldmap"' in body


def test_choosing_a_country_opens_the_map_on_the_page(admin_client, archive) -> None:  # type: ignore[no-untyped-def]
    body = admin_client.get("/history/?country=GB").content.decode()
    assert re.search(r'<details class="panel history-map"[^>]* open data-loaded>', body)
    assert 'class="country c1 is-selected"' in body
    closed = admin_client.get("/history/?jail=sshd").content.decode()
    assert "data-loaded" not in closed and 'class="worldmap"' not in closed
    assert 'href="?jail=sshd&amp;map=1">Show the map</a>' in closed
    assert 'class="worldmap"' in admin_client.get("/history/?map=1").content.decode()


def test_rolled_up_counts_equal_counting_every_ban() -> None:
    rng = random.Random(5)
    for n in range(400):
        _rec(
            f"10.0.{n // 250}.{n % 250}",
            rng.choice(["GB", "US", "DE", ""]),
            days_ago=rng.uniform(0, 60),
            jail=rng.choice(["sshd", "nginx"]),
        )
    expected = Counter(
        r.upper()
        for r in BanRecord.objects.filter(jail="sshd").values_list("country_code", flat=True)
    )
    assert rollup_fill() > 0
    counted = history_country_counts(since=None, jail="sshd", origin=None)
    assert counted.counts == {k: v for k, v in expected.items() if k}
    assert counted.unresolved == expected[""]
    ip = parse_ip_query("10.0.0.0/16")
    assert history_country_counts(since=None, jail="sshd", origin=None, ip=ip).total == sum(
        expected.values()
    )
