"""The world map page: ``GET /map/`` over 10,000 bans in the 7-day window.

- Ours: the page through Django's test client, whole stack (middleware,
  session, view, template): one grouped count per country in SQL, the SVG
  shapes parsed once per process (``geo.worldmap.countries()``), per request
  only a class per country joined in. Also ``GET /map/?country=CN`` (the
  table of one country, 50 rows). Goal: median ≤ 150 ms.
- Payload: the page's HTML gzipped (as the reverse proxy would send it).
  Goal: ≤ 300 KB.
- Baseline, the naive way, same page and stack: every ban row of the window
  fetched and counted in Python, and the SVG read from the package's file and
  parsed again on every request.

The archive: 10,000 bans over the last 6 days plus 30,000 older ones (so the
window filter matters), 60 countries with a long tail, 5% without a country.
"""

from __future__ import annotations

import gzip
import random
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from .core import BenchContext, Row, fmt_seconds, interleaved
from .django_env import django_env
from .history import JAILS, _addresses, _empty_archive, insert_archive

WINDOW_BANS = 10_000
OLD_BANS = 30_000
CALLS = 30
ROUNDS = 10
PAGE_GOAL = 0.150
PAYLOAD_GOAL = 300_000
COUNTRIES = [
    "CN",
    "US",
    "RU",
    "DE",
    "BR",
    "IN",
    "NL",
    "VN",
    "FR",
    "KR",
    "GB",
    "ID",
    "UA",
    "ZA",
    "AU",
    "AR",
    "IT",
    "ES",
    "PL",
    "TR",
    "IR",
    "TH",
    "MX",
    "JP",
    "CA",
    "SG",
    "HK",
    "TW",
    "RO",
    "BG",
    "SE",
    "CH",
    "BE",
    "CZ",
    "AT",
    "PK",
    "BD",
    "EG",
    "NG",
    "KE",
    "CO",
    "CL",
    "PE",
    "VE",
    "MY",
    "PH",
    "SA",
    "AE",
    "IL",
    "GR",
    "PT",
    "HU",
    "FI",
    "NO",
    "DK",
    "IE",
    "LT",
    "LV",
    "EE",
    "KZ",
]


def fill(window: int, old: int) -> float:
    """``window`` bans over the last 6 days and ``old`` over the year before; seconds."""

    rng = random.Random(11)
    ips = _addresses(rng, 50_000)
    now = datetime.now(UTC)
    weights = [1 / (k + 1) ** 1.1 for k in range(len(COUNTRIES))]
    stamp = now.strftime("%Y-%m-%d %H:%M:%S")
    origins = ("detected",) * 8 + ("manual", "blocklist")

    def rows() -> Iterator[tuple[Any, ...]]:
        for n in range(window + old):
            if n < window:
                at = now - timedelta(seconds=1 + n * 6 * 86400 // window)
            else:
                at = now - timedelta(days=8, seconds=(n - window) * 350 * 86400 // old)
            code = "" if n % 20 == 0 else rng.choices(COUNTRIES, weights)[0]
            yield (
                ips[rng.randrange(len(ips))],
                JAILS[n % len(JAILS)],
                at.strftime("%Y-%m-%d %H:%M:%S.%f"),
                600,
                1,
                3,
                "",
                origins[n % len(origins)],
                code,
                None,
                None,
                "",
                stamp,
            )

    return insert_archive(rows())


def naive_counts(filters: Any, now: Any = None) -> Any:
    """Every row of the window fetched, countries counted in Python."""
    from jails.history.map_selectors import CountryCounts, window

    counter = Counter(r.country_code.upper() for r in window(filters))
    unresolved = counter.pop("", 0)
    return CountryCounts(counts=dict(counter), unresolved=unresolved)


def naive_render(*args: Any, **kwargs: Any) -> Any:
    """The SVG read from the package's file and parsed again for this request."""
    from geo import worldmap

    shapes = [c for c in worldmap.parse(worldmap.svg_text()) if c.code not in worldmap.LEFT_OUT]
    return worldmap.render_map(*args, shapes=shapes, **kwargs)


@contextmanager
def naive_view() -> Iterator[None]:
    from jails.history import map_views

    saved = map_views.country_counts, map_views.render_map
    map_views.country_counts, map_views.render_map = naive_counts, naive_render
    try:
        yield
    finally:
        map_views.country_counts, map_views.render_map = saved


def run(ctx: BenchContext) -> list[Row]:
    env = django_env(ctx)
    _empty_archive()
    seconds = fill(WINDOW_BANS, OLD_BANS)
    from jails.history.rollup import rollup_fill

    rollup_fill()  # what the history sync does after archiving
    ctx.notes.append(
        f"map: {WINDOW_BANS + OLD_BANS:,} archived bans ({WINDOW_BANS:,} in the window) "
        f"inserted in {seconds:.1f} s"
    )
    url, country_url = "/map/", "/map/?country=CN"
    page = env.get(url)
    with naive_view():
        naive_page = env.get(url)
    if b'data-country="CN"' not in page or page.count(b'<a href="/map/?country=') < 50:
        raise RuntimeError("the map page shows no countries")
    if naive_page.count(b"<path") != page.count(b"<path"):
        raise RuntimeError("the naive page differs from ours")

    from bangui.pagecache import ARCHIVE, version_bump

    # The map's body is kept per archive version (bangui/pagecache.py): both sides
    # render it every time here, as after each history sync, or the comparison would
    # time the cache.
    def rendered() -> bytes:
        version_bump(ARCHIVE)
        return env.get(url)

    def naive_get() -> bytes:
        version_bump(ARCHIVE)
        with naive_view():
            return env.get(url)

    ours, ours_country, naive, kept = interleaved(
        [
            (rendered, CALLS),
            (lambda: env.get(country_url), CALLS),
            (naive_get, CALLS),
            (lambda: env.get(url), CALLS),
        ],
        rounds=ROUNDS,
    )
    size = len(gzip.compress(page, 6))
    country_size = len(gzip.compress(env.get(country_url), 6))
    naive_size = len(gzip.compress(naive_page, 6))
    return [
        Row(
            "map: GET /map/ (10k bans in 7 days)",
            ours.summary(median=True),
            naive.summary(median=True),
            ratio=naive.median / ours.median,
            target=1.0,
            goal=f"median ≤ {fmt_seconds(PAGE_GOAL)}",
            goal_met=ours.median <= PAGE_GOAL,
        ),
        Row(
            "map: GET /map/, archive unchanged (its body kept)",
            kept.summary(median=True),
            "-",
            goal=f"median ≤ {fmt_seconds(PAGE_GOAL)}",
            goal_met=kept.median <= PAGE_GOAL,
        ),
        Row(
            "map: GET /map/?country=CN (table of 50)",
            ours_country.summary(median=True),
            "-",
            goal=f"median ≤ {fmt_seconds(PAGE_GOAL)}",
            goal_met=ours_country.median <= PAGE_GOAL,
        ),
        Row(
            "map: page gzipped (HTML, level 6)",
            f"{size / 1000:,.1f} KB ({len(page) / 1000:,.0f} KB raw); "
            f"with table {country_size / 1000:,.1f} KB",
            f"{naive_size / 1000:,.1f} KB",
            goal=f"≤ {PAYLOAD_GOAL // 1000} KB",
            goal_met=max(size, country_size) <= PAYLOAD_GOAL,
        ),
    ]
