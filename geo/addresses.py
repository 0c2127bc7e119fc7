"""Parsing IPs for lookups, and the special ranges that are labelled, never looked up.

``parse_ip`` accepts exactly what ``bangui.fail2ban.validation.clean_address``
accepts (no IPv6 zone index either) and returns the same canonical
text; it exists because ``clean_address`` builds a ``ValidationError`` for every bad
value and parses twice, which matters at 100k IPs per second. A test checks the
two agree.
"""

from __future__ import annotations

import bisect
import ipaddress
import re
import socket
from dataclasses import dataclass
from typing import NamedTuple

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# A canonical dotted quad (no leading zeros, each part ≤ 255): most of what
# fail2ban hands us. Anything else goes through ``ipaddress``.
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_CANONICAL_V4 = re.compile(rf"{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}")

MAX_LENGTH = 64  # as clean_address

# Special-purpose ranges (IANA registries, RFC 6890 and successors). The label
# is what GeoInfo.special holds; LABELS gives the text shown to people.
_V4_RANGES = (
    ("0.0.0.0/8", "reserved"),
    ("10.0.0.0/8", "private"),
    ("100.64.0.0/10", "cgnat"),
    ("127.0.0.0/8", "loopback"),
    ("169.254.0.0/16", "link-local"),
    ("172.16.0.0/12", "private"),
    ("192.0.0.0/24", "reserved"),
    ("192.0.2.0/24", "documentation"),
    ("192.88.99.0/24", "reserved"),
    ("192.168.0.0/16", "private"),
    ("198.18.0.0/15", "benchmarking"),
    ("198.51.100.0/24", "documentation"),
    ("203.0.113.0/24", "documentation"),
    ("224.0.0.0/4", "multicast"),
    ("240.0.0.0/4", "reserved"),  # includes the broadcast address
)
_V6_RANGES = (
    ("::/128", "unspecified"),
    ("::1/128", "loopback"),
    ("64:ff9b:1::/48", "private"),
    ("100::/64", "reserved"),
    ("2001:db8::/32", "documentation"),
    ("3fff::/20", "documentation"),
    ("fc00::/7", "private"),
    ("fe80::/10", "link-local"),
    ("fec0::/10", "reserved"),
    ("ff00::/8", "multicast"),
)

LABELS = {
    "private": "private network",
    "loopback": "loopback",
    "link-local": "link-local",
    "cgnat": "carrier-grade NAT",
    "documentation": "documentation range",
    "benchmarking": "benchmarking range",
    "multicast": "multicast",
    "reserved": "reserved range",
    "unspecified": "unspecified address",
    "invalid": "not an IP address",
}


@dataclass(frozen=True)
class _RangeTable:
    """Non-overlapping ranges sorted by start, searched with bisect."""

    starts: tuple[int, ...]
    ends: tuple[int, ...]
    labels: tuple[str, ...]

    @classmethod
    def build(cls, ranges: tuple[tuple[str, str], ...]) -> _RangeTable:
        nets = sorted((ipaddress.ip_network(cidr), label) for cidr, label in ranges)
        for (a, _), (b, _) in zip(nets, nets[1:], strict=False):
            if a.overlaps(b):
                raise ValueError(f"special ranges overlap: {a} and {b}")
        return cls(
            tuple(int(n.network_address) for n, _ in nets),
            tuple(int(n.broadcast_address) for n, _ in nets),
            tuple(label for _, label in nets),
        )

    def label(self, value: int) -> str:
        i = bisect.bisect_right(self.starts, value) - 1
        if i >= 0 and value <= self.ends[i]:
            return self.labels[i]
        return ""


_V4 = _RangeTable.build(_V4_RANGES)
_V6 = _RangeTable.build(_V6_RANGES)


class ParsedIP(NamedTuple):
    """A valid address: canonical text, the address to look up, its special label."""

    text: str
    lookup: str  # IPv4-mapped IPv6 addresses are looked up (and labelled) as IPv4
    special: str


def canonical_v4_label(value: str) -> str | None:
    """For a canonical dotted quad, its special label ("" if public); else None.

    The fast path of ``parse_ip`` (most of what fail2ban hands us), on its own
    so a bulk loop can skip building a ParsedIP.
    """
    if _CANONICAL_V4.fullmatch(value) is None:
        return None
    return _V4.label(int.from_bytes(socket.inet_aton(value), "big"))


def parse_ip(value: object) -> ParsedIP | None:
    """The address in ``value``, or None when it is not one (never raises)."""
    if not isinstance(value, str) or len(value) > MAX_LENGTH:
        return None
    text = value.strip()
    label = canonical_v4_label(text)
    if label is not None:
        return ParsedIP(text, text, label)
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv4Address):
        return ParsedIP(str(addr), str(addr), _V4.label(int(addr)))
    if addr.scope_id is not None:
        return None
    mapped = addr.ipv4_mapped
    if mapped is not None:
        return ParsedIP(str(addr), str(mapped), _V4.label(int(mapped)))
    return ParsedIP(str(addr), str(addr), _V6.label(int(addr)))


def special_label(ip: str) -> str:
    """The special-range label of a valid address ("" for a public one)."""
    parsed = parse_ip(ip)
    return parsed.special if parsed else "invalid"


def network_address(value: object) -> ParsedIP | None:
    """A banned network (``1.2.3.0/24``) is placed where its first address is.

    fail2ban bans networks too (blocklists, manual bans). A wide one can span
    countries; the first address's country is the honest short answer.
    """
    if not isinstance(value, str) or "/" not in value or len(value) > MAX_LENGTH:
        return None
    try:
        net = ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        return None
    return parse_ip(str(net.network_address))
