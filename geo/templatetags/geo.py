"""``{% load geo %}``: the country of an IP, as a flag and a name.

Prefer ``geo_annotate(rows)`` (geo.selectors) in the view and pass the
annotated GeoInfo: ``{% geo row.geo %}``. Given an IP string instead, the tag
looks it up on its own (one lookup per tag). Either way nothing is written to
the database: lookups are cached in memory and flushed in bulk later.
"""

from __future__ import annotations

from django import template

from geo.info import GeoInfo
from geo.selectors import geo_lookup

register = template.Library()

UNRESOLVED_TITLE = "Not resolved yet; BanGUI retries in a few minutes"


def _info(value: object) -> GeoInfo | None:
    if isinstance(value, GeoInfo):
        return value
    if value is None or value == "":
        return None
    return geo_lookup(str(value))


@register.filter
def geo_flag(value: object) -> str:
    """``{{ ip|geo_flag }}``: "🇩🇪 Germany", "private network", or "—" (plain text)."""
    info = _info(value)
    if info is None:
        return "—"
    if info.resolved:
        return f"{info.flag} {info.label}".strip()
    return info.label or "—"


@register.inclusion_tag("geo/_geo.html")
def geo(value: object) -> dict[str, object]:
    """``{% geo ip_or_geoinfo %}``: flag and country, with the network owner as tooltip."""
    info = _info(value)
    return {"info": info, "unresolved_title": UNRESOLVED_TITLE}
