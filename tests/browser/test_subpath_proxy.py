"""BanGUI at http://127.0.0.1:PORT/bangui/ behind a real nginx and Caddy, in a real Chromium.

gunicorn runs with the production gunicorn.conf.py and BANGUI_URL_PREFIX=/bangui
against a real fail2ban; nginx and Caddy each run docs/reverse-proxy.md's two
blocks, one stripping the prefix and one passing it on: four ports, one BanGUI.
"""

from __future__ import annotations

import os
import re
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bangui.demo.lab import Fail2banLab
from conftest import ADMIN_PASSWORD
from tests.browser.proxies import (
    Process,
    bangui_env,
    binary,
    documented_block,
    free_port,
    start_caddy,
    start_gunicorn,
    start_nginx,
    wait_http,
)
from tests.browser.shots import screenshot

try:
    from playwright.sync_api import expect
except ImportError:
    if os.environ.get("CI", "").lower() == "true":
        raise
    pytest.skip("the playwright Python package is missing", allow_module_level=True)

pytestmark = [pytest.mark.browser]

PREFIX = "/bangui"
NAV = ["Dashboard", "Jails", "Map", "History", "Blocklists", "Configuration", "Audit log", "Users"]
IP = "203.0.113.55"


PROXIES = ["nginx-strip", "nginx-pass", "caddy-strip", "caddy-pass"]


@dataclass
class Stack:
    data_dir: Path
    lab: Fail2banLab
    # Per documented block: http://127.0.0.1:PORT/bangui through it.
    bases: dict[str, str] = field(default_factory=dict)
    processes: list[Process] = field(default_factory=list)


@pytest.fixture(scope="module")
def stack(
    f2b_private_lab: Fail2banLab, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    binary("nginx"), binary("caddy")  # fail (CI) or skip before starting anything
    data_dir = tmp_path_factory.mktemp("bangui-subpath")
    data_dir.chmod(0o700)
    upstream = free_port()
    ports = {name: free_port() for name in PROXIES}
    env = bangui_env(
        data_dir,
        BANGUI_URL_PREFIX=PREFIX,
        BANGUI_TRUSTED_PROXIES="127.0.0.1",
        BANGUI_ALLOWED_HOSTS="127.0.0.1",
    )
    stack = Stack(data_dir, f2b_private_lab)
    stack.bases = {name: f"http://127.0.0.1:{port}{PREFIX}" for name, port in ports.items()}
    try:
        stack.processes.append(start_gunicorn(data_dir, upstream, env))
        for kind, start in (("nginx", start_nginx), ("caddy", start_caddy)):
            blocks = {ports[n]: documented_block(n) for n in PROXIES if n.startswith(kind)}
            proxy = start(data_dir / kind, blocks, upstream)
            stack.processes.append(proxy)
            for name in PROXIES:
                if name.startswith(kind):
                    wait_http(f"{stack.bases[name]}/health/live", proxy)
        yield stack
    finally:
        for process in reversed(stack.processes):
            process.stop()


@dataclass
class Network:
    """Every request the page made, and the answers that were errors."""

    urls: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@pytest.fixture
def network(page) -> Network:  # type: ignore[no-untyped-def]
    seen = Network()
    page.on("request", lambda r: seen.urls.append(r.url))
    # net::ERR_ABORTED is the browser cancelling a fetch because the page moved on (the
    # favicon of a page left at once); a wrong answer still shows as a response >= 400.
    page.on(
        "requestfailed",
        lambda r: (
            None
            if r.failure == "net::ERR_ABORTED"
            else seen.errors.append(f"failed {r.url}: {r.failure}")
        ),
    )
    page.on(
        "response",
        lambda r: seen.errors.append(f"{r.status} {r.url}") if r.status >= 400 else None,
    )
    return seen


def _path(page) -> str:  # type: ignore[no-untyped-def]
    return re.sub(r"^https?://[^/]+", "", page.url)


def _set_up(page, stack: Stack, base: str) -> None:  # type: ignore[no-untyped-def]
    """Through the setup pages, as an operator does on the first visit."""
    token = (stack.data_dir / "setup-token").read_text().strip()
    page.goto(f"{base}/setup/?token={token}")
    page.fill("#id_password", ADMIN_PASSWORD)
    page.fill("#id_password_confirm", ADMIN_PASSWORD)
    page.fill("#id_fail2ban_socket", stack.lab.socket_path)
    page.fill("#id_fail2ban_config_dir", str(stack.lab.conf_dir))
    page.select_option("#id_timezone", "UTC")
    page.fill("#id_session_minutes", "60")
    page.get_by_role("button", name="Finish setup").click()
    page.wait_for_url(f"{base}/login/")


def _set_up_if_needed(page, stack: Stack, base: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/")
    if _path(page) == f"{PREFIX}/setup/":
        _set_up(page, stack, base)


def _log_in_to(page, base: str, path: str) -> None:  # type: ignore[no-untyped-def]
    """Open a page while logged out, log in, and land on that page (login's next=)."""
    page.goto(f"{base}{path}")
    assert _path(page) == f"{PREFIX}/login/?next={PREFIX}{path}"
    page.fill("#id_password", ADMIN_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}{path}")


def _every_menu_page(page) -> None:  # type: ignore[no-untyped-def]
    for name in NAV:
        page.locator("nav.mainnav").get_by_role("link", name=name, exact=True).click()
        page.wait_for_load_state()
        expect(
            page.locator("nav.mainnav").get_by_role("link", name=name, exact=True)
        ).to_have_attribute("aria-current", "page")
        assert _path(page).startswith(f"{PREFIX}/"), name


def _status_bar_poll(page, base: str) -> None:  # type: ignore[no-untyped-def]
    """The status bar's htmx poll, asked for at once instead of in 10 s."""
    with page.expect_response(lambda r: r.url.startswith(f"{base}/status/bar/")) as answer:
        page.evaluate("() => htmx.trigger('#status-bar', 'refresh')")
    assert answer.value.status in (200, 304)
    expect(page.locator("#status-bar")).to_have_class(re.compile(r"\bis-online\b"))


def _log_out(page, base: str) -> None:  # type: ignore[no-untyped-def]
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(f"{base}/login/")
    expect(page.get_by_role("status")).to_have_text("You are logged out.")


def _assert_stayed_inside(network: Network, base: str, console) -> None:  # type: ignore[no-untyped-def]
    origin = base.removesuffix(PREFIX)
    outside = [u for u in network.urls if u.startswith(origin) and not u.startswith(f"{base}/")]
    assert outside == [], "requests outside the prefix"
    assert network.errors == [], "failed requests or 4xx/5xx answers"
    # Served by whitenoise under the prefix, with collectstatic's hashed names.
    for asset in (r"/static/vendor/htmx-[\d.]+\.min\.\w+\.js", r"/static/css/bangui\.\w+\.css"):
        assert any(re.fullmatch(re.escape(base) + asset, u) for u in network.urls), asset
    assert console.errors == [], "errors in the browser console"


def test_setup_login_pages_htmx_ban_unban_and_logout_through_nginx_stripping_the_prefix(  # type: ignore[no-untyped-def]
    page, console, network, stack
):
    base = stack.bases["nginx-strip"]
    page.goto(f"{base}/")
    assert _path(page) == f"{PREFIX}/setup/"
    _set_up(page, stack, base)
    expect(page.locator(".msg-success")).to_contain_text("Setup is complete.")

    _log_in_to(page, base, "/history/")
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["bangui_session"]["path"] == f"{PREFIX}/"
    assert cookies["csrftoken"]["path"] == f"{PREFIX}/"
    _every_menu_page(page)
    _status_bar_poll(page, base)

    # A POST form through the proxy (CSRF, redirect), then an htmx search, then the unban.
    page.locator("nav.mainnav").get_by_role("link", name="Jails", exact=True).click()
    page.get_by_role("link", name="Ban IPs").click()
    page.fill("#id_ips", IP)
    page.select_option("#id_jail", "beta")
    page.get_by_role("button", name="Ban", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="banned in")).to_contain_text("1 banned")
    assert IP in stack.lab.cli("status", "beta")
    page.get_by_role("link", name="beta").first.click()
    assert _path(page) == f"{PREFIX}/jails/beta/"
    with page.expect_response(lambda r: r.url.startswith(f"{base}/jails/beta/?")) as search:
        page.fill("#id_bq", IP[:-1])
    assert search.value.request.headers.get("hx-request") == "true"
    row = page.locator("#bans-table tr", has_text=IP)
    expect(row).to_be_visible()
    screenshot(page, "subpath-jail-light")
    row.get_by_role("button", name="Unban").click()
    expect(page.locator(".messages")).to_contain_text(f"Unbanned {IP} from jail beta.")
    assert _path(page).startswith(f"{PREFIX}/jails/beta/")
    assert IP not in stack.lab.cli("status", "beta")

    _log_out(page, base)
    _assert_stayed_inside(network, base, console)


@pytest.mark.parametrize("proxy", PROXIES[1:])
def test_login_pages_htmx_and_logout_through_each_other_documented_proxy(  # type: ignore[no-untyped-def]
    page, console, network, stack, proxy: str
):
    base = stack.bases[proxy]
    _set_up_if_needed(page, stack, base)
    _log_in_to(page, base, "/jails/")
    _every_menu_page(page)
    _status_bar_poll(page, base)
    _log_out(page, base)
    _assert_stayed_inside(network, base, console)


@pytest.mark.parametrize("proxy", PROXIES)
def test_health_and_the_bare_prefix_answer_through_each_proxy(stack, proxy: str) -> None:  # type: ignore[no-untyped-def]
    base = stack.bases[proxy]
    for probe in ("live", "ready"):
        with urllib.request.urlopen(f"{base}/health/{probe}", timeout=10) as answer:
            assert answer.status == 200
    # /bangui without its slash: the proxy sends it to /bangui/, BanGUI on to setup or login.
    with urllib.request.urlopen(base, timeout=10) as answer:
        assert answer.url.startswith(f"{base}/")
