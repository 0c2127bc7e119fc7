"""The world map page: aggregation, thresholds, filters, bad input, htmx, the country table."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from geo import worldmap
from jails.history.map_selectors import (
    MapFilters,
    band,
    country_counts,
    legend,
    thresholds,
)
from jails.models import BanRecord


def _rec(ip: str, country: str, *, hours: float = 1, jail: str = "sshd", origin: str = "detected"):  # type: ignore[no-untyped-def]
    return BanRecord.objects.create(
        ip=ip,
        jail=jail,
        banned_at=timezone.now() - timedelta(hours=hours),
        bantime=600,
        origin=origin,
        country_code=country,
    )


def _get(client, query: str = "", **headers: str) -> str:  # type: ignore[no-untyped-def]
    response = client.get(f"/map/{query}", **headers)
    assert response.status_code == 200
    return str(response.content.decode())


def _country_class(body: str, code: str) -> str:
    """The class attribute of a country's element in the SVG."""
    m = re.search(
        rf'<a href="[^"]*" hx-get="[^"]*" class="([^"]*)" data-country="{code}" id="map-{code}"',
        body,
    )
    return m.group(1) if m else ""


def _table_ips(body: str) -> list[str]:
    return re.findall(r'<td class="mono nowrap"><a href="/history/ip/[^"]+/">([^<]+)</a>', body)


@pytest.fixture
def bans(db) -> None:  # type: ignore[no-untyped-def]
    for i in range(12):
        _rec(f"203.0.113.{i}", "DE")
    for i in range(3):
        _rec(f"198.51.100.{i}", "US", jail="nginx", origin="manual")
    _rec("192.0.2.1", "FR", hours=24 * 20)  # outside the default 7 days
    _rec("192.0.2.2", "", origin="blocklist")
    _rec("192.0.2.3", "")


# -- the shapes ------------------------------------------------------------------


def test_shapes_come_from_the_package() -> None:
    shapes = worldmap.countries()
    codes = {c.code for c in shapes}
    assert len(shapes) > 150
    assert {"DE", "US", "CN", "BR", "AU"} <= codes
    assert worldmap.country_name("DE") == "Germany"
    assert worldmap.countries() is shapes  # parsed once


def test_render_map_links_only_countries_with_bans() -> None:
    svg = worldmap.render_map({"DE": 3}, {"DE": 1}, lambda c: f"?country={c}", selected="DE")
    assert svg.count("<a ") == 1
    assert 'class="country c1 is-selected" data-country="DE" id="map-DE" aria-current="true"' in svg
    assert "<title>Germany: 3 bans</title>" in svg
    assert "<title>France: no bans</title>" in svg
    assert "style=" not in svg


# -- thresholds --------------------------------------------------------------------


def test_thresholds_default_and_setting(settings) -> None:  # type: ignore[no-untyped-def]
    assert thresholds() == (10, 50, 200)
    settings.BANGUI_MAP_THRESHOLDS = "5, 20,100"
    assert thresholds() == (5, 20, 100)
    for bad in ("a,b,c", "10,5,200", "0,1,2", "10,50", ""):
        settings.BANGUI_MAP_THRESHOLDS = bad
        assert thresholds() == (10, 50, 200)


@pytest.mark.parametrize(
    ("count", "expected"), [(0, 0), (1, 1), (9, 1), (10, 2), (49, 2), (50, 3), (199, 3), (200, 4)]
)
def test_band(count: int, expected: int) -> None:
    assert band(count, (10, 50, 200)) == expected


def test_legend_labels() -> None:
    assert [b.label for b in legend((10, 50, 200))] == ["1–9", "10–49", "50–199", "200+"]


# -- aggregation ---------------------------------------------------------------------


def test_counts_in_grouped_queries(bans) -> None:  # type: ignore[no-untyped-def]
    with CaptureQueriesContext(connection) as ctx:
        counted = country_counts(MapFilters())
    # Which days are rolled up, then one GROUP BY over the rest: no row fetched.
    assert len(ctx.captured_queries) == 2
    assert "GROUP BY" in ctx.captured_queries[-1]["sql"]
    assert counted.counts == {"DE": 12, "US": 3}
    assert counted.unresolved == 2
    assert counted.total == 17


def test_window_filters(bans) -> None:  # type: ignore[no-untyped-def]
    assert country_counts(MapFilters(range="30d")).counts["FR"] == 1
    manual = country_counts(MapFilters(origin="manual"))
    assert manual.counts == {"US": 3} and manual.unresolved == 0
    assert country_counts(MapFilters(jail="nginx")).counts == {"US": 3}


# -- the page ----------------------------------------------------------------------


def test_page_colours_countries(admin_client, bans, settings) -> None:  # type: ignore[no-untyped-def]
    settings.BANGUI_MAP_THRESHOLDS = "2,10,100"
    body = _get(admin_client)
    assert _country_class(body, "DE") == "country c3"  # 12: medium
    assert _country_class(body, "US") == "country c2"  # 3: low
    assert _country_class(body, "FR") == ""  # not in 7 days: no link
    assert "10–99" in body and "100+" in body
    assert "2 bans from addresses with no known country" in body
    assert 'hx-trigger="every 30s, refresh"' in body and "data-poll" in body
    assert 'style="' not in body.split("<main", 1)[1]
    assert "<script>" not in body


def test_range_and_origin_filters(admin_client, bans) -> None:  # type: ignore[no-untyped-def]
    body = _get(admin_client, "?range=30d")
    assert _country_class(body, "FR") == "country c1"
    body = _get(admin_client, "?origin=manual&jail=nginx")
    assert _country_class(body, "US") and not _country_class(body, "DE")
    assert '<option value="manual" selected>' in body


def test_empty_archive(admin_client, db) -> None:  # type: ignore[no-untyped-def]
    body = _get(admin_client)
    assert "<strong>0</strong> bans in the last 7 days" in body
    assert "<a href" not in body.split('<svg class="worldmap"', 1)[1].split("</svg>", 1)[0]
    assert "No ban in this window has a known country." in body


def test_archive_without_geo(admin_client, db) -> None:  # type: ignore[no-untyped-def]
    for i in range(4):
        _rec(f"192.0.2.{i}", "")
    body = _get(admin_client)
    assert "4 bans from addresses with no known country" in body
    assert "No ban in this window has a known country." in body


@pytest.mark.parametrize(
    "query",
    [
        "?range=99y",
        "?origin=evil",
        "?jail=nope",
        "?country=D%C3%9C",
        "?country=DEU",
        "?country=DE&page=abc",
        "?country=DE&page=99999",
        "?range=%00",
    ],
)
def test_bad_query_values_still_answer(admin_client, bans, query: str) -> None:  # type: ignore[no-untyped-def]
    body = _get(admin_client, query)
    assert '<svg class="worldmap"' in body


def test_bad_range_says_so(admin_client, bans) -> None:  # type: ignore[no-untyped-def]
    body = _get(admin_client, "?range=99y")
    assert "Unknown time range" in body
    assert _country_class(body, "DE")


def test_htmx_gets_the_fragment(admin_client, bans) -> None:  # type: ignore[no-untyped-def]
    response = admin_client.get("/map/?range=24h", HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200
    assert '<div id="map-body"' in body and "<html" not in body
    assert "HX-Request" in response["Vary"]


def test_country_click_filters_the_table(admin_client, bans) -> None:  # type: ignore[no-untyped-def]
    body = _get(admin_client)
    link = re.search(r'<a href="([^"]*)" hx-get="[^"]*" class="[^"]*" data-country="US"', body)
    assert link is not None
    assert link.group(1) == "/map/?country=US"
    body = _get(admin_client, "?country=US", HTTP_HX_REQUEST="true")
    assert sorted(_table_ips(body)) == ["198.51.100.0", "198.51.100.1", "198.51.100.2"]
    assert "United States" in body and "3 bans in the last 7 days" in body
    assert _country_class(body, "US") == "country c1 is-selected"
    assert 'value="US" form="map-filters"' in body
    # Lower case works too, and other filters are kept in the links.
    body = _get(admin_client, "?country=us&origin=manual")
    assert len(_table_ips(body)) == 3
    assert 'href="/map/?origin=manual&amp;country=DE"' not in body  # DE has no manual bans
    assert 'href="/map/?origin=manual"' in body  # "show all countries"


def test_country_table_pages_by_50(admin_client, db) -> None:  # type: ignore[no-untyped-def]
    for i in range(60):
        _rec(f"203.0.113.{i}", "DE", hours=1 + i / 100)
    body = _get(admin_client, "?country=DE")
    assert len(_table_ips(body)) == 50
    assert "Page 1 of 2" in body and "page=2" in body
    body = _get(admin_client, "?country=DE&page=2")
    assert len(_table_ips(body)) == 10


def test_country_without_bans(admin_client, bans) -> None:  # type: ignore[no-untyped-def]
    body = _get(admin_client, "?country=JP")
    assert "No ban from Japan in this window." in body


def test_login_required(client, db) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/map/")
    assert response.status_code in (302, 303)


def test_unchanged_poll_is_a_304(admin_client, bans) -> None:  # type: ignore[no-untyped-def]
    first = admin_client.get("/map/", HTTP_HX_REQUEST="true")
    etag = first["ETag"]
    assert "no-cache" in first["Cache-Control"]
    again = admin_client.get("/map/", HTTP_HX_REQUEST="true", HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and again.content == b""
    _rec("203.0.113.200", "DE")
    changed = admin_client.get("/map/", HTTP_HX_REQUEST="true", HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200 and changed["ETag"] != etag
