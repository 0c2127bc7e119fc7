"""Job entry points for django-q2: each one calls a service and nothing more."""

from __future__ import annotations

from geo import services


def geo_cache_flush() -> str:
    return f"wrote {services.geo_cache_flush()} geo cache rows"


def geo_re_resolve() -> str:
    return str(services.geo_re_resolve())


def geo_cache_cleanup() -> str:
    return f"deleted {services.geo_cache_cleanup()} geo cache entries not seen for 90 days"
