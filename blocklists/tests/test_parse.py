"""Parsing downloaded lists and filtering out what must never be banned."""

from __future__ import annotations

import ipaddress
import random

import pytest

from blocklists.parse import filter_entries, parse_list


def test_it_reads_addresses_and_skips_comments_and_blank_lines() -> None:
    parsed = parse_list("# header\n\n  ; also a comment\n1.2.3.4\n   \n5.6.7.8\n")
    assert parsed.entries == ["1.2.3.4", "5.6.7.8"]
    assert (parsed.lines, parsed.valid, parsed.invalid, parsed.duplicates) == (2, 2, 0, 0)


@pytest.mark.parametrize(
    "line",
    ["1.2.3.4 # spamhaus", "1.2.3.4;foo", "1.2.3.4\tspamhaus\t12", "1.2.3.4,foo", "  1.2.3.4  "],
)
def test_trailing_fields_and_comments_are_ignored(line: str) -> None:
    assert parse_list(line).entries == ["1.2.3.4"]


def test_garbage_lines_are_counted_with_their_line_numbers() -> None:
    text = "1.2.3.4\nhello world\n1.2.3\n<a href>\n999.1.1.1\n,1.2.3.4\n5.6.7.8\n"
    parsed = parse_list(text)
    assert parsed.entries == ["1.2.3.4", "5.6.7.8"]
    assert (parsed.lines, parsed.valid, parsed.invalid) == (7, 2, 5)
    assert parsed.samples_invalid[:2] == [(2, "hello world"), (3, "1.2.3")]


def test_only_twenty_invalid_lines_are_kept_as_samples() -> None:
    parsed = parse_list("junk\n" * 100)
    assert parsed.invalid == 100 and len(parsed.samples_invalid) == 20


def test_ipv6_is_canonicalised_and_brackets_are_accepted() -> None:
    parsed = parse_list("2001:DB8:0:0:0:0:0:1\n[2a00:1450::5]\n::ffff:1.2.3.4\n2001:db8::1\n")
    assert parsed.entries == ["2001:db8::1", "2a00:1450::5", "1.2.3.4"]
    assert parsed.duplicates == 1


def test_duplicates_are_counted_and_first_seen_order_kept() -> None:
    parsed = parse_list("5.6.7.8\n1.2.3.4\n5.6.7.8\n1.2.3.4/32\n5.6.7.8\n")
    assert parsed.entries == ["5.6.7.8", "1.2.3.4"]
    assert (parsed.valid, parsed.duplicates) == (5, 3)
    assert parsed.valid == len(parsed.entries) + parsed.duplicates


def test_networks_are_normalised() -> None:
    parsed = parse_list("10.1.2.3/8\n1.2.3.4/24\n2001:db8::1/64\n1.2.3.4/32\n2001:db8::5/128\n")
    assert parsed.entries == ["10.0.0.0/8", "1.2.3.0/24", "2001:db8::/64", "1.2.3.4", "2001:db8::5"]


@pytest.mark.parametrize("line", ["0.0.0.0/0", "::/0", "1.0.0.0/7", "2000::/3", "2001::/15"])
def test_networks_broader_than_a_slash_8_or_16_are_never_banned(line: str) -> None:
    parsed = parse_list(line)
    assert parsed.entries == []
    assert parsed.skipped == {"network too broad": 1}
    assert parsed.invalid == 0


@pytest.mark.parametrize("line", ["1.2.3.0/33", "2001:db8::/129", "1.2.3.0/", "1.2.3.0/x", "/24"])
def test_impossible_prefixes_are_invalid(line: str) -> None:
    assert parse_list(line).invalid == 1


@pytest.mark.parametrize("line", ["16843009", "0x01020304", "1", "01.2.3.4", "fe80::1%eth0"])
def test_integers_and_odd_spellings_are_invalid(line: str) -> None:
    parsed = parse_list(line)
    assert (parsed.entries, parsed.invalid) == ([], 1)


def test_an_overlong_line_is_invalid_even_if_it_starts_with_an_address() -> None:
    parsed = parse_list("1.2.3.4 # " + "x" * 1000 + "\n5.6.7.8\n")
    assert parsed.entries == ["5.6.7.8"] and parsed.invalid == 1


def test_a_bom_and_crlf_line_endings_do_not_matter() -> None:
    parsed = parse_list("\ufeff1.2.3.4\r\n# c\r\n2001:db8::1\r\n")
    assert parsed.entries == ["1.2.3.4", "2001:db8::1"] and parsed.invalid == 0


def test_networks_can_be_refused_for_jails_that_cannot_ban_them() -> None:
    parsed = parse_list("1.2.3.0/24\n1.2.3.4\n1.2.3.5/32\n", allow_networks=False)
    assert parsed.entries == ["1.2.3.4", "1.2.3.5"]
    assert parsed.skipped == {"networks not supported by this jail": 1}


def test_first_holds_the_first_twenty_entries() -> None:
    parsed = parse_list("\n".join(f"1.2.3.{i}" for i in range(1, 51)))
    assert parsed.first == [f"1.2.3.{i}" for i in range(1, 21)]


def test_the_fast_path_agrees_with_ipaddress() -> None:
    # The C library canonicalises most addresses; this guards against a libc that differs.
    rng = random.Random(7)
    for _ in range(5000):
        groups = [rng.choice([0, 0, 1, 0xFFFF, rng.getrandbits(16)]) for _ in range(8)]
        v6 = ipaddress.IPv6Address(int("".join(f"{g:04x}" for g in groups), 16))
        v4 = ipaddress.IPv4Address(rng.getrandbits(32))
        text = f"{v6.exploded.upper()}\n{v4}\n"
        expected = [str(v6.ipv4_mapped or v6), str(v4)]
        assert parse_list(text).entries == list(dict.fromkeys(expected))
        p4, p6 = rng.randint(8, 32), rng.randint(16, 128)
        net4 = ipaddress.ip_network(f"{v4}/{p4}", strict=False)
        net6 = ipaddress.ip_network(f"{v6}/{p6}", strict=False)
        if net6.network_address.ipv4_mapped:
            continue
        expected = [
            str(n.network_address if n.prefixlen == n.max_prefixlen else n) for n in (net4, net6)
        ]
        assert parse_list(f"{v4}/{p4}\n{v6.exploded}/{p6}").entries == expected


def test_entries_on_the_ignore_list_are_dropped() -> None:
    entries = ["1.2.3.4", "5.6.7.8", "9.9.0.0/16", "9.10.0.0/16", "2a00:1450::5", "9.9.9.9"]
    kept, skipped = filter_entries(
        entries, ignore=["5.6.7.8", "9.9.9.0/24", "2a00::/16", "localhost", ""], own=[]
    )
    assert kept == ["1.2.3.4", "9.10.0.0/16"]
    assert skipped == {"ignore list": 4}


def test_a_network_holding_an_ignored_address_is_dropped() -> None:
    kept, skipped = filter_entries(["8.8.0.0/16"], ignore=["8.8.8.8"], own=[])
    assert (kept, skipped) == ([], {"ignore list": 1})


def test_our_own_address_and_networks_containing_it_are_dropped() -> None:
    kept, skipped = filter_entries(
        ["1.2.3.4", "8.8.8.8", "8.8.0.0/16", "2a00:1450::1"], ignore=[], own=["8.8.8.8"]
    )
    assert (kept, skipped) == (["1.2.3.4", "2a00:1450::1"], {"own IP": 2})


@pytest.mark.parametrize(
    "entry",
    [
        "10.1.2.3",
        "192.168.1.1",
        "172.16.5.5",
        "127.0.0.1",
        "169.254.1.1",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "192.0.2.1",
        "10.0.0.0/8",
        "11.0.0.0/7",
        "192.160.0.0/12",
        "::",
        "::1",
        "fe80::1",
        "fc00::1",
        "ff02::1",
        "2001:db8::1",
        "fe00::/8",
    ],
)
def test_private_and_reserved_addresses_are_never_banned(entry: str) -> None:
    assert filter_entries([entry], ignore=[], own=[]) == ([], {"private/reserved": 1})


def test_public_addresses_and_networks_are_kept() -> None:
    entries = ["1.2.3.4", "8.8.8.0/24", "100.128.0.1", "11.0.0.0/8", "2a00:1450::5", "2606::/16"]
    assert filter_entries(entries, ignore=[], own=[]) == (entries, {})


def test_the_reserved_ranges_agree_with_ipaddress() -> None:
    rng = random.Random(11)
    for _ in range(20000):
        addr: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.IPv4Address(
            rng.getrandbits(32)
        )
        if rng.random() < 0.5:
            addr = ipaddress.IPv6Address(rng.getrandbits(128))
            if addr in ipaddress.IPv6Network("fec0::/10"):
                continue  # deprecated site-local: we refuse it, ipaddress calls it global
        expected = not addr.is_global or addr.is_multicast or addr.is_reserved
        kept, _ = filter_entries([str(addr)], ignore=[], own=[])
        assert (kept == []) == expected, addr


def test_the_ignore_list_wins_over_the_other_reasons() -> None:
    _, skipped = filter_entries(["127.0.0.1"], ignore=["127.0.0.0/8"], own=["127.0.0.1"])
    assert skipped == {"ignore list": 1}


def test_a_large_list_is_parsed_and_filtered() -> None:
    # Not timed here (no flaky timing asserts); the point is that nothing is quadratic.
    text = "\n".join(f"{a}.{b}.{c}.1" for a in (11, 12) for b in range(250) for c in range(200))
    parsed = parse_list(text)
    assert len(parsed.entries) == 100_000
    kept, skipped = filter_entries(parsed.entries, ignore=["11.0.0.0/8"], own=[])
    assert len(kept) == 50_000 and skipped == {"ignore list": 50_000}
