"""``manage.py import_blocklist``: import one source, all enabled sources, or a URL, now."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from blocklists.fetch import FetchError, clean_url
from blocklists.models import BlocklistSource, ImportRun
from blocklists.services import import_runs, runs_queue
from jails.audit.services import Actor

BAR = 30


class Command(BaseCommand):
    help = (
        "Import blocklists into fail2ban now: every enabled source, one (--source NAME), "
        "or a URL that is not saved as a source (--url URL). --dry-run bans nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        which = parser.add_mutually_exclusive_group()
        which.add_argument("--source", help="the name of a saved source")
        which.add_argument("--url", help="a list URL to import once, without saving it")
        parser.add_argument("--dry-run", action="store_true", help="download and count only")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = Actor.system("manage.py import_blocklist")
        dry = bool(options["dry_run"])
        if options["url"]:
            try:
                url = clean_url(options["url"])
            except FetchError as exc:
                raise CommandError(str(exc)) from None
            runs = [
                ImportRun.objects.create(
                    url=url, trigger=ImportRun.Trigger.COMMAND, username=actor.username,
                    dry_run=dry,
                )
            ]  # fmt: skip
        else:
            sources = BlocklistSource.objects.order_by("name")
            if options["source"]:
                sources = sources.filter(name=options["source"])
                if not sources:
                    names = ", ".join(BlocklistSource.objects.values_list("name", flat=True))
                    raise CommandError(
                        f"No source named “{options['source']}”. Sources: {names or 'none'}."
                    )
            else:
                sources = sources.filter(enabled=True)
                if not sources:
                    raise CommandError("No enabled source. Add one on the Blocklists page.")
            runs = runs_queue(list(sources), actor=actor, trigger="command", dry_run=dry)
        done = import_runs([r.pk for r in runs], progress=self._bar)
        failed = False
        for run in done:
            sys.stderr.write("\n")
            self.stdout.write(self._summary(run))
            failed |= run.status in (ImportRun.Status.FAILED, ImportRun.Status.PARTIAL)
        if failed:
            raise CommandError("at least one import did not finish; see the messages above")

    def _bar(self, run: ImportRun) -> None:
        """A progress bar on stderr (stdout keeps the summary for scripts)."""
        if not sys.stderr.isatty() and run.phase not in ("ban", "done"):
            return
        name = (run.source_name or run.url)[:30]
        if run.total:
            filled = BAR * min(run.done, run.total) // run.total
            bar = "#" * filled + "-" * (BAR - filled)
            text = f"\r{name:30} {run.phase:8} [{bar}] {run.done:,}/{run.total:,}"
        else:
            text = f"\r{name:30} {run.phase:8} {run.done:,}"
        sys.stderr.write(text.ljust(100))
        sys.stderr.flush()

    @staticmethod
    def _summary(run: ImportRun) -> str:
        name = run.source_name or run.url
        head = f"{name}: {run.get_status_display().lower()}"
        if run.dry_run:
            head += " (dry run)"
        counts = (
            f"{run.lines:,} lines, {run.newly_banned:,} newly banned, {run.already_banned:,} "
            f"already banned, {run.invalid:,} invalid, {run.duplicates:,} duplicates, "
            f"{run.skipped_total:,} skipped, {run.failed:,} failed"
        )
        return f"{head}: {counts}" + (f"\n  {run.error}" if run.error else "")
