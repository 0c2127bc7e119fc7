"""Validation at the fail2ban boundary.

Everything that goes into a socket command passes through one of these
functions first. They raise Django's ``ValidationError`` with a message a
person can act on, so forms can use them directly, and they return the
normalised string that is actually sent.
"""

from __future__ import annotations

import ipaddress
import re

from .invalid import ValidationError

MAX_VALUE_LENGTH = 1024
_BROADCAST = ipaddress.IPv4Address("255.255.255.255")

# Section names in fail2ban's jail files: letters, digits and a few separators.
# A dotted quad exactly as ipaddress prints it: no leading zeros, each part 0-255.
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4_RE = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}", re.ASCII)
_IPV4_SPECIAL = frozenset({"0.0.0.0", "255.255.255.255"})  # refused by clean_ip

# No slash, no leading dot, nothing a shell or a path would treat specially.
_JAIL_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")

# fail2ban eval()s time values, so only a strict grammar is accepted and the
# value is converted to plain seconds here: digits are all that is ever sent.
_TIME_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_TIME_RE = re.compile(r"(?:(\d{1,7})\s?([smhdw])\s?){1,5}", re.ASCII)
_TIME_PART_RE = re.compile(r"(\d{1,7})\s?([smhdw])", re.ASCII)
_SECONDS_RE = re.compile(r"-?\d{1,10}", re.ASCII)
MAX_SECONDS = 10 * 365 * 86400


def _require_text(value: object, what: str, max_length: int = MAX_VALUE_LENGTH) -> str:
    if not isinstance(value, str):
        raise ValidationError(f"{what} must be text.", code="type")
    if "\x00" in value:
        raise ValidationError(f"{what} must not contain NUL bytes.", code="nul")
    if len(value) > max_length:
        raise ValidationError(
            f"{what} is too long ({len(value)} characters, at most {max_length}).", code="length"
        )
    return value


def _address(value: object) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    text = _require_text(value, "An IP address", 64).strip()
    if "%" in text:
        # ipaddress takes "fe80::1%eth0" (and "2a00::1%$(id)"): the part after % would
        # reach fail2ban's config files and commands as it was typed.
        raise ValidationError(
            f"“{text[:64]}” has a zone index (the part from %): fail2ban bans addresses, "
            "not interfaces. Leave the %… part out.",
            code="zone",
        )
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        raise ValidationError(f"“{text[:64]}” is not a valid IP address.", code="ip") from None


def clean_address(value: object) -> str:
    """An IPv4 or IPv6 address in canonical form, for looking up (syntax only)."""
    return str(_address(value))


def clean_ip(value: object) -> str:
    """An address that can be banned or ignored, in canonical form.

    Not the unspecified address (0.0.0.0, ::) nor the broadcast address: no
    client ever comes from them, so a ban or an ignore entry of one is a mistake.
    """
    ip = _address(value)
    if ip.is_unspecified:
        raise ValidationError(
            f"{ip} is the unspecified address: no client comes from it, so there is "
            "nothing to ban or ignore.",
            code="unspecified",
        )
    if ip == _BROADCAST:
        raise ValidationError(
            f"{ip} is the broadcast address: no client comes from it, so there is "
            "nothing to ban or ignore.",
            code="broadcast",
        )
    return str(ip)


def clean_network(value: object, *, min_prefix_v4: int = 8, min_prefix_v6: int = 16) -> str:
    """An IP address or a CIDR network; a full-length prefix comes back as the address.

    Networks wider than /8 (IPv4) or /16 (IPv6) are refused: banning or
    ignoring half the internet is never what an operator meant.
    """
    text = _require_text(value, "An IP address or network", 64).strip()
    if "/" not in text:
        if _IPV4_RE.fullmatch(text) and text not in _IPV4_SPECIAL:
            # Already canonical: the common case of a ban list (10x faster than
            # ipaddress, which an import of 100k addresses pays twice, web and broker).
            return text
        return clean_ip(text)
    try:
        net = ipaddress.ip_network(text, strict=True)
    except ValueError as exc:
        if "has host bits set" in str(exc):
            fixed = ipaddress.ip_network(text, strict=False)
            raise ValidationError(
                f"“{text}” has host bits set; did you mean {fixed}?", code="network"
            ) from None
        raise ValidationError(f"“{text[:64]}” is not a valid IP network.", code="network") from None
    limit = min_prefix_v4 if net.version == 4 else min_prefix_v6
    if net.prefixlen < limit:
        raise ValidationError(
            f"{net} is too wide; the widest network accepted is /{limit}.", code="too_wide"
        )
    if net.prefixlen == net.max_prefixlen:
        return str(net.network_address)
    return str(net)


def clean_jail(value: object) -> str:
    """A jail name as fail2ban's config files allow it."""
    text = _require_text(value, "A jail name", 64)
    if not _JAIL_RE.fullmatch(text) or ".." in text:
        raise ValidationError(
            "A jail name is 1–64 letters, digits, “-”, “_”, “.” or “@”, "
            "starting with a letter or digit.",
            code="jail",
        )
    return text


def clean_seconds(value: object) -> str:
    """A duration: whole seconds (``-1`` means permanent) or ``1h``, ``10m``, ``1d 12h``.

    Returns plain digits, never the original text, because fail2ban
    passes time values to ``eval()``.
    """
    if isinstance(value, bool):
        raise ValidationError("A duration must be a number of seconds.", code="time")
    if isinstance(value, int):
        value = str(value)
    text = _require_text(value, "A duration", 64).strip().lower()
    if _SECONDS_RE.fullmatch(text):
        seconds = int(text)
        if seconds < -1:
            raise ValidationError("A duration is -1 (permanent) or positive.", code="time")
    elif _TIME_RE.fullmatch(text):
        seconds = sum(int(n) * _TIME_UNITS[u] for n, u in _TIME_PART_RE.findall(text))
    else:
        raise ValidationError(
            f"“{text[:32]}” is not a duration; use seconds (600) or units like 10m, 1h, 1d 12h.",
            code="time",
        )
    if seconds > MAX_SECONDS:
        raise ValidationError("A duration of more than ten years is not accepted.", code="time")
    return str(seconds)


def clean_count(value: object, *, minimum: int = 1, maximum: int = 1_000_000) -> str:
    """A whole number in a range, e.g. maxretry."""
    if isinstance(value, bool):
        raise ValidationError("Expected a whole number.", code="int")
    text = str(value) if isinstance(value, int) else _require_text(value, "A number", 16).strip()
    if not re.fullmatch(r"[0-9]{1,9}", text) or not minimum <= int(text) <= maximum:
        raise ValidationError(f"Expected a whole number from {minimum} to {maximum}.", code="int")
    return str(int(text))


def clean_token(value: object, what: str = "A value") -> str:
    """A single word (command flavour, parameter name): letters, digits, ``._-``."""
    text = _require_text(value, what, 64)
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", text):
        raise ValidationError(f"{what} may only hold letters, digits, “.”, “_” or “-”.")
    return text
