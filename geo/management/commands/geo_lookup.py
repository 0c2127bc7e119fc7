"""``manage.py geo_lookup IP…``: where these IPs are, one line each."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from geo.selectors import geo_lookup_many


class Command(BaseCommand):
    help = "Print country, ASN and organisation of IP addresses (tab-separated)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("ips", nargs="+", metavar="IP")

    def handle(self, *args: Any, ips: list[str], **options: Any) -> None:
        found = geo_lookup_many(ips)
        invalid = 0
        for raw in ips:
            info = found[raw]
            if info.special == "invalid":
                invalid += 1
                self.stderr.write(f"{raw}: not a valid IP address")
                continue
            cells = (
                info.ip,
                info.country_code,
                info.label,
                f"AS{info.asn}" if info.asn is not None else "",
                info.org,
                info.source,
            )
            self.stdout.write("\t".join(cell or "-" for cell in cells))
        if invalid:
            raise CommandError(f"{invalid} of {len(ips)} arguments are not IP addresses.")
