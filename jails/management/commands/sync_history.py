"""``manage.py sync_history``: copy fail2ban's bans into the history archive now."""

from __future__ import annotations

import argparse
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from bangui.fail2ban.configured import get_client
from jails.history.services import history_sync


def _days(value: str) -> int:
    try:
        days = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"“{value}” is not a whole number of days.") from None
    if days < 0:
        raise argparse.ArgumentTypeError("The number of days cannot be negative.")
    return days


class Command(BaseCommand):
    help = "Copy new bans from fail2ban's database into BanGUI's history archive."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--backfill-days",
            type=_days,
            default=None,
            metavar="N",
            help="On the first sync, copy bans of the last N days "
            "(default: BANGUI_HISTORY_BACKFILL_DAYS).",
        )
        parser.add_argument(
            "--db",
            default=None,
            metavar="PATH",
            help="Read this fail2ban database file instead of asking fail2ban for it.",
        )

    def handle(
        self, *args: Any, backfill_days: int | None = None, db: str | None = None, **options: Any
    ) -> str:
        where = db or "the database fail2ban names (dbfile)"
        self.stdout.write(f"Syncing the ban history from {where}…")
        result = history_sync(client=get_client(), db_path=db, backfill_days=backfill_days)
        if not result.ok:
            raise CommandError(
                f"History sync failed after adding {result.added} bans: {result.error}"
            )
        return (
            f"Added {result.added} of {result.read} bans read; "
            f"longest read of fail2ban's database {result.longest_read_ms:.0f} ms."
        )
