"""The geo settings, with their defaults, read from ``django.conf.settings`` on each use.

Read on use (not at import) so tests can change them with the ``settings``
fixture. The matching ``BANGUI_*`` lines belong in bangui/settings.py.
"""

from __future__ import annotations

from django.conf import settings

DEFAULT_HTTP_URL = "http://ip-api.com/batch?fields=status,message,countryCode,country,as,org,query"
DEFAULT_CACHE_SIZE = 50_000
DEFAULT_MAX_AGE_DAYS = 30


def db_path() -> str:
    return str(getattr(settings, "BANGUI_GEOIP_DB_PATH", "") or "")


def asn_db_path() -> str:
    return str(getattr(settings, "BANGUI_GEOIP_ASN_DB_PATH", "") or "")


def http_fallback() -> bool:
    return bool(getattr(settings, "BANGUI_GEOIP_HTTP_FALLBACK", False))


def http_url() -> str:
    return str(getattr(settings, "BANGUI_GEOIP_HTTP_URL", "") or DEFAULT_HTTP_URL)


def max_age_days() -> int:
    return int(getattr(settings, "BANGUI_GEOIP_MAX_AGE_DAYS", DEFAULT_MAX_AGE_DAYS))


def cache_size() -> int:
    return max(100, int(getattr(settings, "BANGUI_GEOIP_CACHE_SIZE", DEFAULT_CACHE_SIZE)))


def default_db_file() -> str:
    """Where the settings' default points: the data dir's GeoLite2-Country.mmdb."""
    return str(settings.DATA_DIR / "GeoLite2-Country.mmdb")


def snapshot_dir() -> str:
    """Where private copies of the MaxMind files are opened (see geo.lookup.mmdb)."""
    return str(settings.DATA_DIR)
