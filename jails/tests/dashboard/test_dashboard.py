"""The dashboard: windows and buckets (local time, DST), aggregates, filters, the page."""

from __future__ import annotations

import re
import zoneinfo
from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache import cache

from bangui.models import AppSettings
from jails.dashboard.charts import hbar_svg, linear_ticks, log_ticks, nice_max, pie_svg, trend_svg
from jails.dashboard.selectors import (
    ban_trend,
    bans_by_jail,
    dashboard_data,
    top_countries,
    window,
    window_counts,
)
from jails.models import BanRecord

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 3, 10, 12, 30, tzinfo=UTC)


def _rec(ip: str, at: datetime, **fields: object) -> BanRecord:
    values: dict[str, object] = {"jail": "sshd", "bantime": 600, "bancount": 1, **fields}
    return BanRecord.objects.create(ip=ip, banned_at=at, **values)


# -- windows ------------------------------------------------------------------------


def test_24h_has_24_real_hours_ending_after_now() -> None:
    win = window("24h", now=NOW, zone=UTC)
    assert len(win.edges) == 25
    assert win.end == datetime(2026, 3, 10, 13, 0, tzinfo=UTC)
    assert win.start == datetime(2026, 3, 9, 13, 0, tzinfo=UTC)
    assert all(b - a == timedelta(hours=1) for a, b in zip(win.edges, win.edges[1:], strict=False))


@pytest.mark.parametrize(
    ("key", "buckets", "step"),
    [
        ("7d", 28, timedelta(hours=6)),
        ("30d", 30, timedelta(days=1)),
        ("365d", 53, timedelta(days=7)),
    ],
)
def test_longer_ranges_have_their_bucket_sizes(key: str, buckets: int, step: timedelta) -> None:
    win = window(key, now=NOW, zone=UTC)
    assert len(win.edges) == buckets + 1
    assert win.edges[0] <= NOW - timedelta(days=int(key[:-1])) + step
    assert win.edges[-2] <= NOW < win.edges[-1]
    assert all(b - a == step for a, b in zip(win.edges, win.edges[1:], strict=False))


def test_day_buckets_start_at_local_midnight() -> None:
    win = window("30d", now=NOW, zone=BERLIN)
    assert all(e.astimezone(BERLIN).hour == 0 for e in win.edges)
    assert win.end == datetime(2026, 3, 10, 23, 0, tzinfo=UTC)  # 2026-03-11 00:00 CET


def test_spring_forward_day_is_23_hours() -> None:
    win = window("30d", now=datetime(2026, 4, 2, 10, tzinfo=UTC), zone=BERLIN)
    lengths = {
        e.astimezone(BERLIN).date().isoformat(): n - e
        for e, n in zip(win.edges, win.edges[1:], strict=False)
    }
    assert lengths["2026-03-29"] == timedelta(hours=23)
    assert lengths["2026-03-28"] == timedelta(hours=24)
    assert lengths["2026-03-30"] == timedelta(hours=24)


def test_fall_back_day_is_25_hours_and_6h_buckets_stay_local() -> None:
    win = window("30d", now=datetime(2026, 11, 2, 10, tzinfo=UTC), zone=BERLIN)
    lengths = {
        e.astimezone(BERLIN).date().isoformat(): n - e
        for e, n in zip(win.edges, win.edges[1:], strict=False)
    }
    assert lengths["2026-10-25"] == timedelta(hours=25)
    six = window("7d", now=datetime(2026, 10, 27, 10, tzinfo=UTC), zone=BERLIN)
    assert {e.astimezone(BERLIN).hour for e in six.edges} == {0, 6, 12, 18}
    assert timedelta(hours=7) in {n - e for e, n in zip(six.edges, six.edges[1:], strict=False)}


# -- aggregates ---------------------------------------------------------------------


@pytest.mark.django_db
def test_trend_buckets_boundaries_and_zero_fill() -> None:
    win = window("24h", now=NOW, zone=UTC)
    _rec("192.0.2.1", win.start)  # first instant of the first bucket
    _rec("192.0.2.2", win.start - timedelta(seconds=1))  # just outside
    _rec("192.0.2.3", win.edges[5] - timedelta(microseconds=1))  # end of bucket 4
    _rec("192.0.2.4", win.edges[5])  # start of bucket 5
    _rec("192.0.2.5", NOW)
    trend = ban_trend(win)
    counts = [b.count for b in trend]
    assert len(counts) == 24
    assert counts[0] == 1 and counts[4] == 1 and counts[5] == 1 and counts[23] == 1
    assert sum(counts) == 4
    assert counts.count(0) == 20


@pytest.mark.django_db
def test_trend_on_the_dst_day_in_berlin() -> None:
    now = datetime(2026, 3, 30, 10, tzinfo=UTC)
    win = window("30d", now=now, zone=BERLIN)
    # 2026-03-29 local: 2026-03-28 23:00Z .. 2026-03-29 22:00Z (23 hours).
    _rec("192.0.2.1", datetime(2026, 3, 28, 23, 0, tzinfo=UTC))  # 00:00 CET on the 29th
    _rec("192.0.2.2", datetime(2026, 3, 29, 21, 59, tzinfo=UTC))  # 23:59 CEST on the 29th
    _rec("192.0.2.3", datetime(2026, 3, 29, 22, 0, tzinfo=UTC))  # 00:00 CEST on the 30th
    _rec("192.0.2.4", datetime(2026, 3, 28, 22, 59, tzinfo=UTC))  # 23:59 CET on the 28th
    by_day = {b.start.astimezone(BERLIN).date().isoformat(): b.count for b in ban_trend(win)}
    assert by_day["2026-03-29"] == 2
    assert by_day["2026-03-30"] == 1
    assert by_day["2026-03-28"] == 1


@pytest.mark.django_db
def test_trend_follows_the_configured_timezone() -> None:
    AppSettings.objects.update_or_create(pk=1, defaults={"timezone": "Europe/Berlin"})
    cache.clear()
    now = datetime(2026, 10, 26, 10, tzinfo=UTC)
    _rec("192.0.2.1", datetime(2026, 10, 24, 22, 30, tzinfo=UTC))  # 00:30 CEST on the 25th
    _rec("192.0.2.2", datetime(2026, 10, 25, 22, 30, tzinfo=UTC))  # 23:30 CET on the 25th
    data = dashboard_data("30d", origin=None, jail=None, now=now)
    assert data.window.zone == BERLIN
    by_day = {b.start.astimezone(BERLIN).date().isoformat(): b.count for b in data.trend}
    assert by_day["2026-10-25"] == 2
    assert data.total == 2


@pytest.mark.django_db
def test_top_countries_and_jails_with_filters() -> None:
    win = window("7d", now=NOW, zone=UTC)
    at = NOW - timedelta(hours=1)
    for i in range(3):
        _rec(f"192.0.2.{i}", at, country_code="DE")
    _rec("192.0.2.9", at, country_code="US", jail="nginx", origin="manual")
    _rec("192.0.2.10", at, country_code="")
    shares = top_countries(window_counts(win))
    assert [(s.key, s.count) for s in shares.top] == [("DE", 3), ("US", 1)]
    assert shares.unknown == 1
    assert [(s.key, s.count) for s in bans_by_jail(window_counts(win))] == [
        ("sshd", 4),
        ("nginx", 1),
    ]
    manual = window_counts(win, origin="manual")
    assert [s.key for s in top_countries(manual).top] == ["US"]
    assert [s.key for s in bans_by_jail(window_counts(win, jail="sshd"))] == ["sshd"]


@pytest.mark.django_db
def test_no_geo_at_all() -> None:
    win = window("24h", now=NOW, zone=UTC)
    _rec("192.0.2.1", NOW - timedelta(minutes=5))
    shares = top_countries(window_counts(win))
    assert shares.top == [] and shares.unknown == 1


# -- charts -------------------------------------------------------------------------


def test_charts_escape_text_and_use_no_style() -> None:
    svg = hbar_svg([("<script>", 3), ("b", 1)], title="T & <b>", chart_id="x")
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "T &amp; &lt;b&gt;" in svg
    trend = trend_svg([("a<", 0), ("b", 5)], title="t", chart_id="y")
    assert "style" not in svg and "style" not in trend and "a&lt;" in trend
    assert trend_svg([], title="empty", chart_id="z").startswith("<svg")
    assert [nice_max(v) for v in (0, 1, 3, 7, 12, 101)] == [1, 1, 5, 10, 20, 200]


def test_trend_axis_ticks_are_whole_numbers() -> None:
    assert linear_ticks(0) == [0, 1]
    assert linear_ticks(3) == [0, 1, 2, 3]
    assert linear_ticks(50) == [0, 10, 20, 30, 40, 50]
    assert linear_ticks(602) == [0, 200, 400, 600, 800]
    for peak in range(0, 2000, 7):
        ticks = linear_ticks(peak)
        assert ticks[-1] >= peak and len(ticks) <= 7
    assert ".5<" not in trend_svg([("a", 50)], title="t", chart_id="c")


def test_the_log_scale_keeps_small_columns_visible_next_to_an_import() -> None:
    assert log_ticks(602) == [0, 10, 100, 1000] and log_ticks(50) == [0, 1, 10, 100]
    svg = trend_svg([("a", 602), ("b", 3)], title="t", chart_id="c", log=True)
    heights = [float(h) for h in re.findall(r'<rect class="bar"[^>]* height="([\d.]+)"', svg)]
    assert heights[1] > heights[0] / 5  # linear: 3/602 of it, under a pixel


# -- the page -----------------------------------------------------------------------


@pytest.fixture
def week(db):  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)
    _rec("203.0.113.7", now - timedelta(hours=2), country_code="DE", matches="line one\nline two")
    _rec("198.51.100.4", now - timedelta(days=3), origin="manual", jail="manual")
    _rec("192.0.2.8", now - timedelta(days=20), origin="blocklist", jail="blocklist-import")


def test_the_page_shows_charts_and_list(admin_client, week) -> None:  # type: ignore[no-untyped-def]
    body = admin_client.get("/").content.decode()
    assert "Ban trend" in body and "Top countries" in body and "Bans by jail" in body
    assert 'class="chart chart-trend"' in body
    assert "/history/ip/203.0.113.7/" in body and "line one" in body
    assert "198.51.100.4" not in body  # three days ago: outside 24h
    assert 'id="dash-live"' in body and "every 30s" in body and "data-poll" in body
    assert "style=" not in body.split("<main", 1)[1]


def test_range_and_origin_filters(admin_client, week) -> None:  # type: ignore[no-untyped-def]
    body = admin_client.get("/?range=30d").content.decode()
    assert "203.0.113.7" in body and "198.51.100.4" in body and "192.0.2.8" in body
    body = admin_client.get("/?range=30d&origin=manual").content.decode()
    assert "198.51.100.4" in body and "203.0.113.7" not in body
    body = admin_client.get("/?range=30d&jail=blocklist-import").content.decode()
    assert "192.0.2.8" in body and "203.0.113.7" not in body


def test_the_trend_scale_is_in_the_url(admin_client, week) -> None:  # type: ignore[no-untyped-def]
    body = admin_client.get("/?range=30d&scale=log").content.decode()
    assert "log scale</title>" in body
    assert 'value="log" id="id_scale_1" checked' in body
    assert "log scale</title>" not in admin_client.get("/?range=30d&scale=evil").content.decode()


def test_bad_values_fall_back_to_defaults(admin_client, week) -> None:  # type: ignore[no-untyped-def]
    response = admin_client.get("/?range=5y&origin=x&jail=nope&sort=evil&page=abc")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Last 24 hours" in body and "203.0.113.7" in body
    assert admin_client.get("/?page=999999999999").status_code == 200


def test_empty_archive(admin_client) -> None:  # type: ignore[no-untyped-def]
    body = admin_client.get("/?range=365d").content.decode()
    assert "No archived ban in this window" in body
    assert "No ban in this window has a known country." in body


def test_htmx_gets_the_fragment(admin_client, week) -> None:  # type: ignore[no-untyped-def]
    response = admin_client.get("/?range=7d", HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="dash-live"')
    assert "<html" not in body and "198.51.100.4" in body
    assert "HX-Request" in response["Vary"]
    restore = admin_client.get(
        "/?range=7d", HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true"
    )
    assert "<html" in restore.content.decode()


def test_sorting_and_paging(admin_client, db) -> None:  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)
    BanRecord.objects.bulk_create(
        BanRecord(
            ip=f"192.0.2.{i}",
            jail="sshd",
            banned_at=now - timedelta(minutes=i + 1),
            bantime=600,
            bancount=1 + i % 5,
        )
        for i in range(60)
    )
    body = admin_client.get("/?page=2").content.decode()
    assert "Showing 51–60 of 60." in body
    body = admin_client.get("/?sort=-bancount").content.decode()
    assert 'aria-sort="descending"' in body


@pytest.mark.django_db
def test_aggregates_are_cached_until_a_ban_is_archived() -> None:
    cache.clear()
    now = datetime.now(UTC)
    _rec("192.0.2.1", now - timedelta(minutes=5))
    assert dashboard_data("24h", origin=None, jail=None).total == 1
    BanRecord.objects.filter(ip="192.0.2.1").update(country_code="DE")
    assert dashboard_data("24h", origin=None, jail=None).countries.top == []  # cached
    _rec("192.0.2.2", now - timedelta(minutes=4))
    data = dashboard_data("24h", origin=None, jail=None)
    assert data.total == 2 and [s.key for s in data.countries.top] == ["DE"]


def test_the_pie_groups_small_countries_and_the_unknown_into_one_grey_slice() -> None:
    items = [(f"Country {i}", 10 - i) for i in range(8)]
    svg = str(pie_svg(items, rest=5, rest_label="Other or unknown", title="Share", chart_id="p"))
    assert svg.count("<path") == 7  # six countries and the rest
    assert 'class="slice-rest"' in svg and "Other or unknown: 12" in svg  # 4 + 3 + 5
    assert 'aria-labelledby="p"' in svg


def test_a_pie_of_one_country_is_a_whole_ring_and_labels_are_escaped() -> None:
    svg = str(pie_svg([("<b>DE</b>", 3)], rest_label="Other", title="Share", chart_id="p"))
    assert "<b>" not in svg and "&lt;b&gt;DE&lt;/b&gt;" in svg
    assert "100%" in svg
    # Two half-rings: an SVG arc cannot start and end on the same point.
    assert svg.count("A80 80") == 2
