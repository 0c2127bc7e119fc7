"""Job entry points for django-q2: each one calls a service and nothing more."""

from __future__ import annotations


def geo_cache_flush() -> str:
    from geo.services import geo_cache_flush

    return f"wrote {geo_cache_flush()} geo cache rows"


def geo_re_resolve() -> str:
    from geo.services import geo_re_resolve

    return str(geo_re_resolve())


def geo_cache_cleanup() -> str:
    from geo.services import geo_cache_cleanup

    return f"deleted {geo_cache_cleanup()} geo cache entries not seen for 90 days"

