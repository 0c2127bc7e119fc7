"""The regex tester against the real fail2ban-regex."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from bangui.fail2ban.regextest import allowed_log_path, regex_test

LOG = """\
2024-05-01 10:00:00 lab: auth failure from 192.0.2.1 user root
2024-05-01 10:00:01 lab: auth failure from 2001:db8::5
2024-05-01 10:00:02 something else
2024-05-01 10:00:03 lab: auth failure from 10.0.0.1 user bob
"""
REGEX = r"^\s*lab: auth failure from <HOST>"


def test_matched_missed_ignored_and_hosts():
    result = regex_test(lines=LOG, failregex=REGEX, ignoreregex="user bob")
    assert result.ok, result.error
    lines = LOG.splitlines()
    assert [(m.host, m.line) for m in result.matched] == [
        ("192.0.2.1", lines[0]),
        ("2001:db8::5", lines[1]),
    ]
    assert result.missed == ["2024-05-01 10:00:02 something else"]
    assert result.ignored == ["2024-05-01 10:00:03 lab: auth failure from 10.0.0.1 user bob"]
    assert result.total == 4


def test_a_log_tail_and_a_filter_file(tmp_path):
    log = tmp_path / "auth.log"
    log.write_text("2024-05-01 10:00:00 old line from 192.0.2.99\n" + LOG)
    flt = tmp_path / "lab.conf"
    flt.write_text(f"[Definition]\nfailregex = {REGEX}\nignoreregex =\n")
    result = regex_test(log_path=log, filter_path=flt, max_lines=4)
    assert result.ok, result.error
    assert result.total == 4
    assert [m.host for m in result.matched] == ["192.0.2.1", "2001:db8::5", "10.0.0.1"]


def test_a_regex_that_does_not_compile_reports_fail2bans_error():
    result = regex_test(lines=LOG, failregex=r"^\s*lab: (auth <HOST>")
    assert not result.ok
    assert "Unable to compile regular expression" in result.error
    assert "missing )" in result.error
    no_host = regex_test(lines=LOG, failregex=r"lab: auth (x)")
    assert "No failure-id group" in no_host.error


def test_a_filter_name_or_path_is_not_taken_as_regex():
    assert "needs <HOST>" in regex_test(lines=LOG, failregex="/etc/shadow").error
    assert "needs <HOST>" in regex_test(lines=LOG, failregex="sshd").error
    with pytest.raises(ValueError, match="one line"):
        regex_test(lines=LOG, failregex="a <HOST>\nb")


def test_a_catastrophic_regex_is_stopped_at_the_timeout():
    line = "2024-05-01 10:00:00 " + "a" * 40 + "!"
    t0 = time.monotonic()
    result = regex_test(lines=line, failregex=r"^\s*(a+)+<HOST>$", timeout=2)
    assert time.monotonic() - t0 < 4
    assert not result.ok
    assert "did not finish within 2 s" in result.error


def test_log_path_allowlist(tmp_path, tmp_path_factory):
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "auth.log").write_text("x\n")
    (logs / "sub").mkdir()
    outside = tmp_path_factory.mktemp("outside") / "secret"
    outside.write_text("s")
    (logs / "link.log").symlink_to(outside)
    allow = [str(logs)]
    assert allowed_log_path(str(logs / "auth.log"), allow) == Path(logs / "auth.log")
    with pytest.raises(ValueError, match="not under an allowed"):
        allowed_log_path(str(logs / ".." / "logs" / ".." / "x"), allow)
    with pytest.raises(ValueError, match="not under an allowed"):
        allowed_log_path(str(logs / "link.log"), allow)
    with pytest.raises(ValueError, match="not a regular file"):
        allowed_log_path(str(logs / "sub"), allow)
    with pytest.raises(ValueError, match="not under an allowed"):
        allowed_log_path(str(logs), allow)
    with pytest.raises(ValueError, match="not under an allowed"):
        allowed_log_path("/etc/passwd", allow)
