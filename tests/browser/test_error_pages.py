"""The 404 and 500 pages: the site's look, a way back, and a 500 that needs nothing.

Tests run with DEBUG off, so Django renders ``templates/404.html`` (with the request:
the top bar and menu for a logged-in user) and ``templates/500.html`` (with an empty
context: it stands alone and links only ``css/error.css``).
"""

from __future__ import annotations

import os
import re

import pytest
from django.contrib.auth.decorators import login_not_required
from django.core.management import call_command
from django.http import HttpRequest, HttpResponse
from django.template.loader import get_template
from django.urls import path

from bangui.urls import urlpatterns as site_urlpatterns
from tests.browser.helpers import log_in
from tests.browser.shots import screenshot_schemes

try:
    from playwright.sync_api import expect
except ImportError:
    if os.environ.get("CI", "").lower() == "true":
        raise
    pytest.skip("the playwright Python package is missing", allow_module_level=True)

# Chromium reports the error status of the page itself as a console error; that one is expected.
STATUS_MESSAGE = re.compile(
    r"Failed to load resource: the server responded with a status of (404|500)"
)


@login_not_required
def _fail(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a view failing on purpose (test_error_pages)")


# The site's URLs plus one that fails: ROOT_URLCONF for the forced 500 below.
urlpatterns = [path("test-only/fail/", _fail), *site_urlpatterns]


def _errors_besides_status(console) -> list[str]:  # type: ignore[no-untyped-def]
    return [e for e in console.errors if not STATUS_MESSAGE.search(e)]


def test_500_renders_from_an_empty_context():
    """No request, no user, no database (this test has no database access at all)."""
    html = get_template("500.html").render({})
    assert "<h1" in html and "Something went wrong" in html
    assert '<a class="btn" href="/">Back to the dashboard</a>' in html
    assert 'href="/static/css/error.css"' in html
    assert "bangui.css" not in html  # it must not need the site's pages to work
    assert "{%" not in html and "{{" not in html


def test_500_finds_its_stylesheet_among_hashed_static_files(settings, tmp_path):  # type: ignore[no-untyped-def]
    """With collectstatic's hashed names (production), {% static %} still needs no request."""
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"},
    }
    call_command("collectstatic", "--noinput", verbosity=0)
    html = get_template("500.html").render({})
    link = re.search(r'href="/static/(css/error\.[0-9a-f]{12}\.css)"', html)
    assert link, html
    assert (tmp_path / link.group(1)).is_file()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_failing_view_shows_the_500_page(page, console, live_server, configured, settings):  # type: ignore[no-untyped-def]
    settings.ROOT_URLCONF = __name__
    base = live_server.url
    log_in(page, base)
    response = page.goto(f"{base}/test-only/fail/")
    assert response is not None and response.status == 500
    expect(page).to_have_title("Server error · BanGUI")
    expect(page.get_by_role("heading", name="Something went wrong")).to_be_visible()
    # Styled by error.css (the CSP allows no inline style): a card on the page's background.
    box = page.locator("main.errorbox")
    assert box.evaluate("e => getComputedStyle(e).borderTopStyle") == "solid"
    assert page.locator("header.topbar").count() == 0
    assert console.csp_violations == []
    assert _errors_besides_status(console) == []
    screenshot_schemes(page, "error-500")
    page.get_by_role("link", name="Back to the dashboard").click()
    page.wait_for_url(f"{base}/")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_404_for_a_logged_in_user_has_the_site_chrome(page, console, live_server, configured):  # type: ignore[no-untyped-def]
    base = live_server.url
    log_in(page, base)
    response = page.goto(f"{base}/no-such-page/")
    assert response is not None and response.status == 404
    expect(page).to_have_title("Page not found · BanGUI")
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    expect(page.locator("main")).to_contain_text("There is no page at /no-such-page/.")
    # The top bar, the menu and the status bar, as on every page.
    nav = page.get_by_role("navigation", name="Main")
    for name in ("Dashboard", "Jails", "Map", "History", "Users"):
        expect(nav.get_by_role("link", name=name, exact=True)).to_be_visible()
    expect(page.locator("#status-bar")).to_be_visible()
    assert console.csp_violations == []
    assert _errors_besides_status(console) == []
    screenshot_schemes(page, "error-404")
    page.reload()  # the screenshot's style="" must not meet htmx's settle (CSP)
    page.get_by_role("link", name="Back to the dashboard").click()
    page.wait_for_url(f"{base}/")
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    assert console.csp_violations == []
    assert _errors_besides_status(console) == []


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_404_on_a_phone_keeps_the_menu(browser, live_server, configured):  # type: ignore[no-untyped-def]
    base = live_server.url
    context = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        phone = context.new_page()
        log_in(phone, base)
        phone.goto(f"{base}/jails/no such jail!/")  # a 404 raised by a view
        expect(phone.get_by_role("heading", name="Page not found")).to_be_visible()
        assert phone.evaluate("() => document.documentElement.scrollWidth") <= 390
        phone.locator("details.navmenu > summary").click()
        phone.get_by_role("link", name="History", exact=True).click()
        phone.wait_for_url(f"{base}/history/")
    finally:
        context.close()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_404_for_an_anonymous_visitor(page, console, live_server, configured):  # type: ignore[no-untyped-def]
    base = live_server.url
    # Known pages still send an anonymous visitor to the login page...
    page.goto(f"{base}/jails/")
    page.wait_for_url(re.compile(r"/login/\?next=/jails/"))
    # ...an unknown URL resolves to no view, so the login gate never sees it: the 404 page,
    # without the top bar (nobody to show it to), and the way to log in.
    response = page.goto(f"{base}/no-such-page/")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    assert page.locator("header.topbar").count() == 0
    assert page.locator("#status-bar").count() == 0
    assert console.csp_violations == []
    assert _errors_besides_status(console) == []
    screenshot_schemes(page, "error-404-anonymous")
    page.get_by_role("link", name="Log in").click()
    page.wait_for_url(re.compile(r"/login/"))
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
