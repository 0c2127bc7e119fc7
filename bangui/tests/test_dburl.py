"""BANGUI_DATABASE_URL: one variable for PostgreSQL, strict about what it accepts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from bangui.dburl import database_from_url

ROOT = Path(__file__).resolve().parents[2]


def test_it_reads_every_part_of_a_url_and_decodes_the_password():
    db = database_from_url(
        "postgres://bangui:p%40ss%2Fw0rd@db.example:6543/ban_gui?sslmode=require"
    )
    assert db["ENGINE"] == "django.db.backends.postgresql"
    assert (db["USER"], db["PASSWORD"], db["HOST"], db["PORT"], db["NAME"]) == (
        "bangui", "p@ss/w0rd", "db.example", "6543", "ban_gui",
    )  # fmt: skip
    assert db["OPTIONS"] == {"sslmode": "require"}


@pytest.mark.parametrize(
    "url", ["postgresql:///bangui?host=/run/postgresql", "postgres://%2Frun%2Fpostgresql/bangui"]
)
def test_a_unix_socket_directory_is_the_host(url):
    db = database_from_url(url)
    assert (db["HOST"], db["PORT"], db["NAME"], db["USER"]) == ("/run/postgresql", "", "bangui", "")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://u:p@h/db", "use postgres://"),
        ("postgres://u:secret-pw@h", "name the database"),
        ("postgres://u:secret-pw@h:99999/db", "not a valid URL"),
        ("postgres://u:secret-pw@h/db?sslmod=require", "unknown parameter 'sslmod'"),
    ],
)
def test_a_bad_url_is_refused_without_showing_the_password(url, message):
    with pytest.raises(ImproperlyConfigured, match=message) as caught:
        database_from_url(url)
    assert "secret-pw" not in str(caught.value)


def test_the_url_wins_over_the_separate_variables(tmp_path):
    code = "from django.conf import settings; d = settings.DATABASES['default']; print(d['ENGINE'], d['HOST'], d['NAME'])"  # noqa: E501
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "bangui.settings",
        "BANGUI_DATA_DIR": str(tmp_path),
        "BANGUI_DB_ENGINE": "sqlite",
        "BANGUI_DATABASE_URL_FILE": str(tmp_path / "url"),
    }
    (tmp_path / "url").write_text("postgres://bangui:pw@10.0.0.5/bangui\n")
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    ).stdout
    assert out.split() == ["django.db.backends.postgresql", "10.0.0.5", "bangui"]
