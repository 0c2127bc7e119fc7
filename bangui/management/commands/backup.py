"""``manage.py backup PATH``: an online copy of BanGUI's database (docs/backups.md)."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from bangui.backup.common import BackupError, format_size, secret_key_file, shown
from bangui.backup.services import backup_create


class Command(BaseCommand):
    help = (
        "Copy BanGUI's SQLite database to PATH while BanGUI keeps running (a directory "
        "gets a dated file name). On PostgreSQL it prints the pg_dump command to use."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", metavar="PATH", help="the backup file, or a directory")
        parser.add_argument("--force", action="store_true", help="replace an earlier backup")

    def handle(self, *args: Any, path: str, force: bool = False, **options: Any) -> str:
        try:
            result = backup_create(path, force=force, progress=self._progress)
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        if sys.stderr.isatty():
            sys.stderr.write("\n")
        self.stdout.write(
            f"Backup written to {shown(result.path)}: {format_size(result.size)} "
            f"in {result.seconds:.1f} s (the copy {result.copy_seconds:.1f} s, then SQLite's "
            "integrity_check of it)."
        )
        for label, count in result.counts.items():
            self.stdout.write(f"  {label:18} {count:>12,}")
        if result.secret_key_included:
            self.stdout.write(
                f"The secret key ({shown(secret_key_file())}) is inside the backup; "
                "manage.py restore puts it back, so logins survive a restore."
            )
        else:
            self.stdout.write(
                "The secret key is set by BANGUI_SECRET_KEY and is not in the backup: "
                "keep it with your configuration."
            )
        self.stdout.write(
            "The backup holds password hashes, TOTP keys and login sessions: "
            "keep it where only you can read it."
        )
        return ""

    def _progress(self, done: int, total: int) -> None:
        if sys.stderr.isatty() and total:
            sys.stderr.write(f"\rcopying: {100 * done // total:3d}% of {total:,} pages")
            sys.stderr.flush()
