"""Browser tests: Playwright driving Debian's headless Chromium against ``live_server``.

Never run ``playwright install`` for these: they use ``/usr/bin/chromium``
(``apt-get install chromium``). Without it the tests are skipped, or fail when
``CI=true``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

CHROMIUM = os.environ.get("BANGUI_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 800}

# How Chromium words a Content-Security-Policy refusal in the console.
CSP_PATTERN = re.compile(r"Content Security Policy|Refused to (apply|execute|load|connect)", re.I)


def _unavailable(message: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """One headless Chromium for the whole run."""
    if not os.path.exists(CHROMIUM):
        _unavailable(f"{CHROMIUM} is missing: apt-get install chromium (never playwright install)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright Python package is missing: pip install -e '.[test]'")

    # Playwright's sync API keeps an asyncio loop in this thread, so Django would
    # refuse ORM calls here (database flushes between tests, for one). Only for
    # as long as the browser runs.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    pw = sync_playwright().start()
    try:
        try:
            chromium = pw.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
        except Exception as exc:  # any launch failure: no browser
            _unavailable(f"Chromium at {CHROMIUM} did not start: {exc}")
        yield chromium
        chromium.close()
    finally:
        pw.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@dataclass
class ConsoleLog:
    """Console errors and uncaught page errors seen by one page."""

    errors: list[str] = field(default_factory=list)

    @property
    def csp_violations(self) -> list[str]:
        return [e for e in self.errors if CSP_PATTERN.search(e)]


@pytest.fixture
def console() -> ConsoleLog:
    return ConsoleLog()


@pytest.fixture
def page(browser, console: ConsoleLog) -> Iterator[object]:  # type: ignore[no-untyped-def]
    """A fresh context (no cookies) and page per test, 1280x800, light colour scheme."""
    context = browser.new_context(viewport=VIEWPORT, color_scheme="light")
    context.set_default_timeout(10_000)
    pg = context.new_page()
    pg.on(
        "console",
        lambda msg: console.errors.append(f"console: {msg.text}") if msg.type == "error" else None,
    )
    pg.on("pageerror", lambda exc: console.errors.append(f"pageerror: {exc}"))
    yield pg
    context.close()


@pytest.fixture
def private_setup(db, f2b_private):  # type: ignore[no-untyped-def]
    """BanGUI set up against the module's own fail2ban (whose config files tests may change)."""
    from bangui.setup.services import setup_complete
    from conftest import ADMIN_PASSWORD

    setup_complete(
        password=ADMIN_PASSWORD,
        fail2ban_socket=f2b_private.socket_path,
        fail2ban_config_dir=str(f2b_private.conf_dir),
        timezone_name="UTC",
        session_minutes=480,
    )
    return f2b_private
