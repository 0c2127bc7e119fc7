"""{% load geo %}: the geo tag, the geo_flag filter and geo_annotate."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.db import connection
from django.template import Context, Template
from django.test.utils import CaptureQueriesContext

from geo.info import GeoInfo
from geo.selectors import geo_annotate

from .test_lookup import writes

pytestmark = pytest.mark.django_db


def render(source: str, **context: object) -> str:
    return Template("{% load geo %}" + source).render(Context(context))


def test_the_tag_shows_flag_and_country_with_the_owner_as_tooltip(settings, asn_db_path):
    settings.BANGUI_GEOIP_ASN_DB_PATH = str(asn_db_path)
    html = render("{% geo ip %}", ip="8.8.8.8")
    assert '<span class="geo-flag" aria-hidden="true">\U0001f1fa\U0001f1f8</span>' in html
    assert "United States" in html
    assert 'title="US · AS15169 Google LLC"' in html


def test_the_tag_says_when_an_ip_is_not_resolved_yet():
    html = render("{% geo ip %}", ip="5.5.5.5")
    assert "—" in html
    assert 'title="Not resolved yet; BanGUI retries in a few minutes"' in html


@pytest.mark.parametrize(
    ("ip", "text"),
    [("10.0.0.1", "private network"), ("127.0.0.1", "loopback"), ("fe80::1", "link-local")],
)
def test_the_tag_names_special_ranges(ip, text):
    html = render("{% geo ip %}", ip=ip)
    assert text in html
    assert "Not resolved" not in html


def test_the_tag_escapes_what_it_shows():
    # Without a code the stored name is shown as it is (with one, the map's name is).
    info = GeoInfo("8.8.8.8", "", "<script>x</script>", 1, '"><b>', "http", True)
    html = render("{% geo info %}", info=info)
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert '"><b>' not in html


def test_the_tag_uses_one_name_per_country_whatever_the_source_wrote():
    info = GeoInfo("1.2.3.4", "KR", "Republic of Korea", None, "", "http", True)
    assert "South Korea" in render("{% geo info %}", info=info)


def test_the_tag_takes_an_annotated_row_without_a_lookup(django_assert_num_queries, reader_spy):
    info = GeoInfo("81.2.69.142", "GB", "United Kingdom", None, "", "mmdb", True)
    with django_assert_num_queries(0):
        html = render("{% geo row.geo %}", row={"geo": info})
    assert "United Kingdom" in html
    assert reader_spy == []


def test_no_ip_renders_a_plain_dash():
    assert "Not resolved" not in render("{% geo ip %}", ip=None)
    assert render("{{ ip|geo_flag }}", ip="") == "—"


def test_the_filter_renders_flag_and_name():
    assert render("{{ ip|geo_flag }}", ip="81.2.69.142") == "\U0001f1ec\U0001f1e7 United Kingdom"
    assert render("{{ ip|geo_flag }}", ip="192.168.1.1") == "private network"
    assert render("{{ ip|geo_flag }}", ip="5.5.5.5") == "—"
    assert render("{{ ip|geo_flag }}", ip="no<b>ip") == "not an IP address"


def test_rendering_never_writes_to_the_database():
    with CaptureQueriesContext(connection) as ctx:
        render("{% geo a %}{% geo b %}{{ c|geo_flag }}", a="8.8.8.8", b="5.5.5.5", c="1.1.1.1")
    assert writes(ctx) == []


@dataclass
class Ban:
    ip: str | None
    jail: str = "sshd"
    geo: GeoInfo | None = None


def test_annotate_resolves_a_page_with_one_query(django_assert_num_queries):
    rows = [Ban(f"81.2.69.{i}") for i in range(50)] + [Ban("10.0.0.1"), Ban(None)]
    with django_assert_num_queries(1):
        annotated = geo_annotate(rows)
    assert annotated is not rows
    assert annotated[0].geo is not None and annotated[0].geo.country_code == "GB"
    assert annotated[50].geo is not None and annotated[50].geo.special == "private"
    assert annotated[51].geo is None
    with django_assert_num_queries(0):
        html = render("{% for r in rows %}{% geo r.geo %}{% endfor %}", rows=annotated)
    assert html.count("United Kingdom") == 50


def test_annotate_handles_dicts_and_other_attribute_names():
    rows = geo_annotate([{"addr": "8.8.8.8"}, {"addr": "bogus"}], "addr", to="where")
    assert rows[0]["where"].country_code == "US"
    assert rows[1]["where"].special == "invalid"
