"""BanGUI on a phone (390 px): no page scrolls sideways, the menu reaches every page.

The menu is a ``<details>`` in base.html: a Menu button on narrow screens (it opens
without JavaScript), unfolded inline in the top bar on wide ones.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.utils import timezone

from jails.models import BanRecord
from tests.browser.helpers import assert_clean, log_in
from tests.browser.shots import screenshot_schemes

try:
    from playwright.sync_api import expect
except ImportError:
    if os.environ.get("CI", "").lower() == "true":
        raise
    pytest.skip("the playwright Python package is missing", allow_module_level=True)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
WIDE = {"width": 1400, "height": 900}
PAGES = [
    "/",
    "/jails/",
    "/jails/alpha/",
    "/history/",
    "/map/",
    "/audit/",
    "/blocklists/",
    "/config/jails/",
    "/config/files/",
    "/config/server/",
    "/config/jails/alpha/",
    "/config/filters/",
    "/config/regex/",
    "/config/log/",
    "/settings/geo/",
    "/ip/?q=8.8.8.8",
    "/bans/new/",
    "/users/",
    "/account/",
]
# The main menu's links and where they lead (Users: admins only; the tests log in as one).
NAV = [
    ("Dashboard", "/"),
    ("Jails", "/jails/"),
    ("Map", "/map/"),
    ("History", "/history/"),
    ("Blocklists", "/blocklists/"),
    ("Configuration", "/config/jails/"),  # /config/ redirects there
    ("Audit log", "/audit/"),
    ("Users", "/users/"),
]
JAILS = ["sshd", "nginx-http-auth", "postfix", "dovecot"]
COUNTRIES = ["CN", "US", "DE", "RU", "BR", "", "NL", "IN"]


def _archive() -> None:
    """Two days of bans with long matched lines: the widest tables the pages show."""
    now = timezone.now()
    records = []
    for i in range(160):
        ip = f"{[203, 198, 192, 45][i % 4]}.{(i * 7) % 250}.{i % 200}.{(i * 13) % 254 + 1}"
        records.append(
            BanRecord(
                ip=ip,
                jail=JAILS[i % len(JAILS)],
                banned_at=now - timedelta(minutes=17 * i + 1),
                bantime=600,
                bancount=1 + i % 3,
                failures=5,
                matches=f"Nov 25 05:22:27 web sshd[9{i}]: Failed password for invalid user "
                f"administrator from {ip} port {51000 + i} ssh2",
                origin="manual" if i % 11 == 0 else "detected",
                country_code=COUNTRIES[i % len(COUNTRIES)],
            )
        )
    BanRecord.objects.bulk_create(records)


@contextmanager
def _page(browser, console, viewport, **options) -> Iterator[object]:  # type: ignore[no-untyped-def]
    """A page of its own context (the ``page`` fixture is 1280 wide), console errors recorded."""
    context = browser.new_context(viewport=viewport, color_scheme="light", **options)
    context.set_default_timeout(10_000)
    pg = context.new_page()
    pg.on(
        "console",
        lambda msg: console.errors.append(f"console: {msg.text}") if msg.type == "error" else None,
    )
    pg.on("pageerror", lambda exc: console.errors.append(f"pageerror: {exc}"))
    try:
        yield pg
    finally:
        context.close()


@pytest.fixture
def phone(browser, console) -> Iterator[object]:  # type: ignore[no-untyped-def]
    with _page(browser, console, PHONE) as pg:
        yield pg


@pytest.fixture
def phone_without_js(browser, console) -> Iterator[object]:  # type: ignore[no-untyped-def]
    with _page(browser, console, PHONE, java_script_enabled=False) as pg:
        yield pg


@pytest.fixture
def wide(browser, console) -> Iterator[object]:  # type: ignore[no-untyped-def]
    with _page(browser, console, WIDE) as pg:
        yield pg


def _scroll_width(page) -> int:  # type: ignore[no-untyped-def]
    return int(page.evaluate("() => document.documentElement.scrollWidth"))


def _menu(page):  # type: ignore[no-untyped-def]
    return page.locator("header.topbar details.navmenu")


def _open_menu(page) -> None:  # type: ignore[no-untyped-def]
    menu = _menu(page)
    expect(menu.locator("summary")).to_be_visible()
    menu.locator("summary").click()
    expect(menu).to_have_attribute("open", "")


def test_no_page_scrolls_sideways_on_a_phone(phone, console, live_server, f2b, configured):  # type: ignore[no-untyped-def]
    _archive()
    base = live_server.url
    log_in(phone, base)
    widths = {}
    for path in PAGES:
        phone.goto(f"{base}{path}")
        expect(phone.locator("main h1").first).to_be_visible()
        widths[path] = _scroll_width(phone)
        # The menu is folded: its links take no room until the button is pressed.
        expect(_menu(phone).get_by_role("link", name="Dashboard")).to_be_hidden()
    assert {p: w for p, w in widths.items() if w > PHONE["width"]} == {}
    assert_clean(console)

    # Wide tables scroll inside their card, not the page.
    phone.goto(f"{base}/history/")
    wrap = phone.locator(".table-wrap").first
    assert wrap.evaluate("e => e.scrollWidth > e.clientWidth")
    assert _scroll_width(phone) <= PHONE["width"]
    # Charts fit the width: drawn from their viewBox, scaled down with the page.
    phone.goto(f"{base}/")
    for chart in phone.locator("svg.chart").all():
        box = chart.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    phone.goto(f"{base}/map/")
    box = phone.locator("svg.worldmap").bounding_box()
    assert box is not None and box["x"] + box["width"] <= PHONE["width"]
    assert box["height"] > 100  # height follows the width (height: auto)
    assert_clean(console)


def test_the_phone_menu_reaches_every_page(phone, console, live_server, f2b, configured):  # type: ignore[no-untyped-def]
    base = live_server.url
    log_in(phone, base)
    for name, path in NAV:
        _open_menu(phone)
        link = _menu(phone).get_by_role("link", name=name, exact=True)
        expect(link).to_be_visible()
        box = link.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
        link.click()
        phone.wait_for_url(f"{base}{path}")
        # A new page: the menu starts folded again.
        expect(_menu(phone)).not_to_have_attribute("open", "")
        assert _scroll_width(phone) <= PHONE["width"]

    # The IP lookup, the account link and Log out are in the menu too.
    _open_menu(phone)
    phone.fill("#id_ipsearch", "192.0.2.7")
    phone.press("#id_ipsearch", "Enter")
    phone.wait_for_url(re.compile(r"/ip/\?q=192\.0\.2\.7"))
    _open_menu(phone)
    _menu(phone).locator("a.who").click()
    phone.wait_for_url(f"{base}/account/")
    _open_menu(phone)
    expect(_menu(phone).locator(".role-tag")).to_have_text("admin")
    _menu(phone).locator(".navmenu-toggle").click()  # the button folds it again
    expect(_menu(phone).get_by_role("button", name="Log out")).to_be_hidden()
    _open_menu(phone)
    _menu(phone).get_by_role("button", name="Log out").click()
    phone.wait_for_url(re.compile(r"/login/"))
    assert_clean(console)


def test_the_menu_works_without_javascript(  # type: ignore[no-untyped-def]
    phone_without_js, console, live_server, f2b, configured
):
    page = phone_without_js
    base = live_server.url
    log_in(page, base)
    _open_menu(page)
    _menu(page).get_by_role("link", name="Audit log").click()
    page.wait_for_url(f"{base}/audit/")
    expect(page.get_by_role("heading", name="Audit log", exact=True)).to_be_visible()
    _open_menu(page)
    _menu(page).get_by_role("link", name="Map").click()
    page.wait_for_url(f"{base}/map/")
    assert _scroll_width(page) <= PHONE["width"]
    assert_clean(console)


def test_wide_screens_show_the_menu_inline(wide, console, live_server, f2b, configured):  # type: ignore[no-untyped-def]
    base = live_server.url
    log_in(wide, base)
    menu = _menu(wide)
    expect(menu.locator("summary")).to_be_hidden()
    expect(menu).not_to_have_attribute("open", "")
    bar = wide.locator("header.topbar").bounding_box()
    assert bar is not None and bar["height"] <= 53
    tops = set()
    for name, _path in NAV:
        link = menu.get_by_role("link", name=name, exact=True)
        expect(link).to_be_visible()
        box = link.bounding_box()
        assert box is not None
        tops.add(round(box["y"]))
    assert len(tops) == 1, "the links sit in one row"
    expect(wide.locator("#id_ipsearch")).to_be_visible()
    expect(wide.locator("header a.who")).to_be_visible()
    expect(wide.get_by_role("button", name="Log out")).to_be_visible()
    # The links work as before: straight from the bar.
    menu.get_by_role("link", name="History", exact=True).click()
    wide.wait_for_url(f"{base}/history/")
    assert _scroll_width(wide) <= WIDE["width"]
    assert_clean(console)


def test_phone_screenshots(phone, console, live_server, f2b, configured):  # type: ignore[no-untyped-def]
    _archive()
    base = live_server.url
    log_in(phone, base)
    for path, name in [
        ("/", "phone-dashboard"),
        ("/jails/", "phone-jails"),
        ("/history/", "phone-history"),
        ("/map/", "phone-map"),
    ]:
        phone.goto(f"{base}{path}")
        expect(phone.locator("main h1").first).to_be_visible()
        assert _scroll_width(phone) <= PHONE["width"]
        assert_clean(console)
        screenshot_schemes(phone, name)
    _open_menu(phone)
    expect(_menu(phone).get_by_role("link", name="Users")).to_be_visible()
    screenshot_schemes(phone, "phone-map-menu")
