"""JSON logs from a real gunicorn: request IDs, no secret on stdout/stderr, the auth file.

gunicorn runs with BANGUI_LOG_FORMAT=json and an auth log file; the test sets
BanGUI up with its token, logs in wrongly and rightly, changes the password and
sends hostile X-Request-ID headers, then reads what gunicorn wrote.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = str(Path(sys.executable).parent / "gunicorn")
FILTER = ROOT / "contrib/fail2ban/filter.d/bangui-auth.conf"
SECRET_KEY = "gunicorn-test-secret-key-" + "Kq3vX9pL2mZ8wR4tY7uB1nC6" * 2
FIRST, NEW, WRONG = "Gunicorn-first-8812-pw", "Gunicorn-new-3390-pw", "Gunicorn-wrong-1177-pw"
CLIENT = "203.0.113.77"  # the address the proxy (127.0.0.1, trusted) forwards for
HOSTILE = [
    b"A" * 10_240,
    b'"}{"level":"CRITICAL","message":"forged',
    b"id'with\"quotes",
    "ünïcödé-🙂".encode(),
    b"a b c",
    b"x" * 65,
    b"\x01\x02ctl",
]


def _env(data_dir: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BANGUI_", "DJANGO_"))}
    env |= {
        "BANGUI_DATA_DIR": data_dir,
        "BANGUI_STATIC_ROOT": os.path.join(data_dir, "static"),
        "BANGUI_SECRET_KEY": SECRET_KEY,
        "BANGUI_SECURE_COOKIES": "false",
        "BANGUI_TRUSTED_PROXIES": "127.0.0.1",
        "BANGUI_LOG_FORMAT": "json",
        "DJANGO_SETTINGS_MODULE": "bangui.settings",
    }
    return env | extra


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    port: int
    data_dir: Path
    out: Path
    err: Path
    auth_log: Path  # BANGUI_AUTH_LOG_FILE
    cookies: dict[str, str] = field(default_factory=dict)
    responses: list[http.client.HTTPResponse] = field(default_factory=list)
    secrets: list[str] = field(default_factory=list)  # what must appear in no line

    def request(
        self, method: str, url: str, body: dict[str, str] | None = None, **headers: str | bytes
    ) -> tuple[http.client.HTTPResponse, str]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        conn.putrequest(method, url)
        sent = {"X-Forwarded-For": CLIENT, **headers}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        data = "&".join(f"{k}={_quote(v)}" for k, v in (body or {}).items()).encode()
        if body is not None:
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        sent["Content-Length"] = str(len(data))
        for name, value in sent.items():
            conn.putheader(name.replace("_", "-"), value)
        conn.endheaders(data)
        response = conn.getresponse()
        text = response.read().decode(errors="replace")
        conn.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            name, value = header.split(";", 1)[0].split("=", 1)
            self.cookies[name] = value
        self.responses.append(response)
        return response, text

    def form(
        self, url: str, headers: dict[str, str] | None = None, **fields: str
    ) -> tuple[http.client.HTTPResponse, str]:
        """POST a form the way a browser does: the page first, for the CSRF token."""
        _, page = self.request("GET", url)
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert csrf, page[:500]
        body = {"csrfmiddlewaretoken": csrf[1], **fields}
        return self.request("POST", url, body, **(headers or {}))


def _quote(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="")


def _start(data_dir: Path, name: str, **env: str) -> tuple[subprocess.Popen[bytes], Server]:
    """gunicorn on a free port, its stdout and stderr in files; back once it answers."""
    port = _free_port()
    out, err = data_dir / f"{name}.out.log", data_dir / f"{name}.err.log"
    srv = Server(port, data_dir, out, err, data_dir / f"{name}.auth.log")
    full_env = _env(str(data_dir), BANGUI_AUTH_LOG_FILE=str(srv.auth_log), **env)
    with out.open("w") as stdout, err.open("w") as stderr:
        proc = subprocess.Popen(
            [GUNICORN, "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}", "bangui.wsgi"],
            cwd=ROOT, env=full_env, stdout=stdout, stderr=stderr, start_new_session=True,
        )  # fmt: skip
    deadline = time.monotonic() + 60
    while True:
        assert proc.poll() is None, err.read_text()
        try:
            if srv.request("GET", "/health/live")[0].status == 200:
                return proc, srv
        except OSError:
            assert time.monotonic() < deadline, err.read_text()
            time.sleep(0.2)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(30)


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    data_dir = Path(tempfile.mkdtemp(prefix="bangui-logs-"))
    for command in ("migrate", "collectstatic"):
        subprocess.run(
            [sys.executable, "manage.py", command, "--noinput", "-v0"],
            cwd=ROOT, env=_env(str(data_dir)), check=True, timeout=180,
        )  # fmt: skip
    proc, srv = _start(data_dir, "json")
    try:
        _drive(srv)
    finally:
        _stop(proc)
    yield srv
    shutil.rmtree(data_dir, ignore_errors=True)


def _drive(srv: Server) -> None:
    """Setup with the token, a wrong and a right login, a password change, hostile IDs."""
    token = (srv.data_dir / "setup-token").read_text().strip()
    conf_dir = srv.data_dir / "fail2ban"
    conf_dir.mkdir()
    (conf_dir / "jail.conf").write_text("[DEFAULT]\n")
    srv.secrets = [SECRET_KEY, token, FIRST, NEW, WRONG]
    setup = {
        "token": token, "username": "admin", "password": FIRST, "password_confirm": FIRST,
        "fail2ban_socket": "/nonexistent/fail2ban.sock", "skip_fail2ban_check": "on",
        "fail2ban_config_dir": str(conf_dir), "timezone": "UTC", "session_minutes": "60",
    }  # fmt: skip
    assert srv.request("GET", "/setup/?token=wrong-token-guess")[0].status == 403
    response, page = srv.form(f"/setup/?token={token}", **setup)
    assert response.status == 302, re.findall(r"class=\"[^\"]*error[^\"]*\"[^>]*>([^<]+)", page)
    assert srv.form("/login/", {"X-Request-ID": "lb-wrong.1"}, password=WRONG)[0].status == 200
    assert srv.form("/login/", password=FIRST)[0].status == 302
    change = {"old_password": FIRST, "password": NEW, "password_confirm": NEW}
    response, page = srv.request("GET", "/account/")
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert csrf
    body = {"csrfmiddlewaretoken": csrf[1], **change}
    assert srv.request("POST", "/account/password/", body)[0].status == 302
    srv.secrets += [v for k, v in srv.cookies.items()]
    srv.secrets.append(csrf[1])
    for value in HOSTILE:
        try:
            status = srv.request("GET", "/no-such-page/", X_Request_ID=value)[0].status
        except http.client.HTTPException:
            continue
        assert status in (400, 404, 431)  # gunicorn refuses a header over 8 KiB itself


def _records(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_every_line_gunicorn_writes_is_one_json_object(server: Server) -> None:
    records = _records(server.out) + _records(server.err)
    assert len(records) > 20
    for record in records:
        assert {"time", "level", "logger", "message", "request_id"} <= set(record)
    loggers = {r["logger"] for r in records}
    assert {"gunicorn.access", "gunicorn.error", "bangui.auth", "django.request"} <= loggers


def test_no_secret_reaches_stdout_stderr_or_the_auth_file(server: Server) -> None:
    written = server.out.read_text() + server.err.read_text() + server.auth_log.read_text()
    assert "/setup/?token=[redacted]" in written  # the access lines are there, redacted
    for secret in server.secrets:
        assert len(secret) >= 8 and secret not in written, f"{secret!r} leaked"


def test_every_response_has_an_id_that_its_log_lines_carry(server: Server) -> None:
    access = [r for r in _records(server.out) if r["logger"] == "gunicorn.access"]
    logged = {r["request_id"] for r in access}
    answered = [r for r in server.responses if r.status not in (400, 431)]  # Django's
    assert len(answered) >= 10
    for response in answered:
        rid = response.getheader("X-Request-ID") or ""
        assert re.fullmatch(r"[0-9a-f]{32}|lb-wrong\.1", rid)
        assert rid in logged


def test_a_trusted_proxys_id_is_on_the_auth_line_and_hostile_ones_nowhere(server: Server) -> None:
    records = _records(server.out) + _records(server.err)
    (failed,) = [
        r for r in records if r["logger"] == "bangui.auth" and "failed" in str(r["message"])
    ]
    assert failed["request_id"] == "lb-wrong.1"
    assert failed["message"] == f'login failed from {CLIENT} user="admin"'
    written = server.out.read_text() + server.err.read_text()
    assert "forged" not in written and "CRITICAL" not in written
    assert "A" * 100 not in written


def test_the_auth_file_keeps_its_line_and_fail2bans_filter_matches_it(server: Server) -> None:
    lines = server.auth_log.read_text().splitlines()
    assert any(
        re.fullmatch(
            rf"\S+ \S+ WARNING bangui\.auth: login failed from {CLIENT} user=\"admin\"", line
        )
        for line in lines
    )
    fail2ban_regex = shutil.which("fail2ban-regex")
    if fail2ban_regex is None:
        message = "fail2ban-regex is not installed (apt-get install fail2ban); scripts/test does it"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    out = subprocess.run(
        [fail2ban_regex, str(server.auth_log), str(FILTER)],
        capture_output=True, text=True, timeout=60,
    ).stdout  # fmt: skip
    assert re.search(r"Lines: \d+ lines, 0 ignored, 1 matched", out), out
    assert CLIENT in out


def test_an_unknown_format_stops_gunicorn_with_a_clear_message(server: Server) -> None:
    proc = subprocess.run(
        [GUNICORN, "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{_free_port()}", "bangui.wsgi"],
        cwd=ROOT, env=_env(str(server.data_dir), BANGUI_LOG_FORMAT="yaml"),
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode != 0
    assert "BanGUI cannot start: BANGUI_LOG_FORMAT='yaml': use plain" in proc.stderr


def test_plain_mode_keeps_gunicorns_lines_adds_the_id_and_sanitizes(server: Server) -> None:
    proc, srv = _start(server.data_dir, "plain", BANGUI_LOG_FORMAT="plain")
    try:
        token = "Plain-token-guess-7731"
        answer, _ = srv.request("GET", f"/setup/?token={token}", X_Request_ID="lb-plain.2")
        srv.form("/login/", {"X-Request-ID": "lb-plain.3"}, password=WRONG)
    finally:
        _stop(proc)
    assert answer.status == 302 and answer.getheader("X-Request-ID") == "lb-plain.2"
    access = srv.out.read_text().splitlines()
    # gunicorn's combined line as before, the request ID at its end.
    assert any(
        re.fullmatch(
            r'127\.0\.0\.1 - - \[.+\] "GET /setup/\?token=\[redacted\] HTTP/1\.1" 302 0 '
            r'"-" "-" lb-plain\.2',
            line,
        )
        for line in access
    ), access
    errors = srv.err.read_text()
    assert re.search(r"\[INFO\] Booting worker with pid", errors)  # gunicorn's own layout
    assert f'WARNING [lb-plain.3] bangui.auth: login failed from {CLIENT} user="admin"' in errors
    assert token not in srv.out.read_text() + errors
    assert (
        f'WARNING bangui.auth: login failed from {CLIENT} user="admin"' in srv.auth_log.read_text()
    )
