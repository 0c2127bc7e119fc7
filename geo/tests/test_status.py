"""geo_status, and BanGUI starting whatever state the databases are in."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command

from geo.selectors import geo_lookup, geo_status

pytestmark = pytest.mark.django_db


def test_it_reports_database_cache_and_errors(country_db_path):
    geo_lookup("8.8.8.8")
    status = geo_status()
    assert status["ok"] is True
    assert status["database"] == str(country_db_path)
    assert status["origin"] == "configured"
    assert status["type"] == "GeoLite2-City"
    assert len(str(status["build_date"])) == 10
    assert status["entries_in_memory"] == 1
    assert status["pending_writes"] == 1
    assert status["entries_cached"] == 0
    assert status["asn_database"] is None
    assert status["http_fallback"] is False
    assert status["last_error"] == ""
    json.dumps(status)  # the ready endpoint serialises it as is


def test_it_reports_the_asn_database(settings, asn_db_path):
    settings.BANGUI_GEOIP_ASN_DB_PATH = str(asn_db_path)
    asn = geo_status(count=False)["asn_database"]
    assert isinstance(asn, dict)
    assert (asn["ok"], asn["type"]) == (True, "GeoLite2-ASN")


def test_a_missing_asn_database_does_not_spoil_the_country_lookups(settings, tmp_path):
    settings.BANGUI_GEOIP_ASN_DB_PATH = str(tmp_path / "nope.mmdb")
    assert geo_lookup("8.8.8.8").country_code == "US"
    status = geo_status(count=False)
    assert status["ok"] is True
    assert status["asn_database"]["ok"] is False  # type: ignore[index]


def test_bangui_starts_and_serves_with_a_broken_database(settings, tmp_path, client):
    (tmp_path / "broken.mmdb").write_bytes(b"\x00" * 4096)
    settings.BANGUI_GEOIP_DB_PATH = str(tmp_path / "broken.mmdb")
    call_command("check")
    assert client.get("/health/live").status_code == 200
    assert geo_status()["ok"] is False
