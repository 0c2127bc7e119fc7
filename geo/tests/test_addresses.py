"""parse_ip and the special ranges."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from bangui.fail2ban.validation import clean_address
from geo.addresses import LABELS, parse_ip, special_label

INPUTS = [
    "1.2.3.4",
    " 1.2.3.4\n",
    "255.255.255.255",
    "0.0.0.0",
    "01.2.3.4",
    "1.2.3.256",
    "1.2.3",
    "1.2.3.4.5",
    "1.2.3.4/32",
    "2001:DB8::1",
    "2a00:1450:4001:81b::200e",
    "::ffff:8.8.8.8",
    "::",
    "::1",
    "gggg::1",
    "",
    " ",
    "localhost",
    "1.2.3.4\x00",
    "1" * 65,
    "١.٢.٣.٤",  # Arabic-Indic digits: not an address
    "fe80::1%eth0",
    "2a00::1%$(id)",
]


@pytest.mark.parametrize("value", INPUTS)
def test_it_accepts_exactly_what_clean_address_accepts(value):
    try:
        expected: str | None = clean_address(value)
    except ValidationError:
        expected = None
    parsed = parse_ip(value)
    assert (parsed.text if parsed else None) == expected


@pytest.mark.parametrize("value", [None, 17, b"1.2.3.4", ["1.2.3.4"], "fe80::1%eth0"])
def test_it_rejects_non_text_and_scoped_addresses(value):
    assert parse_ip(value) is None


@pytest.mark.parametrize(
    ("ip", "label"),
    [
        ("10.1.2.3", "private"),
        ("172.31.255.255", "private"),
        ("172.32.0.1", ""),
        ("192.168.0.1", "private"),
        ("127.0.0.1", "loopback"),
        ("169.254.1.1", "link-local"),
        ("100.64.0.1", "cgnat"),
        ("192.0.2.7", "documentation"),
        ("198.51.100.1", "documentation"),
        ("203.0.113.255", "documentation"),
        ("198.18.0.1", "benchmarking"),
        ("224.0.0.1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "reserved"),
        ("0.0.0.0", "reserved"),
        ("8.8.8.8", ""),
        ("::", "unspecified"),
        ("::1", "loopback"),
        ("fe80::1", "link-local"),
        ("fd00::1", "private"),
        ("2001:db8::1", "documentation"),
        ("ff02::1", "multicast"),
        ("2a00:1450::1", ""),
        ("::ffff:10.0.0.1", "private"),
        ("::ffff:8.8.8.8", ""),
        ("not an ip", "invalid"),
    ],
)
def test_it_labels_special_ranges(ip, label):
    assert special_label(ip) == label


def test_ipv4_mapped_addresses_are_looked_up_as_ipv4():
    parsed = parse_ip("::ffff:8.8.8.8")
    assert parsed is not None
    assert parsed.lookup == "8.8.8.8"
    assert parsed.text == clean_address("::ffff:8.8.8.8")


def test_every_label_has_a_text():
    labels = {special_label(ip) for ip in ["10.0.0.1", "127.0.0.1", "100.64.0.1", "::"]}
    assert labels <= set(LABELS)
