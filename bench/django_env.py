"""BanGUI's Django app, set up once per benchmark run, for the page benchmarks.

Only imported by benchmarks that need it, so ``client-vs-cli`` runs without
Django. ``django_env(ctx)`` sets everything up on first use:

- a temporary data dir (SQLite DB, secret key, collected static files), removed
  at exit; ``BANGUI_*`` variables that would point elsewhere (another DB, DEBUG)
  are overridden in this process only;
- ``migrate`` and ``collectstatic`` (the production static storage, manifest and
  all), then the admin user and settings through ``bangui.setup.services.setup_complete``;
- a logged-in ``django.test.Client``.

``point_at(lab)`` makes BanGUI talk to a benchmark's own fail2ban-server and
refreshes the status-bar snapshot, as the job scheduler does every 30 s in
production (the bench runs no scheduler; without this, pages would probe
fail2ban live every 3 s).
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bangui.demo.lab import Fail2banLab

from .core import BenchContext

if TYPE_CHECKING:
    from django.test import Client

PASSWORD = "bench-only-password-1234"  # noqa: S105 - a throwaway user in a temp DB
# Long enough that the status snapshot taken by point_at() stays "fresh" for a
# whole benchmark, as it does with the scheduler running.
HEALTH_INTERVAL_SECONDS = 24 * 3600


@dataclass
class DjangoEnv:
    data_dir: Path
    user: Any
    client: Client
    lab: Fail2banLab | None = None

    def point_at(self, lab: Fail2banLab) -> None:
        """BanGUI's settings now name this lab's socket and config dir."""
        from django.core.cache import cache

        from bangui.models import AppSettings

        AppSettings.objects.filter(pk=1).update(
            fail2ban_socket=lab.socket_path, fail2ban_config_dir=str(lab.conf_dir)
        )
        cache.clear()  # the cached AppSettings row, ban lists, dbfile, status
        self.lab = lab
        self.refresh_status()

    def refresh_status(self) -> None:
        """What the health_check job does: store a fresh status-bar snapshot."""
        from bangui.status import status_refresh

        snap = status_refresh()
        if not snap.online:
            raise RuntimeError(f"BanGUI cannot reach the lab's fail2ban: {snap.last_error}")

    def get(self, path: str, *, expect: int = 200) -> bytes:
        """GET through the whole stack (middleware, session, view, template)."""
        response = self.client.get(path)
        if response.status_code != expect:
            raise RuntimeError(f"GET {path}: HTTP {response.status_code}, expected {expect}")
        return bytes(response.content)


def _setup(ctx: BenchContext) -> DjangoEnv:
    import django
    from django.conf import settings

    if settings.configured:
        raise RuntimeError("Django is already configured in this process; run python -m bench")
    data_dir = Path(tempfile.mkdtemp(prefix="bangui-bench-"))
    ctx.add_cleanup(lambda: shutil.rmtree(data_dir, ignore_errors=True))
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "bangui.settings",
            "BANGUI_DATA_DIR": str(data_dir),
            "BANGUI_DB_ENGINE": "sqlite",
            "BANGUI_DB_NAME": str(data_dir / "bangui.sqlite3"),
            "BANGUI_STATIC_ROOT": str(data_dir / "static"),
            "BANGUI_DEBUG": "false",
            "BANGUI_ALLOWED_HOSTS": "testserver,localhost",
            "BANGUI_AUTH_LOG_FILE": "",
            # The blocklist benchmarks serve their lists on 127.0.0.1.
            "BANGUI_BLOCKLIST_ALLOW_HOSTS": "127.0.0.1",
        }
    )
    django.setup()
    settings.BANGUI_HEALTH_INTERVAL_SECONDS = HEALTH_INTERVAL_SECONDS
    # "fail2ban is online" on every point_at() is noise on the bench's stderr.
    logging.getLogger("bangui.health").setLevel(logging.WARNING)

    from django.core.management import call_command
    from django.test import Client

    from bangui.setup.services import setup_complete

    call_command("migrate", verbosity=0, interactive=False)
    call_command("collectstatic", verbosity=0, interactive=False)
    lab = ctx.lab
    user = setup_complete(
        password=PASSWORD,
        fail2ban_socket=lab.socket_path,
        fail2ban_config_dir=str(lab.conf_dir),
        timezone_name="UTC",
        session_minutes=480,
    )
    client = Client()
    client.force_login(user)  # type: ignore[arg-type] # the AUTH_USER_MODEL
    return DjangoEnv(data_dir=data_dir, user=user, client=client)


def django_env(ctx: BenchContext) -> DjangoEnv:
    """The run's Django set-up, made on the first call."""
    return ctx.shared("django", lambda: _setup(ctx))
