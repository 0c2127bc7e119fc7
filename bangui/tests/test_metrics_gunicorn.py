"""Acceptance: /metrics from a real gunicorn against the real fail2ban lab.

The values are checked against what ``fail2ban-client status <jail>`` prints
for every jail, and the scrape is parsed with prometheus-client's own parser.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bangui.demo.lab import Fail2banLab
from bangui.tests.test_metrics import failures_seen
from bangui.tests.test_startup_guard import ROOT, _env, _free_port, _gunicorn, _stop, _wait_live

TOKEN = "acceptance-metrics-token-0123456789"


@pytest.fixture(scope="module")
def data_dir() -> str:
    path = tempfile.mkdtemp(prefix="bangui-metrics-")
    for command in ("migrate", "collectstatic"):
        subprocess.run(
            [sys.executable, "manage.py", command, "--noinput", "-v0"],
            cwd=ROOT,
            env=_env(path),
            check=True,
            timeout=120,
        )
    return path


@pytest.fixture
def server(data_dir: str, f2b: Fail2banLab) -> Iterator[int]:
    token_file = os.path.join(data_dir, "metrics-token")
    with open(token_file, "w") as fh:
        fh.write(TOKEN + "\n")
    port = _free_port()
    proc = _gunicorn(
        data_dir,
        port,
        BANGUI_FAIL2BAN_SOCKET=f2b.socket_path,
        BANGUI_FAIL2BAN_CONFIG_DIR=str(f2b.conf_dir),
        BANGUI_METRICS_TOKEN_FILE=token_file,
    )
    try:
        _wait_live(port, proc)
        yield port
    finally:
        _stop(proc)


def _get(port: int, headers: dict[str, str] | None = None) -> tuple[int, str, dict[str, str]]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/metrics", headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status, r.read().decode(), dict(r.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(), dict(exc.headers)


def _cli_status(lab: Fail2banLab, jail: str) -> dict[str, int]:
    out = lab.cli("status", jail)
    fields = {
        "failed_current": r"Currently failed:\s*(\d+)",
        "failed_total": r"Total failed:\s*(\d+)",
        "banned_current": r"Currently banned:\s*(\d+)",
        "banned_total": r"Total banned:\s*(\d+)",
    }
    values = {}
    for name, pattern in fields.items():
        found = re.search(pattern, out)
        assert found, f"no {name} in fail2ban-client's answer: {out!r}"
        values[name] = int(found.group(1))
    return values


def test_the_scrape_matches_fail2ban_client_for_every_jail(server: int, f2b: Fail2banLab) -> None:
    client = f2b.client()
    client.ban("alpha", ["192.0.2.10", "192.0.2.11", "192.0.2.12"])
    client.ban("beta", ["198.51.100.20"])
    client.ban("sshd", ["203.0.113.30", "203.0.113.31"])
    client.unban("sshd", ["203.0.113.31"])
    f2b.add_failures("beta", "203.0.113.99", 1)
    failures_seen(f2b, "beta", 1)

    with urllib.request.urlopen(f"http://127.0.0.1:{server}/setup/", timeout=10) as r:
        assert r.status == 200

    status, body, headers = _get(server, {"Authorization": f"Bearer {TOKEN}"})
    assert status == 200, body
    assert headers["Content-Type"].startswith("text/plain")
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(body)
        for s in family.samples
    }
    assert samples[("f2b_up", ())] == 1
    jails = [
        j.strip() for j in re.search(r"Jail list:\s*(.*)", f2b.cli("status")).group(1).split(",")
    ]  # type: ignore[union-attr]
    assert samples[("f2b_jail_count", ())] == len(jails) == 3
    for jail in jails:
        for name, value in _cli_status(f2b, jail).items():
            assert samples[(f"f2b_jail_{name}", (("jail", jail),))] == value, (jail, name)
    assert samples[("f2b_jail_banned_current", (("jail", "alpha"),))] == 3
    # The request histogram saw the page asked before the scrape, under its URL name.
    assert samples[("bangui_request_duration_seconds_count", (("view", "setup"),))] == 1


def test_without_the_token_it_is_refused(server: int) -> None:
    status, body, headers = _get(server)
    assert status == 401
    assert headers["WWW-Authenticate"].startswith("Bearer")
    assert "f2b_" not in body
    status, _, _ = _get(server, {"Authorization": "Bearer not-the-token"})
    assert status == 401
    status, _, _ = _get(server, {"Authorization": "Bearer \u00e9\u00e8\u00ff" * 500})
    assert status == 401
