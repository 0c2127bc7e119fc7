"""The MaxMind files: database types, faults, reopening, the demo default."""

from __future__ import annotations

import os

import pytest

from geo.lookup.mmdb import country_db, country_db_location, demo_db_path
from geo.selectors import geo_lookup, geo_status

from .conftest import COUNTRY_NETWORKS, country, write_mmdb

pytestmark = pytest.mark.django_db


def test_it_resolves_from_a_city_database():
    info = geo_lookup("81.2.69.142")
    assert (info.country_code, info.country_name, info.source, info.resolved) == (
        "GB",
        "United Kingdom",
        "mmdb",
        True,
    )


def test_it_resolves_from_a_country_database(settings, tmp_path):
    path = write_mmdb(tmp_path / "c.mmdb", COUNTRY_NETWORKS, "GeoIP2-Country")
    settings.BANGUI_GEOIP_DB_PATH = str(path)
    assert geo_lookup("2a02:ec0::1").country_code == "DE"
    assert geo_status(count=False)["type"] == "GeoIP2-Country"


def test_it_falls_back_to_the_registered_country():
    assert geo_lookup("1.1.1.1").country_code == "AU"


def test_a_record_without_country_is_unresolved():
    info = geo_lookup("5.5.5.5")
    assert not info.resolved
    assert info.source == "none"


def test_it_adds_asn_and_organisation_from_the_asn_database(settings, asn_db_path):
    settings.BANGUI_GEOIP_ASN_DB_PATH = str(asn_db_path)
    info = geo_lookup("8.8.8.8")
    assert (info.country_code, info.asn, info.org) == ("US", 15169, "Google LLC")
    assert info.as_text == "AS15169 Google LLC"
    # A country miss keeps what the ASN database knows.
    assert geo_lookup("5.5.5.5").asn == 64500


def test_an_asn_database_given_as_country_database_is_refused(settings, asn_db_path):
    settings.BANGUI_GEOIP_DB_PATH = str(asn_db_path)
    assert not geo_lookup("8.8.8.8").resolved
    status = geo_status(count=False)
    assert status["ok"] is False
    assert "expected a Country or City database" in str(status["error"])


@pytest.mark.parametrize("content", [None, b"", b"not a database" * 100])
def test_a_missing_or_corrupt_database_gives_unresolved_and_a_status(settings, tmp_path, content):
    path = tmp_path / "broken.mmdb"
    if content is not None:
        path.write_bytes(content)
    settings.BANGUI_GEOIP_DB_PATH = str(path)
    info = geo_lookup("8.8.8.8")
    assert not info.resolved
    status = geo_status(count=False)
    assert status["ok"] is False
    assert str(path) in str(status["error"])
    assert status["last_error"]


def test_an_unreadable_database_is_reported(settings, tmp_path):
    (tmp_path / "dir.mmdb").mkdir()  # unreadable as a file, even for root
    settings.BANGUI_GEOIP_DB_PATH = str(tmp_path / "dir.mmdb")
    assert not geo_lookup("8.8.8.8").resolved
    assert "cannot" in str(geo_status(count=False)["error"])


def test_a_corrupt_data_section_fails_only_the_lookup(settings, tmp_path):
    path = write_mmdb(tmp_path / "c.mmdb", COUNTRY_NETWORKS, "GeoLite2-City")
    data = bytearray(path.read_bytes())
    # The data section follows the search tree and a 16-byte separator; the
    # metadata (found from the end) stays intact.
    marker = data.rfind(b"\xab\xcd\xefMaxMind.com")
    start = data.find(b"\x00" * 16) + 16
    for i in range(start, min(start + 200, marker)):
        data[i] = 0xFF
    path.write_bytes(bytes(data))
    settings.BANGUI_GEOIP_DB_PATH = str(path)
    info = geo_lookup("81.2.69.142")  # must not raise
    assert not info.resolved


def test_it_reopens_the_file_when_it_changes(country_db_path, fast_reopen):
    assert geo_lookup("81.2.69.142").country_code == "GB"
    networks = {"81.2.69.0/24": {"country": country("IE", "Ireland")}}
    write_mmdb(country_db_path.with_suffix(".new"), networks, "GeoLite2-City")
    os.replace(country_db_path.with_suffix(".new"), country_db_path)
    stat = country_db_path.stat()
    os.utime(country_db_path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    from geo.lookup.pipeline import memory

    memory().clear()  # the memory tier would answer GB for an hour
    assert geo_lookup("81.2.69.142").country_code == "IE"


def test_it_keeps_the_old_reader_when_the_new_file_is_corrupt(country_db_path, fast_reopen):
    assert geo_lookup("81.2.69.142").resolved
    country_db_path.with_suffix(".new").write_bytes(b"garbage" * 100)
    os.replace(country_db_path.with_suffix(".new"), country_db_path)
    from geo.lookup.pipeline import memory

    memory().clear()
    assert geo_lookup("81.2.69.142").country_code == "GB"
    assert "cannot open" in country_db().error


def test_rewriting_the_file_in_place_does_not_disturb_the_open_reader(
    settings, country_db_path, fast_reopen
):
    assert geo_lookup("81.2.69.142").resolved
    # cp over the file: truncated, then written. The reader works on its own copy.
    with open(country_db_path, "r+b") as fh:
        fh.truncate(10)
    from geo.lookup.pipeline import memory

    memory().clear()
    assert geo_lookup("81.2.69.142").country_code == "GB"
    assert not [p for p in os.listdir(settings.DATA_DIR) if p.startswith(".geo-")]


def test_it_opens_each_file_once_per_process():
    assert country_db() is country_db()
    first = country_db().reader()
    geo_lookup("8.8.8.8")
    assert country_db().reader() is first


def test_without_a_configured_path_it_uses_the_demo_database(settings):
    if not demo_db_path():
        pytest.skip("maxminddb-geolite2 is not installed")
    settings.BANGUI_GEOIP_DB_PATH = str(settings.DATA_DIR / "GeoLite2-Country.mmdb")
    assert country_db_location() == (demo_db_path(), "demo")
    assert geo_lookup("81.2.69.142").country_code == "GB"
    status = geo_status(count=False)
    assert (status["type"], status["build_date"], status["origin"]) == (
        "GeoLite2-City",
        "2018-07-03",
        "demo",
    )
    settings.BANGUI_GEOIP_DB_PATH = ""
    assert country_db_location()[1] == "demo"


def test_a_configured_path_wins_over_the_demo_database(settings, tmp_path):
    settings.BANGUI_GEOIP_DB_PATH = str(tmp_path / "missing.mmdb")
    assert country_db_location() == (str(tmp_path / "missing.mmdb"), "configured")
