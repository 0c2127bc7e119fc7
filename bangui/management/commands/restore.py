"""``manage.py restore PATH``: a backup into a fresh data dir (docs/backups.md)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from bangui.backup.common import BackupError, shown
from bangui.backup.restore import restore_backup

KEY_NOTES = {
    "restored": "The secret key was restored: logins made before the backup stay valid.",
    "env": "The backup's secret key is not used, since BANGUI_SECRET_KEY is set: "
    "everyone logs in again (unless it is the same key).",
    "": "The backup holds no secret key (BANGUI_SECRET_KEY was set when it was made): "
    "set the same BANGUI_SECRET_KEY here, or everyone logs in again.",
}


class Command(BaseCommand):
    help = (
        "Restore a backup made by manage.py backup into BanGUI's SQLite database (a fresh "
        "data dir; --force replaces data, keeping a copy), then migrate it forward."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", metavar="PATH", help="the backup file")
        parser.add_argument(
            "--force", action="store_true", help="replace a database that holds data"
        )

    def handle(self, *args: Any, path: str, force: bool = False, **options: Any) -> str:
        try:
            result = restore_backup(path, force=force)
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        made = f" (made {result.made_at})" if result.made_at else ""
        self.stdout.write(f"Checked {shown(path)}{made}: integrity ok, a BanGUI database.")
        if result.set_aside:
            self.stdout.write(f"The database it replaces was kept as {shown(result.set_aside)}.")
        self.stdout.write(f"Restored into {shown(result.target)}:")
        for label, count in result.counts.items():
            self.stdout.write(f"  {label:18} {count:>12,}")
        if result.migrations_applied:
            applied = ", ".join(result.migrations_applied)
            self.stdout.write(
                f"Migrated forward: {len(result.migrations_applied)} migrations ({applied})."
            )
        else:
            self.stdout.write("The schema was up to date: no migration to apply.")
        self.stdout.write(KEY_NOTES[result.secret_key])
        self.stdout.write(
            "fail2ban's own configuration is not part of the backup. Start BanGUI "
            "(the web service and manage.py qcluster) when ready."
        )
        return ""
