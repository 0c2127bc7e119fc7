"""Shared fixtures: a real fail2ban-server, a configured BanGUI, logged-in clients."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator

# Before Django reads its settings: a private data dir for the whole run.
os.environ.setdefault("BANGUI_DATA_DIR", tempfile.mkdtemp(prefix="bangui-test-"))

import pytest  # noqa: E402

from bangui.demo.lab import Fail2banLab  # noqa: E402


def _require_fail2ban() -> None:
    if shutil.which("fail2ban-server") is None and not os.path.exists("/usr/bin/fail2ban-server"):
        message = (
            "fail2ban-server is not installed (apt-get install fail2ban); scripts/test does it"
        )
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


@pytest.fixture(scope="session")
def f2b_lab() -> Iterator[Fail2banLab]:
    """One real fail2ban-server for the whole run (jails alpha, beta, sshd)."""
    _require_fail2ban()
    lab = Fail2banLab()
    lab.start()
    yield lab
    lab.cleanup()


@pytest.fixture
def f2b(f2b_lab: Fail2banLab) -> Fail2banLab:
    """The shared server, reset to its configured jails with no bans."""
    f2b_lab.reset()
    return f2b_lab


@pytest.fixture(autouse=True)
def _isolated_state(settings):  # type: ignore[no-untyped-def]
    from django.core.cache import cache

    from bangui.setup.services import setup_cache_reset

    # Tests do not run collectstatic; serve static files unhashed.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    # Password hashing dominates login tests otherwise.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.BANGUI_BLOCKLIST_ALLOW_HOSTS = ["127.0.0.1"]  # the tests' list servers
    from bangui.fail2ban.configreader import configured_jails_forget
    from geo.lookup.pipeline import reset_state as reset_geo

    cache.clear()
    setup_cache_reset()
    reset_geo()
    configured_jails_forget()
    yield
    cache.clear()
    setup_cache_reset()
    reset_geo()
    configured_jails_forget()


ADMIN_PASSWORD = "correct-horse-battery-9"


@pytest.fixture
def configured(db, f2b: Fail2banLab):  # type: ignore[no-untyped-def]
    """BanGUI after setup, pointing at the real test fail2ban."""
    from bangui.setup.services import setup_complete

    return setup_complete(
        password=ADMIN_PASSWORD,
        fail2ban_socket=f2b.socket_path,
        fail2ban_config_dir=str(f2b.conf_dir),
        timezone_name="UTC",
        session_minutes=480,
    )


@pytest.fixture
def admin_client(client, configured):  # type: ignore[no-untyped-def]
    client.force_login(configured)
    return client


@pytest.fixture(scope="module")
def f2b_private_lab() -> Iterator[Fail2banLab]:
    """A fail2ban-server of the test module's own, for tests that change config files."""
    _require_fail2ban()
    lab = Fail2banLab()
    lab.start()
    yield lab
    lab.cleanup()


def _conf_files(lab: Fail2banLab) -> dict[str, bytes]:
    return {
        str(p.relative_to(lab.conf_dir)): p.read_bytes()
        for p in lab.conf_dir.rglob("*")
        if p.is_file() and not p.is_symlink()
    }


@pytest.fixture
def f2b_private(f2b_private_lab: Fail2banLab) -> Iterator[Fail2banLab]:
    """The module's own fail2ban, its config files put back (and reloaded) after each test."""
    lab = f2b_private_lab
    if not lab.running:
        lab.start()
    lab.reset()
    before = _conf_files(lab)
    yield lab
    after = _conf_files(lab)
    if after == before:
        return
    for rel in after.keys() - before.keys():
        (lab.conf_dir / rel).unlink()
    for rel, data in before.items():
        if after.get(rel) != data:
            (lab.conf_dir / rel).write_bytes(data)
    # A restart with an empty database: a jail created by the test would
    # otherwise get its bans back from fail2ban's DB when created again.
    lab.stop()
    lab.start()


@pytest.fixture
def config_admin_client(client, db, f2b_private: Fail2banLab):  # type: ignore[no-untyped-def]
    """A logged-in client of a BanGUI whose fail2ban is the module's own (config may change)."""
    from bangui.setup.services import setup_complete

    user = setup_complete(
        password=ADMIN_PASSWORD,
        fail2ban_socket=f2b_private.socket_path,
        fail2ban_config_dir=str(f2b_private.conf_dir),
        timezone_name="UTC",
        session_minutes=480,
    )
    client.force_login(user)
    return client
