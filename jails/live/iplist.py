"""Reading a pasted list of addresses for bulk bans."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError

from bangui.fail2ban.validation import clean_network

MAX_ENTRIES = 10_000
_SPLIT = re.compile(r"[\s,;]+")


@dataclass
class ParsedList:
    valid: list[str] = field(default_factory=list)
    invalid: list[tuple[str, str]] = field(default_factory=list)
    duplicates: int = 0

    @property
    def networks(self) -> list[str]:
        return [v for v in self.valid if "/" in v]


def parse_ip_list(text: str) -> ParsedList:
    """Split on blanks, commas and semicolons; ``#`` starts a comment.

    Every entry is validated (``clean_network``); duplicates are dropped and
    counted. Raises ValidationError for an empty list or more than MAX_ENTRIES.
    """
    parsed = ParsedList()
    seen: set[str] = set()
    entries: list[str] = []
    for line in text.splitlines():
        entries.extend(e for e in _SPLIT.split(line.split("#", 1)[0]) if e)
        if len(entries) > MAX_ENTRIES:
            raise ValidationError(
                f"At most {MAX_ENTRIES:,} addresses at a time; split the list.", code="too_many"
            )
    if not entries:
        raise ValidationError("Enter at least one IP address.", code="empty")
    for entry in entries:
        try:
            value = clean_network(entry)
        except ValidationError as exc:
            parsed.invalid.append((entry[:64], exc.messages[0]))
            continue
        if value in seen:
            parsed.duplicates += 1
            continue
        seen.add(value)
        parsed.valid.append(value)
    return parsed


def overlaps(entry: str, others: list[str]) -> list[str]:
    """The entries of ``others`` (IPs or networks) that overlap ``entry``."""
    net = ipaddress.ip_network(entry, strict=False)
    hits = []
    for other in others:
        try:
            o = ipaddress.ip_network(other, strict=False)
        except ValueError:
            continue  # fail2ban also allows host names in ignoreip; they cannot overlap here
        if o.version == net.version and net.overlaps(o):
            hits.append(other)
    return hits
