"""Log formats, request IDs and the sanitizer, in-process through the configured handlers.

The same paths through a real gunicorn with BANGUI_LOG_FORMAT=json are in
test_logs_gunicorn.py.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import path
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from bangui.logs import JSON_FIELDS, RequestIDFilter
from bangui.logsanitize import REDACTED, SanitizeFilter, redact
from bangui.setup.services import setup_token, setup_token_path
from bangui.tests.logcapture import capture_console
from bangui.tests.test_setup import form_data

ROOT = Path(__file__).resolve().parents[2]
GENERATED = re.compile(r"[0-9a-f]{32}")
BOOM_SECRET = "db-password-Zq81-never-logged"


@login_not_required
def _boom(request: HttpRequest) -> HttpResponse:
    raise ValueError(f"the database said no: password={BOOM_SECRET}")


urlpatterns = [path("boom/", _boom)]


@pytest.fixture(params=["plain", "json"])
def fmt(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _trust_localhost(settings) -> None:  # type: ignore[no-untyped-def]
    settings.BANGUI_TRUSTED_PROXIES = [ipaddress.ip_network("127.0.0.1/32")]


# -- the format -------------------------------------------------------------------------


def test_an_unknown_log_format_stops_bangui_with_a_clear_message(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BANGUI_")}
    env |= {"BANGUI_DATA_DIR": str(tmp_path / "data"), "BANGUI_LOG_FORMAT": "xml"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode != 0
    assert "BANGUI_LOG_FORMAT='xml': use plain (the default) or json." in result.stderr


CRASH = """
import threading
def crash():
    raise RuntimeError("token=Zq81kx0_3vB9-never-logged")
thread = threading.Thread(target=crash, name="crasher")
thread.start()
thread.join()
"""


def test_a_threads_uncaught_exception_is_one_sanitized_json_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BANGUI_")}
    env |= {"BANGUI_DATA_DIR": str(tmp_path / "data"), "BANGUI_LOG_FORMAT": "json"}
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", CRASH],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    (line,) = [json.loads(line) for line in result.stderr.splitlines()]
    assert line["message"] == "Exception in thread crasher"
    assert "RuntimeError: token=[redacted]" in line["exception"]
    assert "Zq81kx0" not in result.stderr


def test_every_handler_has_the_request_id_and_the_sanitizer() -> None:
    loggers = [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]
    handlers = {
        h
        for lg in loggers
        if isinstance(lg, logging.Logger)
        for h in lg.handlers
        # pytest's own capture; a library's NullHandler writes nothing.
        if not type(h).__module__.startswith("_pytest") and not isinstance(h, logging.NullHandler)
    }
    assert handlers
    for handler in handlers:
        kinds = {type(f) for f in handler.filters}
        assert {RequestIDFilter, SanitizeFilter} <= kinds, handler


def test_json_lines_have_exactly_the_documented_fields(client: Client, configured) -> None:  # type: ignore[no-untyped-def]
    with capture_console("json") as log:
        response = client.get("/no-such-page/")
        logging.getLogger("bangui.test").info("careless", extra={"request": "GET ?token=x"})
    rid = response["X-Request-ID"]
    records = log.records()
    assert records and all(set(r) <= set(JSON_FIELDS) for r in records)
    line = next(r for r in records if r["message"] == "Not Found: /no-such-page/")
    assert line["request_id"] == rid
    assert line["level"] == "WARNING" and line["logger"] == "django.request"
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", line["time"])
    assert records[-1]["request_id"] == "-"  # outside a request


# -- the request ID ---------------------------------------------------------------------


URLS = ["/health/live", "/health/ready", "/no-such-page/", "/", "/login/", "/static/css/bangui.css"]


@pytest.mark.parametrize("url", URLS)
def test_every_response_carries_a_request_id(client: Client, configured, url: str) -> None:  # type: ignore[no-untyped-def]
    response = client.get(url)
    assert response.status_code in (200, 302, 404, 503)
    assert GENERATED.fullmatch(response["X-Request-ID"])


def test_two_requests_get_two_ids(client: Client, configured) -> None:  # type: ignore[no-untyped-def]
    first, second = (client.get("/health/live")["X-Request-ID"] for _ in range(2))
    assert first != second


@pytest.mark.urls("bangui.tests.test_logs")
def test_an_error_page_has_the_id_and_its_logged_traceback_no_secret(configured, fmt: str) -> None:  # type: ignore[no-untyped-def]
    client = Client(raise_request_exception=False)
    with capture_console(fmt) as log:
        response = client.get("/boom/")
    assert response.status_code == 500
    rid = response["X-Request-ID"]
    assert GENERATED.fullmatch(rid)
    assert any("Internal Server Error: /boom/" in line for line in log.lines_with(rid))
    assert "ValueError: the database said no: password=" in log.text
    assert BOOM_SECRET not in log.text
    if fmt == "json":
        (error,) = [r for r in log.records() if r["request_id"] == rid and "exception" in r]
        assert "Traceback" in error["exception"] and REDACTED in error["exception"]


def test_a_trusted_proxys_sane_id_is_kept(client: Client, configured, settings) -> None:  # type: ignore[no-untyped-def]
    _trust_localhost(settings)
    sane = "nginx-4f2.a_9"
    response = client.get("/health/live", REMOTE_ADDR="127.0.0.1", HTTP_X_REQUEST_ID=sane)
    assert response["X-Request-ID"] == sane


def test_an_id_from_anyone_else_is_replaced(client: Client, configured, settings) -> None:  # type: ignore[no-untyped-def]
    _trust_localhost(settings)
    response = client.get("/health/live", REMOTE_ADDR="203.0.113.9", HTTP_X_REQUEST_ID="mine-123")
    assert GENERATED.fullmatch(response["X-Request-ID"])


HOSTILE_IDS = [
    "A" * 10_240,
    "abc\ndef",
    "abc\r\nX-Injected: 1",
    'id"with"quotes',
    "id'with'quotes",
    "ünïcödé-ид-🙂",
    '"}{"level":"CRITICAL","message":"forged',
    "a b",
    "",
    "x" * 65,
    "../../etc/passwd",
    "%0aFORGED",
    "\x00nul",
]


@pytest.mark.parametrize("value", HOSTILE_IDS, ids=range(len(HOSTILE_IDS)))
def test_a_hostile_request_id_never_500s_and_never_reaches_a_log_line(
    configured, settings, fmt: str, value: str
) -> None:  # type: ignore[no-untyped-def]
    _trust_localhost(settings)  # even from a trusted proxy
    client = Client(REMOTE_ADDR="127.0.0.1")
    with capture_console(fmt) as log:
        response = client.get("/no-such-page/", HTTP_X_REQUEST_ID=value)
    assert response.status_code == 404
    rid = response["X-Request-ID"]
    assert GENERATED.fullmatch(rid)
    assert log.lines_with(rid) == ["Not Found: /no-such-page/"]
    if len(value) > 3:
        assert value not in log.text
    assert "forged" not in log.text.lower() and "X-Injected" not in log.text
    log.records()  # every line is still one JSON object (json) or one line (plain)


# -- the sanitizer ----------------------------------------------------------------------


def _code(device: TOTPDevice, drift: int = 0) -> str:
    value = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=drift)
    return f"{value:06d}"


FIRST, NEW, WRONG, WRONG_CODE = (
    "Setup-7731-kx-pw",
    "Changed-4410-qz-pw",
    "Wrong-5521-mm-pw",
    "918273",
)


def _session(client: Client) -> str:
    return client.cookies[django_settings.SESSION_COOKIE_NAME].value


def _setup_and_logins(client: Client, f2b, token: str) -> list[str]:  # type: ignore[no-untyped-def]
    """Setup with the token (a wrong one first), a wrong and a right login, a password
    change; the session keys on the way."""
    assert client.get(f"/setup/?token={token}").status_code == 200
    assert client.post("/setup/", {"token": token[:-2] + "xx"}).status_code == 403
    data = form_data(f2b, token=token, password=FIRST, password_confirm=FIRST)
    assert client.post(f"/setup/?token={token}", data)["Location"] == "/login/"
    client.post("/login/", {"username": "admin", "password": WRONG})
    assert client.post("/login/", {"username": "admin", "password": FIRST}).status_code == 302
    sessions = [_session(client)]
    change = {"old_password": FIRST, "password": NEW, "password_confirm": NEW}
    assert client.post("/account/password/", change).status_code == 302
    return [*sessions, _session(client)]


def _totp_with_failures(client: Client) -> list[str]:
    """Turn TOTP on (a wrong code first), log in again with a wrong then a right code."""
    client.get("/account/totp/")
    device = TOTPDevice.objects.get(confirmed=False)
    client.post("/account/totp/", {"code": WRONG_CODE})
    codes = [_code(device), _code(device, 1)]
    assert (
        "Your recovery codes" in client.post("/account/totp/", {"code": codes[0]}).content.decode()
    )
    client.post("/logout/")
    client.post("/login/", {"username": "admin", "password": NEW})
    wrong = client.post("/login/code/", {"code": WRONG_CODE}).content.decode()
    assert "That code is not right" in wrong
    assert client.post("/login/code/", {"code": codes[1]})["Location"] == "/"
    return [*codes, _session(client)]


def _careless_lines(token: str, code: str, session: str) -> None:
    """What a careless log call would write: a form, a body, headers, the secret key."""
    careless = logging.getLogger("bangui.careless")
    careless.warning("form %s", {"password": [NEW], "code": [code], "token": token})
    careless.warning("body: password=%s&code=%s&token=%s", NEW, code, token)
    careless.warning("headers %s", {"Cookie": f"bangui_session={session}; csrftoken=x"})
    careless.warning("Cookie: bangui_session=%s", session)
    careless.warning("settings say %s", django_settings.SECRET_KEY)


@pytest.mark.django_db
def test_no_secret_reaches_a_log_line_through_setup_login_and_totp(f2b, settings, fmt: str) -> None:  # type: ignore[no-untyped-def]
    _trust_localhost(settings)
    client = Client(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.50")
    setup_token_path().unlink(missing_ok=True)  # made anew, and its link logged
    with capture_console(fmt) as log:
        token = setup_token()
        sessions = _setup_and_logins(client, f2b, token)
        codes_and_session = _totp_with_failures(client)
        _careless_lines(token, codes_and_session[1], codes_and_session[2])
    messages = log.messages()
    assert 'login failed from 203.0.113.50 user="admin"' in messages  # the lines are there
    assert "BanGUI is not set up yet" in messages
    assert log.text.count(REDACTED) >= 8
    secrets = [django_settings.SECRET_KEY, token, FIRST, NEW, WRONG, WRONG_CODE]
    for secret in [*secrets, *sessions, *codes_and_session]:
        assert secret not in log.text, f"{secret!r} leaked"
    log.records()


@pytest.mark.parametrize(
    ("line", "kept"),
    [
        ('login failed from 203.0.113.5 user="admin"', True),
        ("login refused (throttled) from 2001:db8::5", True),
        ("status_code=200 session_minutes=60 footprint=3 keyboard=1", True),
        ("the token is in /var/lib/bangui/setup-token", True),
        ("GET /setup/?token=abcdef123456 HTTP/1.1", False),
        ("Authorization: Bearer abcdefghijkl", False),
        ("csrfmiddlewaretoken=abc&new_password1=def", False),
    ],
)
def test_the_sanitizer_redacts_secret_values_and_keeps_the_rest(line: str, kept: bool) -> None:
    assert (redact(line) == line) is kept


@pytest.mark.parametrize(("headers", "expected"), [({"x-request-id": "abc.1"}, "abc.1"), ({}, "-")])
def test_gunicorns_access_line_takes_the_id_from_the_response(headers, expected) -> None:  # type: ignore[no-untyped-def]
    from gunicorn.glogging import SafeAtoms

    atoms = SafeAtoms({"{%s}o" % k: v for k, v in headers.items()})  # noqa: UP031 - gunicorn's keys
    record = logging.LogRecord("gunicorn.access", logging.INFO, __file__, 1, "%(r)s", None, None)
    record.args = atoms  # as gunicorn logs it: a mapping, not a tuple
    RequestIDFilter().filter(record)
    assert record.request_id == expected  # type: ignore[attr-defined]


def test_a_log_call_whose_arguments_do_not_fit_is_logged_not_raised(fmt: str) -> None:
    with capture_console(fmt) as log:
        logging.getLogger("bangui.careless").warning("%s and %s", "password=hunter2-secret")
    assert "hunter2" not in log.text
    assert "%s and %s" in log.messages() and "password=[redacted]" in log.messages()
