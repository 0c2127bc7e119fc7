"""BanGUI under a sub-path (BANGUI_URL_PREFIX=/bangui), in process: every page's links stay inside.

The proxy is played by the test client: it sends the path after the prefix as
PATH_INFO, and Django builds every link from FORCE_SCRIPT_NAME. The real nginx
and gunicorn in front of a browser are in tests/browser/test_subpath_proxy.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from django.http import HttpResponse
from django.urls import clear_script_prefix, set_script_prefix

from blocklists.tests.httpserver import LocalServer
from tests.test_every_url import _own_jails, _paths

PREFIX = "/bangui"
# Attributes whose value is a URL (htmx's hx-get & co., the lazy panels' data-lazy).
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "data-lazy"} | {
    f"hx-{name}" for name in ("get", "post", "put", "patch", "delete", "push-url", "replace-url")
}


@pytest.fixture
def under_prefix(settings) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """What BANGUI_URL_PREFIX=/bangui sets (bangui/settings.py), for the test client."""
    settings.FORCE_SCRIPT_NAME = PREFIX
    settings.STATIC_URL = f"{PREFIX}/static/"
    settings.SESSION_COOKIE_PATH = settings.CSRF_COOKIE_PATH = f"{PREFIX}/"
    # Django's WSGI handler does this per request; the test client does not.
    set_script_prefix(f"{PREFIX}/")
    yield
    clear_script_prefix()


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value is not None and name in URL_ATTRIBUTES:
                self.urls.append((f"<{tag} {name}>", value))


def _outside(url: str) -> bool:
    """Whether ``url`` leads off BanGUI's prefix on this host (relative links stay inside)."""
    parts = urlsplit(url)
    if parts.scheme not in ("", "http", "https") or url in ("true", "false"):
        return False  # data:, mailto:, hx-push-url="true"
    if parts.scheme or parts.netloc:
        return parts.netloc in ("testserver", "") and not _inside(parts.path)
    return url.startswith("/") and not _inside(parts.path)


def _inside(path: str) -> bool:
    return path == PREFIX or path.startswith(f"{PREFIX}/")


def _stray_links(path: str, response: HttpResponse) -> list[str]:
    strays = [
        f"{path}: {header} {response[header]}"
        for header in ("Location", "HX-Redirect", "HX-Location")
        if response.has_header(header) and _outside(response[header])
    ]
    if "html" in response.get("Content-Type", "") and response.content:
        parser = _Links()
        parser.feed(response.content.decode())
        strays += [f"{path}: {where}={url}" for where, url in parser.urls if _outside(url)]
    return strays


def test_every_page_under_the_prefix_links_only_inside_it(
    config_admin_client, f2b_private, under_prefix
) -> None:  # type: ignore[no-untyped-def]
    clear_script_prefix()
    paths = list(_paths())  # without the prefix: what the proxy hands on as PATH_INFO
    set_script_prefix(f"{PREFIX}/")
    with LocalServer() as server:
        _own_jails(config_admin_client, f2b_private, server)
    config_admin_client.raise_request_exception = False
    strays: list[str] = []
    failed: list[str] = []
    for path in paths:
        for headers in (
            {},
            {"HX-Request": "true", "HX-Current-URL": f"http://testserver{PREFIX}/"},
        ):
            response = config_admin_client.get(path, headers=headers)
            if response.status_code >= 500:
                failed.append(f"{response.status_code} GET {path} {headers}")
            strays += _stray_links(path, response)
    assert len(paths) > 100
    assert not failed, "\n".join(failed)
    assert not strays, "\n".join(sorted(set(strays)))


def test_the_dashboard_under_the_prefix_loads_its_assets_from_inside(
    admin_client, under_prefix
) -> None:  # type: ignore[no-untyped-def]
    page = admin_client.get("/").content.decode()
    assert f'src="{PREFIX}/static/vendor/htmx-' in page
    assert f'href="{PREFIX}/static/css/bangui.css"' in page
    assert f'hx-get="{PREFIX}/status/bar/"' in page


def test_a_login_returns_to_a_next_page_under_the_prefix(client, configured, under_prefix) -> None:  # type: ignore[no-untyped-def]
    from conftest import ADMIN_PASSWORD

    answer = client.get("/jails/")
    assert answer.status_code == 302
    assert answer["Location"] == f"{PREFIX}/login/?next={PREFIX}/jails/"
    form = {"username": "admin", "password": ADMIN_PASSWORD, "next": f"{PREFIX}/jails/?q=ssh"}
    answer = client.post("/login/", form)
    assert answer.status_code == 302
    assert answer["Location"] == f"{PREFIX}/jails/?q=ssh"
    assert client.cookies["bangui_session"]["path"] == f"{PREFIX}/"


@pytest.mark.parametrize(
    "target",
    ["/jails/", "/bangui-other/jails/", "//evil.example/bangui/", "https://evil.example/bangui/"],
)
def test_a_login_refuses_a_next_page_outside_the_prefix(
    client, configured, under_prefix, target: str
) -> None:  # type: ignore[no-untyped-def]
    from conftest import ADMIN_PASSWORD

    answer = client.post(
        "/login/", {"username": "admin", "password": ADMIN_PASSWORD, "next": target}
    )
    assert answer["Location"] == f"{PREFIX}/"


def test_an_expired_htmx_poll_under_the_prefix_comes_back_to_its_page(
    client, configured, under_prefix
) -> None:  # type: ignore[no-untyped-def]
    page = f"http://testserver{PREFIX}/history/?range=7d"
    answer = client.get("/status/bar/", headers={"HX-Request": "true", "HX-Current-URL": page})
    assert answer.status_code == 204
    assert answer["HX-Redirect"] == f"{PREFIX}/login/?next={PREFIX}/history/%3Frange%3D7d"


@pytest.mark.parametrize(
    "current",
    [
        "http://[::1",
        "http://[zz]/x",
        "http://evil.example/bangui/jails/",
        "http://testserver/other/",
        "\x00",
    ],
)
def test_an_expired_htmx_poll_with_a_strange_current_url_goes_to_the_dashboard_after_login(
    client, configured, under_prefix, current: str
) -> None:  # type: ignore[no-untyped-def]
    answer = client.get("/status/bar/", headers={"HX-Request": "true", "HX-Current-URL": current})
    assert answer.status_code == 204
    assert answer["HX-Redirect"] == f"{PREFIX}/login/?next={PREFIX}/"


def test_setup_and_health_answer_under_the_prefix(db, under_prefix, settings, caplog) -> None:  # type: ignore[no-untyped-def]
    from django.test import Client

    settings.BANGUI_URL_PREFIX = PREFIX
    client = Client()
    assert client.get("/jails/")["Location"] == f"{PREFIX}/setup/"
    page = client.get("/setup/")
    assert f"<code>{PREFIX}/setup/?token=…</code>" in page.content.decode()
    # The link the log gives the operator carries the prefix too.
    assert f"Open {PREFIX}/setup/?token=" in caplog.text
    assert client.get("/health/live").json() == {"status": "ok"}
