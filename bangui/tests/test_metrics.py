"""/metrics in the test client: who may scrape it, and what it says (real fail2ban, real DB)."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.tasks import async_task
from prometheus_client.parser import text_string_to_metric_families

from bangui.metrics import fail2ban as f2b_metrics
from bangui.metrics.jobs import job_recorded
from bangui.models import AppSettings, JobStat

TOKEN = "s3cret-metrics-token-for-tests"


@pytest.fixture(autouse=True)
def _fresh_sample() -> Iterator[None]:
    f2b_metrics.forget()
    yield
    f2b_metrics.forget()


@pytest.fixture
def token(settings):  # type: ignore[no-untyped-def]
    settings.BANGUI_METRICS_TOKEN = TOKEN
    return TOKEN


def scrape(client, token: str = TOKEN) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:  # type: ignore[no-untyped-def]
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.content.decode())
        for s in family.samples
    }


def failures_seen(lab, jail: str, count: int, timeout: float = 15) -> None:  # type: ignore[no-untyped-def]
    """Wait until fail2ban has read the failure lines (its poller reads the log a moment later)."""
    import time

    deadline = time.monotonic() + timeout
    while lab.client().jail_status(jail).total_failed < count:
        if time.monotonic() > deadline:
            raise AssertionError(f"fail2ban did not count {count} failures in {jail}")
        time.sleep(0.1)


def test_it_is_off_and_says_how_to_enable_it_when_nothing_is_configured(client, db):
    response = client.get("/metrics")
    assert response.status_code == 404
    assert b"BANGUI_METRICS_TOKEN" in response.content
    assert b"BANGUI_METRICS_ALLOW" in response.content


def test_it_refuses_a_scrape_without_the_token(client, db, token):
    response = client.get("/metrics")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "header",
    [
        "Bearer wrong",
        "Bearer",
        "Bearer ",
        f"Basic {TOKEN}",
        f"Bearer {TOKEN}x",
        f"Bearer {TOKEN[:-1]}",
        "Bearer tökén-ünïcode",
        "Bearer \x00\x01",
        "Bearer " + "A" * 100_000,
        "\u00ff" * 10,
        "bearer",
    ],
)
def test_it_refuses_wrong_and_hostile_authorization_headers(client, db, token, header):
    response = client.get("/metrics", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401


def test_the_scheme_is_case_insensitive(client, configured, token):
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"bearer {TOKEN}")
    assert response.status_code == 200


def test_the_token_may_come_from_a_file(monkeypatch, tmp_path):
    from bangui.env import env_secret

    path = tmp_path / "token"
    path.write_text(TOKEN + "\n")
    monkeypatch.setenv("BANGUI_METRICS_TOKEN_FILE", str(path))
    assert env_secret("BANGUI_METRICS_TOKEN") == TOKEN


def test_an_allowed_network_scrapes_without_a_token(client, configured, settings):
    import ipaddress

    settings.BANGUI_METRICS_ALLOW = [ipaddress.ip_network("127.0.0.0/8")]
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200
    response = client.get("/metrics", REMOTE_ADDR="192.0.2.7")
    assert response.status_code == 403
    assert b"BANGUI_METRICS_ALLOW" in response.content


def test_a_forwarded_address_counts_only_from_a_trusted_proxy(client, configured, settings):
    import ipaddress

    settings.BANGUI_METRICS_ALLOW = [ipaddress.ip_network("10.0.0.0/8")]
    spoofed = client.get("/metrics", REMOTE_ADDR="192.0.2.7", HTTP_X_FORWARDED_FOR="10.1.2.3")
    assert spoofed.status_code == 403
    settings.BANGUI_TRUSTED_PROXIES = [ipaddress.ip_network("192.0.2.7/32")]
    proxied = client.get("/metrics", REMOTE_ADDR="192.0.2.7", HTTP_X_FORWARDED_FOR="10.1.2.3")
    assert proxied.status_code == 200


def test_it_is_not_behind_the_login_or_the_setup(client, db, token):
    # No setup done, nobody logged in: still the metrics (fail2ban from the environment).
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200


def test_it_refuses_a_post(client, db, token):
    response = client.post("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code in (403, 405)


def test_the_fail2ban_values_are_the_jails_own(client, configured, f2b, token):
    c = f2b.client()
    c.ban("alpha", ["192.0.2.1", "192.0.2.2"])
    c.ban("beta", ["198.51.100.9"])
    f2b.add_failures("sshd", "203.0.113.5", 1)
    failures_seen(f2b, "sshd", 1)
    metrics = scrape(client)
    assert metrics[("f2b_up", ())] == 1
    jails = c.jails()
    assert metrics[("f2b_jail_count", ())] == len(jails)
    for jail in jails:
        st = c.jail_status(jail)
        key = (("jail", jail),)
        assert metrics[("f2b_jail_banned_current", key)] == st.currently_banned
        assert metrics[("f2b_jail_banned_total", key)] == st.total_banned
        assert metrics[("f2b_jail_failed_current", key)] == st.currently_failed
        assert metrics[("f2b_jail_failed_total", key)] == st.total_failed
    assert metrics[("f2b_jail_banned_current", (("jail", "alpha"),))] == 2


def test_the_fail2ban_part_is_kept_a_few_seconds(client, configured, f2b, token):
    before = scrape(client)[("f2b_jail_banned_current", (("jail", "alpha"),))]
    f2b.client().ban("alpha", ["192.0.2.44"])
    assert scrape(client)[("f2b_jail_banned_current", (("jail", "alpha"),))] == before
    f2b_metrics.forget()  # as when CACHE_SECONDS have passed
    assert scrape(client)[("f2b_jail_banned_current", (("jail", "alpha"),))] == before + 1


def test_fail2ban_down_is_f2b_up_0_and_still_the_rest(client, configured, token, tmp_path):
    AppSettings.objects.filter(pk=1).update(fail2ban_socket=str(tmp_path / "gone.sock"))
    AppSettings.forget()
    metrics = scrape(client)
    assert metrics[("f2b_up", ())] == 0
    assert metrics[("f2b_jail_count", ())] == 0
    assert any(
        name.startswith("bangui_job_") or name.startswith("bangui_geo") for name, _ in metrics
    )


def test_unknown_urls_share_one_latency_label(client, configured, token):
    for path in ("/no-such-page", "/x" * 50, "/%00%ff", "/admin/../../etc/passwd"):
        client.get(path)
    client.get("/health/live")
    client.get("/login/")
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    views = set(
        re.findall(
            r'bangui_request_duration_seconds_count\{view="([^"]*)"', response.content.decode()
        )
    )
    assert "unresolved" in views
    assert "login" in views
    assert not any("no-such" in v or "passwd" in v or "/x" in v for v in views)


def failing_job() -> None:
    raise RuntimeError("this job fails")


def test_job_runs_failures_and_last_success_are_counted(client, configured, token):
    async_task("bangui.tasks.session_cleanup", sync=True)
    async_task("bangui.tasks.session_cleanup", sync=True)
    with pytest.raises(RuntimeError):  # sync mode raises in the worker: the monitor never sees it
        async_task("bangui.tests.test_metrics.failing_job", sync=True)
    job_recorded(task={"func": failing_job, "success": False, "result": "RuntimeError"})
    stat = JobStat.objects.get(name="session_cleanup")
    assert (stat.runs, stat.failures) == (2, 0)
    metrics = scrape(client)
    assert metrics[("bangui_job_runs_total", (("job", "session_cleanup"),))] == 2
    assert metrics[("bangui_job_failures_total", (("job", "session_cleanup"),))] == 0
    assert metrics[("bangui_job_last_success_timestamp_seconds", (("job", "session_cleanup"),))] > 0
    failed = {k: v for k, v in metrics.items() if k[0] == "bangui_job_failures_total" and v}
    assert failed == {
        ("bangui_job_failures_total", (("job", "bangui.tests.test_metrics.failing_job"),)): 1
    }


def test_a_job_that_reports_failed_counts_as_a_failure(db):
    now = timezone.now()
    task = {
        "func": "jails.tasks.history_sync",
        "success": True,
        "result": "failed: fail2ban has no database",
        "started": now - timedelta(seconds=2),
        "stopped": now,
    }
    job_recorded(task=task)
    stat = JobStat.objects.get(name="history_sync")
    assert (stat.runs, stat.failures, stat.last_success_at) == (1, 1, None)
    assert stat.last_seconds == pytest.approx(2.0)


def test_through_the_broker_it_says_broker_up_and_the_same_values(
    client, configured, f2b, token, settings
):
    import tempfile
    from pathlib import Path

    from bangui.broker.server import Policy, Settings, serve

    path = str(Path(tempfile.mkdtemp(prefix="bgm-", dir="/tmp")) / "b.sock")
    settings.BANGUI_BROKER_SOCKET = path
    server = serve(path, Settings(f2b.socket_path, str(f2b.conf_dir)), Policy(), None)
    f2b.client().ban("alpha", ["192.0.2.77"])
    try:
        metrics = scrape(client)
        assert metrics[("bangui_broker_up", ())] == 1
        assert metrics[("f2b_up", ())] == 1
        assert metrics[("f2b_jail_banned_current", (("jail", "alpha"),))] == 1
    finally:
        server.shutdown()
        server.server_close()
    f2b_metrics.forget()
    metrics = scrape(client)  # the broker is gone: fail2ban's state is unknown
    assert (metrics[("bangui_broker_up", ())], metrics[("f2b_up", ())]) == (0, 0)


def test_a_job_worker_writes_its_geo_counts_after_the_job(db):
    from bangui.models import Counter
    from geo.lookup import counts

    # sync=True runs django-q2's own worker loop here, with its post_execute_in_worker.
    async_task("bangui.tests.test_metrics.geo_job", sync=True)
    rows = dict(Counter.objects.filter(name__startswith=counts.PREFIX).values_list("name", "value"))
    assert rows.get(counts.PREFIX + "mmdb", 0) >= 2


def geo_job() -> str:
    from geo.services import geo_resolve_many

    return str(len(geo_resolve_many(["81.2.69.142", "81.2.69.160"], persist=False)))


def test_counts_from_many_threads_add_up_exactly_without_a_lock() -> None:
    import threading

    from bangui.metrics.tally import ThreadTally

    tally: ThreadTally[str] = ThreadTally()

    def work() -> None:
        for _ in range(20_000):
            tally.add("hits")

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    seen = [tally.totals().get("hits", 0) for _ in range(50)]  # read while they count
    for t in threads:
        t.join()
    assert tally.totals() == {"hits": 160_000}
    assert seen == sorted(seen)  # never goes down
    written: list[dict[str, float]] = []
    tally.flush(written.append)
    tally.add("hits", 5)
    assert written == [{"hits": 160_000}] and tally.pending() == {"hits": 5}


@pytest.mark.django_db(transaction=True)  # the scrapes' threads read the committed settings
def test_ten_scrapers_at_once_ask_fail2ban_once(client, configured, f2b, token, tmp_path):
    """A counting relay in front of fail2ban's socket: each ask of the sample is one connection."""
    import socket
    import socketserver
    import threading

    opened: list[int] = []

    class Relay(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            opened.append(1)
            upstream = socket.socket(socket.AF_UNIX)
            upstream.connect(f2b.socket_path)

            def pump(src: socket.socket, dst: socket.socket) -> None:
                while data := src.recv(65536):
                    dst.sendall(data)
                dst.shutdown(socket.SHUT_WR)

            back = threading.Thread(target=pump, args=(upstream, self.request), daemon=True)
            back.start()
            with contextlib.suppress(OSError):  # the client went away first
                pump(self.request, upstream)
            back.join(5)
            upstream.close()

    relay_path = str(tmp_path / "relay.sock")
    server = socketserver.ThreadingUnixStreamServer(relay_path, Relay)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    AppSettings.objects.filter(pk=1).update(fail2ban_socket=relay_path)
    AppSettings.forget()
    from django.db import connections
    from django.test import Client

    results: list[int] = []

    def scrape_once() -> None:
        try:
            response = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
            results.append(int(b"f2b_up 1.0" in response.content))
        finally:
            connections.close_all()

    try:
        threads = [threading.Thread(target=scrape_once) for _ in range(10)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    finally:
        server.shutdown()
        server.server_close()
    assert results == [1] * 10
    assert len(opened) == 1
