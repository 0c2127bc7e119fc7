"""What backup and restore share: the error, path display, the live DB, the tables."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import connections

# The table the backup adds to its copy: when and where it was made, and the data
# dir's secret key when BanGUI uses that one. Restore reads it and drops it.
META_TABLE = "bangui_backup_meta"
LOCK_TABLE = "bangui_instancelock"

# The tables whose rows backup and restore report, by what an operator calls them.
MAIN_MODELS = {
    "users": "auth.User",
    "sessions": "sessions.Session",
    "archived bans": "jails.BanRecord",
    "audit events": "jails.AuditEvent",
    "config changes": "jails.ConfigChange",
    "blocklist sources": "blocklists.BlocklistSource",
    "blocklist runs": "blocklists.ImportRun",
    "geo cache": "geo.GeoCache",
}


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why and what to do."""


def shown(path: Path | str) -> str:
    """A path fit for a message: control characters and undecodable bytes escaped."""
    text = os.fspath(path)
    return "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text)


def main_tables() -> dict[str, str]:
    """Label → table name of the main tables (apps not installed are left out)."""
    found = {}
    for label, model in MAIN_MODELS.items():
        try:
            found[label] = apps.get_model(model)._meta.db_table
        except LookupError:
            continue
    return found


def db_settings() -> dict[str, Any]:
    return connections["default"].settings_dict


def live_db_path() -> Path:
    """The SQLite file BanGUI uses, resolved (symlinks followed)."""
    return Path(db_settings()["NAME"]).resolve()


def is_sqlite() -> bool:
    return connections["default"].vendor == "sqlite"


def secret_key_file() -> Path:
    return Path(settings.DATA_DIR) / "secret_key"


def same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or os.path.samefile(a, b)
    except OSError:
        return False


def live_db_files() -> list[Path]:
    live = live_db_path()
    return [live] + [live.with_name(live.name + s) for s in ("-wal", "-shm", "-journal")]


def is_live_db(path: Path) -> bool:
    """``path`` is the live database or one of its companion files (any name for it)."""
    return any(same_file(path, f) for f in live_db_files())


def format_size(size: int) -> str:
    if size < 1024:
        return f"{size:,} bytes"
    value = float(size)
    unit = "bytes"
    for unit in ("KiB", "MiB", "GiB"):  # noqa: B007 (the unit the loop stops at is the one)
        value /= 1024
        if value < 1024:
            break
    return f"{value:.1f} {unit}"
