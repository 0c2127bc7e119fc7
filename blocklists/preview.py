"""A look at a list before it is saved: what would be banned, what left out, and why."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings

from bangui.fail2ban import Fail2banError
from bangui.fail2ban.configured import get_client
from blocklists.jail import BASE_JAIL, networks_supported
from blocklists.listurl import FetchError
from blocklists.parse import filter_entries, parse_list
from blocklists.services import own_addresses

# A preview must answer while the operator waits.
PREVIEW_DEADLINE = 30.0
SAMPLE = 20


@dataclass
class Preview:
    url: str
    error: str = ""
    size: int = 0
    sha256: str = ""
    lines: int = 0
    valid: int = 0
    invalid: int = 0
    duplicates: int = 0
    to_ban: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    first: list[str] = field(default_factory=list)
    invalid_samples: list[tuple[int, str]] = field(default_factory=list)
    networks_allowed: bool = True

    @property
    def ok(self) -> bool:
        return not self.error


def preview(url: str, *, client_ip: str | None = None) -> Preview:
    """Download and parse ``url`` with the import's own rules; bans nothing."""
    # requests is loaded on the first preview, not with the web app (~5 MiB).
    from blocklists.fetch import fetch_list

    result = Preview(url=url)
    try:
        fetched = fetch_list(
            url,
            max_bytes=settings.BANGUI_BLOCKLIST_MAX_MB * 1024 * 1024,
            deadline=PREVIEW_DEADLINE,
            retries=1,
        )
    except FetchError as exc:
        result.error = str(exc)
        return result
    client = get_client(timeout=5)
    result.networks_allowed = networks_supported(client, BASE_JAIL)
    try:
        ignore = [str(x) for x in client.get(BASE_JAIL, "ignoreip") or []]
    except Fail2banError:
        ignore = []  # jail not there yet, or fail2ban down: the import checks again
    parsed = parse_list(fetched.text, allow_networks=result.networks_allowed)
    kept, dropped = filter_entries(
        parsed.entries, ignore=ignore, own=own_addresses([client_ip or ""])
    )
    skipped = dict(parsed.skipped)
    for reason, n in dropped.items():
        skipped[reason] = skipped.get(reason, 0) + n
    result.size, result.sha256 = fetched.size, fetched.sha256
    result.lines, result.valid, result.invalid = parsed.lines, parsed.valid, parsed.invalid
    result.duplicates, result.to_ban, result.skipped = parsed.duplicates, len(kept), skipped
    result.first = kept[:SAMPLE]
    result.invalid_samples = parsed.samples_invalid[:SAMPLE]
    return result
