"""A corpus of hostile input, for the sweeps over every form field and ``next`` parameter.

It gathers the validation tests' corpora and adds what an attacker tries on
a tool that writes INI files and talks to a root daemon: NUL and line breaks,
shell, INI sections and ``%(...)s`` interpolation, paths, markup, look-alike
Unicode, numbers at the edges and very long strings.
"""

from __future__ import annotations

from bangui.tests.test_fail2ban_validation import HOSTILE_IPS, HOSTILE_JAILS, HOSTILE_TIMES

EXTRA = [
    "\x00",
    "a\x00b",
    "\n",
    "\r\n",
    "x\n[DEFAULT]\nbantime = 1",
    "x\r\n[Definition]\r\nfailregex = .*",
    "1.2.3.4\n[sshd]\nenabled = false",
    "%(logpath)s",
    "%(__name__)s",
    "%%",
    "%",
    "${IFS}",
    "`id`",
    "$(touch /tmp/bangui-pwned)",
    "; touch /tmp/bangui-pwned",
    "| touch /tmp/bangui-pwned",
    "&& reboot",
    'dummy[actionban="touch /tmp/bangui-pwned"]',
    'iptables-multiport[port="22; touch /tmp/bangui-pwned"]',
    "../../etc/passwd",
    "/etc/shadow",
    "/dev/zero",
    "file:///etc/passwd",
    "javascript:alert(1)",
    "//evil.example/",
    "https://evil.example/",
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "{{ 7*7 }}",
    "{% debug %}",
    "' OR 1=1 --",
    "\u202e\u0645",  # right-to-left override
    "ｓｓｈｄ",  # full-width look-alike letters
    "ѕѕһd",  # Cyrillic look-alikes
    "١٢٣",  # Arabic-Indic digits
    "-1",
    "0",
    "-0",
    "99999999999999999999",
    "1e309",
    "NaN",
    "true",
    "None",
    "[]",
    "{}",
    "*",
    "?",
    " ",
    "\t",
    "x" * 70,
    "é" * 300,
    "9" * 5000,
    "A" * 10_000,
    "a\nb" * 2000,
]


def corpus() -> list[str]:
    seen: dict[str, None] = {}
    for value in [*HOSTILE_IPS, *HOSTILE_JAILS, *HOSTILE_TIMES, *EXTRA]:
        seen.setdefault(value, None)
    return list(seen)


HOSTILE = corpus()
