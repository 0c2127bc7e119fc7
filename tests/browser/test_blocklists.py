"""Blocklists in a real browser: add a source, preview it, import it with the progress bar
visible, then find the addresses in fail2ban's jail and on the dashboard as "Blocklist"."""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Iterator
from pydoc import locate

import pytest

from blocklists.tests.httpserver import LocalServer, stream
from tests.browser.helpers import log_in
from tests.browser.shots import screenshot, screenshot_schemes

try:
    from playwright.sync_api import expect
except ImportError:
    if os.environ.get("CI", "").lower() == "true":
        raise
    pytest.skip("the playwright Python package is missing", allow_module_level=True)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Public addresses (documentation ranges are reserved and never banned).
LIST = [f"5.{n // 62500 % 250 + 1}.{n // 250 % 250}.{n % 250 + 1}" for n in range(6000)]


@pytest.fixture
def queue_worker() -> Iterator[None]:
    """Runs the tasks the page puts on django-q2's real ORM queue, in this process.

    In this process rather than a ``qcluster``: the test can then wait for the
    tasks it queued, and no cluster outlives a failed test.
    """
    from django.db import OperationalError, connection
    from django_q.brokers import get_broker
    from django_q.signing import SignedPackage

    stop = threading.Event()

    def work() -> None:
        broker = get_broker()
        while not stop.is_set():
            try:
                tasks = broker.dequeue() or []
            except OperationalError:  # the database is busy: next turn
                tasks = []
            for task_id, payload in tasks:
                task = SignedPackage.loads(payload)
                func = locate(task["func"]) if isinstance(task["func"], str) else task["func"]
                func(*task["args"], **task["kwargs"])  # type: ignore[operator]
                broker.acknowledge(task_id)
            time.sleep(0.1)
        connection.close()

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(10)


@pytest.fixture
def slow_list() -> Iterator[LocalServer]:
    """The list served in pieces over ~3 s, so the download's progress can be watched."""
    body = ("# test list\n" + "\n".join(LIST) + "\n").encode()
    pieces = [body[i : i + len(body) // 12 + 1] for i in range(0, len(body), len(body) // 12 + 1)]

    def slowly() -> Iterator[bytes]:
        for piece in pieces:
            time.sleep(0.25)
            yield piece

    with LocalServer() as server:
        server.route("/list.txt", stream(slowly, length=len(body)))
        yield server


def test_add_preview_import_and_find_the_bans(  # type: ignore[no-untyped-def]
    page, console, live_server, private_setup, queue_worker, slow_list
):
    from jails.history.services import history_sync
    from jails.models import BanRecord

    lab = private_setup
    base = live_server.url
    log_in(page, base)
    page.goto(f"{base}/blocklists/")
    expect(page.get_by_role("heading", name="Blocklists")).to_be_visible()

    page.fill("#id_name", "test list")
    page.fill("#id_url", slow_list.url("/list.txt"))
    page.get_by_role("button", name="Preview").click()
    preview = page.locator("#bl-preview")
    expect(preview).to_contain_text("6,000 addresses would be banned", timeout=20_000)
    assert page.url == f"{base}/blocklists/"  # nothing saved, same page

    page.get_by_role("button", name="Add source").click()
    expect(page.locator(".messages")).to_contain_text("Added “test list”")
    page.get_by_role("button", name="Import now").click()
    expect(page.locator(".messages")).to_contain_text("Import started")

    bar = page.locator(".bl-progress progress").first
    expect(bar).to_be_visible()
    # Part of the list is in (the server sends it over ~3 s): the bar has moved.
    expect(page.locator(".bl-progress")).to_contain_text(
        re.compile(r"Downloading… [1-9][\d.,]*\sKB of"), timeout=10_000
    )
    expect(page.locator(".bl-sources tbody tr").first).to_contain_text("Running")
    screenshot(page, "blocklists-importing-light", full_page=False)

    # The live panel reloads the page when the import ends.
    row = page.locator(".bl-sources tbody tr").first
    expect(row).to_contain_text("Imported", timeout=30_000)
    expect(row).to_contain_text("6,000 new")
    assert set(LIST) <= set(lab.client().banned_ips("blocklist-import"))

    # The history sync (every minute in production) archives them as "blocklist".
    deadline = time.monotonic() + 20
    while BanRecord.objects.filter(jail="blocklist-import").count() < len(LIST):
        assert time.monotonic() < deadline
        history_sync(db_path=lab.db_path)
        time.sleep(0.3)
    page.goto(f"{base}/?origin=blocklist")
    first = page.locator(".dash-bans tbody tr").first
    expect(first.locator(".badge", has_text="Blocklist")).to_be_visible()
    assert re.search(r"5\.\d+\.\d+\.\d+", first.inner_text())
    expect(page.locator("#dash-window")).to_contain_text("6000 bans")

    page.goto(f"{base}/blocklists/")
    page.locator(".bl-sources tbody tr").first.get_by_role("link").first.click()
    expect(page.get_by_role("heading", name="Import of test list")).to_be_visible()
    expect(page.locator(".bl-log")).to_contain_text("6,000 new")
    screenshot_schemes(page, "blocklists-run")
    page.goto(f"{base}/blocklists/")
    screenshot_schemes(page, "blocklists")
    assert console.csp_violations == []
    assert console.errors == []
