"""manage.py geo_lookup and geo_resolve."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from geo.models import GeoCache

pytestmark = pytest.mark.django_db


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_geo_lookup_prints_one_line_per_ip(settings, asn_db_path):
    settings.BANGUI_GEOIP_ASN_DB_PATH = str(asn_db_path)
    out, err = run("geo_lookup", "8.8.8.8", "10.0.0.1", "5.5.5.5")
    assert out.splitlines() == [
        "8.8.8.8\tUS\tUnited States\tAS15169\tGoogle LLC\tmmdb",
        "10.0.0.1\t-\tprivate network\t-\t-\tprivate",
        "5.5.5.5\t-\t-\tAS64500\tExample\tnone",
    ]
    assert err == ""
    assert not GeoCache.objects.exists()


def test_geo_lookup_fails_on_invalid_ips_after_printing_the_rest():
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError, match="1 of 2 arguments are not IP addresses") as exc:
        call_command("geo_lookup", "nope", "8.8.8.8", stdout=out, stderr=err)
    assert exc.value.returncode == 1
    assert "nope: not a valid IP address" in err.getvalue()
    assert out.getvalue().startswith("8.8.8.8\tUS")


def test_geo_resolve_stores_the_given_ips():
    out, _ = run("geo_resolve", "8.8.8.8", "81.2.69.142", "192.168.0.1", "5.5.5.5")
    assert GeoCache.objects.get(ip="81.2.69.142").country_code == "GB"
    assert GeoCache.objects.count() == 4
    assert "Resolved 2 of 4 IPs (1 in private or special ranges); 1 without a country" in out


def test_geo_resolve_rejects_invalid_ips_but_resolves_the_others():
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("geo_resolve", "8.8.8.8", "999.1.1.1", stdout=StringIO(), stderr=err)
    assert "999.1.1.1: not a valid IP address" in err.getvalue()
    assert GeoCache.objects.filter(ip="8.8.8.8").exists()


def test_geo_resolve_without_fail2ban_retries_the_cached_failures(settings, tmp_path):
    settings.BANGUI_FAIL2BAN_SOCKET = str(tmp_path / "missing.sock")
    old = timezone.now() - timedelta(hours=1)
    GeoCache.objects.create(ip="81.2.69.142", source="none", resolved_at=old, last_seen=old)
    out, err = run("geo_resolve")
    assert "fail2ban is not reachable" in err
    assert "resolving only cached IPs without a country" in err
    assert GeoCache.objects.get().country_code == "GB"
    assert "Resolved 1 of 1 IPs." in out


def test_geo_resolve_reports_progress_when_not_on_a_terminal():
    ips = (
        [f"81.2.69.{i}" for i in range(200)]
        + [f"8.8.8.{i}" for i in range(200)]
        + [f"1.1.1.{i}" for i in range(200)]
    )
    out, _ = run("geo_resolve", *ips)
    lines = out.splitlines()
    assert lines[0] == "500/600 (83%), 500 resolved"
    assert lines[1] == "600/600 (100%), 600 resolved"
    assert lines[-1] == "Resolved 600 of 600 IPs."


def test_geo_resolve_resolves_the_banned_ips(configured, f2b):
    f2b.client().ban("alpha", ["81.2.69.142", "8.8.8.8", "10.9.9.9"])
    f2b.client().ban("beta", ["8.8.8.8", "198.51.100.0/24"])
    now = timezone.now()
    GeoCache.objects.create(
        ip="8.8.8.8", country_code="US", source="mmdb", resolved_at=now, last_seen=now
    )
    out, err = run("geo_resolve")
    assert err == ""
    # 8.8.8.8 has geo already, 10.9.9.9 is labelled without a lookup, and a
    # network has no single location: one to do.
    assert "Resolved 1 of 1 IPs." in out
    assert GeoCache.objects.get(ip="81.2.69.142").country_code == "GB"
    out, _ = run("geo_resolve")
    assert "Nothing to resolve" in out
