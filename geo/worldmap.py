"""The world map's country shapes, read once from the ``pygal_maps_world`` package.

The shapes come from ``pygal_maps_world/worldmap.svg`` (pygal_maps_world 1.0.2,
by Kozea, GNU LGPL v3 or later: the file is read at run time from the installed
package, unmodified on disk; only the numbers are shortened in memory). Each
country is a ``<g class="de country map-element">`` group of ``<path>``s,
keyed by its ISO 3166-1 alpha-2 code; names come from the package's
``i18n.COUNTRIES``.

The file is parsed once per process (``countries()``, cached): coordinates are
cut to one decimal, which keeps the page under 300 KB gzipped. Per request
``render_map`` only joins the cached path strings with a class per country
(its colour band) and, for countries with bans, a link that filters the table.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

# The package's view box is 0 0 2475 1388; Antarctica (never a ban origin) is
# left out and the box cut just above it, so the inhabited world gets the room.
VIEWBOX = "0 0 2475 1235"
LEFT_OUT = frozenset({"AQ"})
# The package's names are ISO's formal ones; these read better in a list.
SHORT_NAMES = {
    "BO": "Bolivia",
    "CD": "DR Congo",
    "IR": "Iran",
    "KP": "North Korea",
    "KR": "South Korea",
    "LA": "Laos",
    "LY": "Libya",
    "MD": "Moldova",
    "MK": "North Macedonia",
    "PS": "Palestine",
    "RU": "Russia",
    "SY": "Syria",
    "TW": "Taiwan",
    "TZ": "Tanzania",
    "VE": "Venezuela",
    "VN": "Vietnam",
}
_GROUP_RE = re.compile(r'<g class="([a-z]{2}) country map-element">(.*?)</g>', re.DOTALL)
_PATH_RE = re.compile(r'<path d="([^"]*)"\s*/>')
_NUMBER_RE = re.compile(r"-?\d+\.\d+")


@dataclass(frozen=True)
class Country:
    code: str  # upper case, "DE"
    name: str
    paths: str  # '<path d="…"/>…', ready to paste


def _short(match: re.Match[str]) -> str:
    text = f"{float(match.group(0)):.1f}"
    return text[:-2] if text.endswith(".0") else text


def _names() -> dict[str, str]:
    from pygal_maps_world.i18n import COUNTRIES  # plain dict module, no pygal import

    names = {code.upper(): str(name) for code, name in COUNTRIES.items()}
    names.update(SHORT_NAMES)
    return names


def svg_text() -> str:
    """The package's SVG file as text (read from disk on each call)."""
    return (resources.files("pygal_maps_world") / "worldmap.svg").read_text(encoding="utf-8")


def parse(text: str, *, shorten: bool = True) -> list[Country]:
    names = _names()
    found = []
    for code, body in _GROUP_RE.findall(text):
        paths = "".join(
            f'<path d="{_NUMBER_RE.sub(_short, d) if shorten else d}"/>'
            for d in _PATH_RE.findall(body)
        )
        upper = code.upper()
        if upper in LEFT_OUT:
            continue
        found.append(Country(code=upper, name=names.get(upper, upper), paths=paths))
    return found


@cache
def countries() -> tuple[Country, ...]:
    """Every country shape on the map, parsed once per process."""
    return tuple(parse(svg_text()))


@cache
def country_names() -> dict[str, str]:
    """Country names by upper-case ISO code (those on the map, plus the package's list)."""
    return _names()


def country_name(code: str) -> str:
    return country_names().get(code.upper(), code.upper())


@cache
def _codes_by_name() -> dict[str, str]:
    from pygal_maps_world.i18n import COUNTRIES

    found = {str(name).casefold(): code.upper() for code, name in COUNTRIES.items()}
    found.update({name.casefold(): code for code, name in country_names().items()})
    return found


def country_code(text: str) -> str | None:
    """The ISO code for a code ("de") or a name as BanGUI or ISO writes it ("Germany",
    "south korea", "Korea, Republic of"); None when it is neither."""
    text = " ".join(text.split())
    if len(text) == 2 and text.isascii() and text.isalpha():
        return text.upper()
    return _codes_by_name().get(text.casefold())


def render_map(
    counts: Mapping[str, int],
    bands: Mapping[str, int],
    href: Callable[[str], str],
    *,
    selected: str = "",
    shapes: tuple[Country, ...] | list[Country] | None = None,
    htmx: bool = True,
) -> SafeString:
    """The map's SVG: each country gets class ``c<band>``; those with bans are links.

    ``counts`` and ``bands`` are keyed by upper-case code; ``href(code)`` is the
    link (query string) that filters the table to that country. With ``htmx``
    a link also carries ``hx-get``; without, it is a plain link.
    """
    parts = [
        f'<svg class="worldmap" viewBox="{VIEWBOX}" role="group" '
        'aria-label="Bans per country" xmlns="http://www.w3.org/2000/svg">'
    ]
    for c in countries() if shapes is None else shapes:
        n = counts.get(c.code, 0)
        name = escape(c.name)
        cls = f"country c{bands.get(c.code, 0)}" + (" is-selected" if c.code == selected else "")
        if n:
            link = escape(href(c.code))
            label = f"{name}: {n:,} ban{'s' if n != 1 else ''}"
            current = ' aria-current="true"' if c.code == selected else ""
            get = f' hx-get="{link}"' if htmx else ""
            parts.append(
                f'<a href="{link}"{get} class="{cls}" '
                f'data-country="{c.code}" id="map-{c.code}"{current}>'
                f"<title>{label}</title>{c.paths}</a>"
            )
        else:
            parts.append(f'<g class="{cls}"><title>{name}: no bans</title>{c.paths}</g>')
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - names and links are escaped above
