"""Settings from the environment: typed, strict, and deployable."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from bangui.env import env_bool, env_int, env_networks, env_secret, env_str

ROOT = Path(__file__).resolve().parents[2]


def test_a_bool_that_is_not_a_bool_is_an_error(monkeypatch):
    monkeypatch.setenv("BANGUI_X", "maybe")
    with pytest.raises(ImproperlyConfigured, match="BANGUI_X='maybe' is not a boolean"):
        env_bool("BANGUI_X", False)


@pytest.mark.parametrize(("raw", "value"), [("true", True), ("0", False), ("", True), ("ON", True)])
def test_it_reads_booleans(monkeypatch, raw, value):
    monkeypatch.setenv("BANGUI_X", raw)
    assert env_bool("BANGUI_X", True) is value


def test_it_rejects_bad_numbers_and_networks(monkeypatch):
    monkeypatch.setenv("BANGUI_N", "ten")
    with pytest.raises(ImproperlyConfigured, match="not a whole number"):
        env_int("BANGUI_N", 1)
    monkeypatch.setenv("BANGUI_P", "10.0.0.0/8, nonsense")
    with pytest.raises(ImproperlyConfigured, match="'nonsense' is not an IP"):
        env_networks("BANGUI_P")


def test_empty_values_mean_the_default(monkeypatch):
    monkeypatch.setenv("BANGUI_S", "")
    assert env_str("BANGUI_S", "fallback") == "fallback"


def test_secrets_come_from_a_file_too(monkeypatch, tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("s3cret-from-file\n")
    monkeypatch.setenv("BANGUI_K_FILE", str(secret))
    assert env_secret("BANGUI_K") == "s3cret-from-file"
    monkeypatch.setenv("BANGUI_K_FILE", str(tmp_path / "missing"))
    with pytest.raises(ImproperlyConfigured, match="cannot be read"):
        env_secret("BANGUI_K")


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("BANGUI_", "DJANGO_"))}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_passes_with_production_settings(tmp_path):
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        BANGUI_DATA_DIR=str(tmp_path),
        BANGUI_SECRET_KEY=secrets.token_urlsafe(50),
        BANGUI_ALLOWED_HOSTS="bangui.example.com",
        BANGUI_SSL_REDIRECT="true",
        BANGUI_HSTS_SECONDS="31536000",
        BANGUI_HSTS_INCLUDE_SUBDOMAINS="true",
        BANGUI_HSTS_PRELOAD="true",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_it_generates_and_keeps_a_secret_key_in_the_data_dir(tmp_path):
    assert _manage("check", BANGUI_DATA_DIR=str(tmp_path)).returncode == 0
    key_file = tmp_path / "secret_key"
    first = key_file.read_text()
    assert len(first) >= 50 and oct(key_file.stat().st_mode & 0o777) == "0o600"
    assert _manage("check", BANGUI_DATA_DIR=str(tmp_path)).returncode == 0
    assert key_file.read_text() == first


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"BANGUI_DEBUG": "perhaps"}, "BANGUI_DEBUG='perhaps' is not a boolean"),
        ({"BANGUI_SECRET_KEY": "short"}, "BANGUI_SECRET_KEY is too weak"),
        ({"BANGUI_DB_ENGINE": "oracle"}, "use sqlite or postgres"),
        ({"BANGUI_DATA_DIR": "/proc/nope"}, "cannot be created"),
    ],
)
def test_it_refuses_to_start_with_bad_configuration(tmp_path, env, message):
    result = _manage("check", **{"BANGUI_DATA_DIR": str(tmp_path), **env})
    assert result.returncode != 0
    assert message in result.stderr
