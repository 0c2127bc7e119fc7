from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from bangui.dbcopy import CopyError, copy_from_sqlite


class Command(BaseCommand):
    help = (
        "Copy an SQLite install's data (users, settings, the ban archive, blocklists, "
        "the geo cache) into the configured PostgreSQL database, which must be migrated "
        "and empty. Stop BanGUI first. See docs/postgresql.md."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("sqlite_file", type=Path, help="The old bangui.sqlite3.")

    def handle(self, *args: Any, sqlite_file: Path, **options: Any) -> str:
        def progress(label: str, rows: int) -> None:
            self.stdout.write(f"{label}: {rows:,} rows")

        try:
            result = copy_from_sqlite(sqlite_file, progress=progress)
        except CopyError as exc:
            raise CommandError(str(exc)) from exc
        for label, n in result.dropped.items():
            self.stderr.write(
                f"{label}: left out {n:,} rows that point at a model or permission "
                "the new database does not have"
            )
        return f"Done: {sum(result.rows.values()):,} rows copied."
