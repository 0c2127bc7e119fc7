"""``manage.py geo_resolve [IP…]``: resolve and store geo data now.

Without arguments: every IP BanGUI knows that lacks geo data, i.e. the IPs
fail2ban bans now without a stored country, and the cached failures.
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from bangui.fail2ban import Fail2banError
from bangui.fail2ban.configured import get_client
from geo.addresses import parse_ip
from geo.selectors import geo_ips_lacking, geo_unresolved_ips
from geo.services import geo_resolve_many

CHUNK = 500
REPORT_EVERY_PERCENT = 10  # when stdout is not a terminal


class Command(BaseCommand):
    help = "Resolve the country of IPs now (default: every known IP without one) and store it."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("ips", nargs="*", metavar="IP")

    def handle(self, *args: Any, ips: list[str], **options: Any) -> None:
        invalid = [ip for ip in ips if parse_ip(ip) is None]
        for ip in invalid:
            self.stderr.write(f"{ip}: not a valid IP address")
        targets = [ip for ip in ips if ip not in invalid] if ips else self._known_lacking()
        targets = list(dict.fromkeys(targets))
        if targets:
            resolved, special = self._resolve(targets)
            missing = len(targets) - resolved - special
            summary = f"Resolved {resolved} of {len(targets)} IPs"
            if special:
                summary += f" ({special} in private or special ranges)"
            if missing:
                summary += f"; {missing} without a country (the geo_re_resolve job retries them)"
            self.stdout.write(summary + ".")
        else:
            self.stdout.write("Nothing to resolve: every known IP has geo data.")
        if invalid:
            raise CommandError(f"{len(invalid)} of {len(ips)} arguments are not IP addresses.")

    def _known_lacking(self) -> list[str]:
        banned: list[str] = []
        try:
            for jail_ips in get_client().banned().values():
                banned.extend(jail_ips)
        except Fail2banError as exc:
            self.stderr.write(
                f"fail2ban is not reachable ({exc}); resolving only cached IPs without a country."
            )
        # fail2ban may ban whole networks ("203.0.113.0/24"): those have no single location.
        return geo_ips_lacking(ip for ip in banned if "/" not in ip) + geo_unresolved_ips()

    def _resolve(self, targets: list[str]) -> tuple[int, int]:
        """Resolve and store in chunks, with a progress line; (resolved, special ranges)."""
        tty = self.stdout.isatty()
        total, done, resolved, special, reported = len(targets), 0, 0, 0, 0
        for start in range(0, total, CHUNK):
            chunk = targets[start : start + CHUNK]
            found = geo_resolve_many(chunk, fresh=True)
            done += len(chunk)
            resolved += sum(1 for ip in chunk if found[ip].resolved)
            special += sum(1 for ip in chunk if found[ip].special)
            percent = done * 100 // total
            line = f"{done}/{total} ({percent}%), {resolved} resolved"
            if tty:
                self.stdout.write(f"\r{line}", ending="")
                self.stdout.flush()
            elif percent >= reported + REPORT_EVERY_PERCENT or done == total:
                reported = percent - percent % REPORT_EVERY_PERCENT
                self.stdout.write(line)
        if tty:
            self.stdout.write("")
        return resolved, special
