"""BANGUI_URL_PREFIX: what is accepted, and the WSGI wrapper for proxies that pass it on."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from bangui.env import env_url_prefix
from bangui.subpath import strip_prefix

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("raw", "prefix"),
    [
        ("", ""),
        ("/", ""),
        ("/bangui", "/bangui"),
        ("/bangui/", "/bangui"),
        ("/ops/ban-gui_2", "/ops/ban-gui_2"),
    ],
)
def test_it_takes_a_path_prefix_without_its_trailing_slash(
    monkeypatch, raw: str, prefix: str
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("BANGUI_URL_PREFIX", raw)
    assert env_url_prefix("BANGUI_URL_PREFIX") == prefix


@pytest.mark.parametrize(
    "raw",
    [
        "bangui",
        "//bangui",
        "/a//b",
        "/..",
        "/a/../b",
        "/ban gui",
        "/ban%2Fgui",
        '/"x',
        "/<x>",
        "/x?y",
        "/x#y",
        "https://host/bangui",
    ],
)
def test_it_refuses_a_prefix_that_is_no_plain_path(monkeypatch, raw: str) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("BANGUI_URL_PREFIX", raw)
    with pytest.raises(ImproperlyConfigured, match="BANGUI_URL_PREFIX"):
        env_url_prefix("BANGUI_URL_PREFIX")


def _seen_path(prefix: str, path: str) -> str:
    seen: dict[str, Any] = {}

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.update(environ)
        return [b""]

    strip_prefix(app, prefix)({"PATH_INFO": path}, lambda *a: None)
    return str(seen["PATH_INFO"])


@pytest.mark.parametrize(
    ("path", "seen"),
    [
        ("/bangui/jails/", "/jails/"),  # the proxy passed the prefix on
        ("/bangui", "/"),
        ("/jails/", "/jails/"),  # the proxy stripped it already
        ("/bangui-other/", "/bangui-other/"),  # not the prefix: a path of its own
    ],
)
def test_it_takes_the_prefix_off_the_path_only_at_a_segment_boundary(path: str, seen: str) -> None:
    assert _seen_path("/bangui", path) == seen


def test_without_a_prefix_the_application_is_not_wrapped() -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        return []

    assert strip_prefix(app, "") is app


def _settings_with(tmp_path, prefix: str) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BANGUI_", "DJANGO_"))}
    env.update(BANGUI_DATA_DIR=str(tmp_path), BANGUI_URL_PREFIX=prefix)
    code = (
        "from bangui import settings as s; "
        "print(s.FORCE_SCRIPT_NAME, s.STATIC_URL, s.SESSION_COOKIE_PATH, s.CSRF_COOKIE_PATH)"
    )
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def test_the_prefix_sets_script_name_static_url_and_cookie_paths(tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = _settings_with(tmp_path, "/bangui/")
    assert out.stdout.split() == ["/bangui", "/bangui/static/", "/bangui/", "/bangui/"], out.stderr
    out = _settings_with(tmp_path, "")
    assert out.stdout.split() == ["None", "static/", "/", "/"], out.stderr


def test_a_bad_prefix_stops_bangui_with_a_message_naming_it(tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = _settings_with(tmp_path, "/ban gui")
    assert out.returncode != 0
    assert "BANGUI_URL_PREFIX='/ban gui' is not a URL path prefix" in out.stderr
