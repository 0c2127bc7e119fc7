"""The line-based INI editor keeps every byte it was not asked to change."""

from __future__ import annotations

import configparser

import pytest

from bangui.fail2ban.inifile import IniError, clean_value, get_options, set_options

SAMPLE = """\
# top comment
[DEFAULT]
bantime = 600   ; inline comment

[sshd]
# keep me
enabled = true
MaxRetry: 5
logpath = /var/log/a.log
          /var/log/b.log
# between continuation lines
          /var/log/c.log
port = ssh

[other]
x = 1
"""


def test_replacing_a_value_changes_only_that_line():
    out = set_options(SAMPLE, "sshd", {"maxretry": "7"})
    assert out == SAMPLE.replace("MaxRetry: 5", "MaxRetry: 7")


def test_continuation_lines_are_replaced_with_the_option():
    out = set_options(SAMPLE, "sshd", {"logpath": "/x.log\n/y.log"})
    assert "/var/log/" not in out
    assert "logpath = /x.log\n          /y.log\nport = ssh\n" in out
    assert get_options(out, "sshd")["logpath"] == "/x.log\n/y.log"
    assert out.startswith("# top comment\n[DEFAULT]\nbantime = 600   ; inline comment\n")


def test_new_option_goes_after_the_last_option_of_its_section():
    out = set_options(SAMPLE, "sshd", {"findtime": "600"})
    assert "port = ssh\nfindtime = 600\n\n[other]" in out
    assert out.replace("findtime = 600\n", "") == SAMPLE


def test_missing_section_is_created_at_the_end():
    out = set_options(SAMPLE, "nginx", {"enabled": "true"})
    assert out == SAMPLE + "\n[nginx]\nenabled = true\n"
    assert set_options("", "x", {"a": "1"}) == "[x]\na = 1\n"
    assert set_options("[a]\nb=1", "a", {"c": "2"}) == "[a]\nb=1\nc = 2\n"


def test_none_removes_the_option_and_its_continuations():
    out = set_options(SAMPLE, "sshd", {"logpath": None, "nope": None})
    assert "logpath" not in out and "/var/log" not in out
    assert get_options(out, "sshd") == {"enabled": "true", "maxretry": "5", "port": "ssh"}


def test_result_parses_like_fail2ban_reads_it():
    out = set_options(SAMPLE, "sshd", {"failregex": "^a <HOST>$\n^b <HOST>$", "bantime": "1h"})
    parser = configparser.ConfigParser(inline_comment_prefixes=(";",))
    parser.read_string(out)
    assert parser.get("sshd", "failregex") == "^a <HOST>$\n^b <HOST>$"
    assert parser.get("sshd", "maxretry") == "5"


@pytest.mark.parametrize(
    ("value", "multiline", "fragment"),
    [
        ("a\nb", False, "single line"),
        ("a\rb", True, "carriage-return"),
        ("a\x00b", True, "NUL"),
        ("100%", False, "%%"),
        ("a ;b", False, "comment"),
        ("a\n# x", True, "comment"),
    ],
)
def test_dangerous_values_are_refused(value, multiline, fragment):
    with pytest.raises(IniError, match=fragment):
        clean_value(value, multiline=multiline)


def test_percent_forms_fail2ban_uses_are_allowed():
    assert clean_value("%(known/failregex)s 100%%") == "%(known/failregex)s 100%%"


def test_section_injection_is_refused_or_neutralised():
    with pytest.raises(IniError, match="single line"):
        clean_value("ssh\n[evil]")
    # In a multi-line value every later line is indented: a continuation, not a header.
    out = set_options(SAMPLE, "sshd", {"failregex": "x <HOST>\n[evil]\nenabled = false"})
    assert "\n          [evil]\n          enabled = false\n" in out
    assert get_options(out, "evil") == {}
    assert get_options(out, "sshd")["enabled"] == "true"
    with pytest.raises(IniError):
        set_options(SAMPLE, "a]\n[b", {"x": "1"})
    with pytest.raises(IniError):
        set_options(SAMPLE, "sshd", {"x = 1\ny": "1"})
