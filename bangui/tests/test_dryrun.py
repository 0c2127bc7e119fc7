"""The throwaway-server check: what it leaves out of the stream, what it reports."""

from __future__ import annotations

import pytest

from bangui.fail2ban import dryrun, protocol

STREAM = [
    ["set", "syslogsocket", "auto"],
    ["set", "loglevel", "INFO"],
    ["set", "logtarget", "/var/log/fail2ban.log"],
    ["set", "dbfile", "/var/lib/fail2ban/fail2ban.sqlite3"],
    ["set", "dbpurgeage", "1d"],
    ["add", "sshd", "auto"],
    ["set", "sshd", "bantime", "600"],
    ["set", "sshd", "addaction", "dummy"],
    ["set", "sshd", "action", "dummy", "actionban", "touch /tmp/x"],
    ["multi-set", "sshd", "action", "dummy", {"actionstart": "touch /tmp/y"}],
    ["set", "sshd", "ignorecommand", "touch /tmp/z"],
    ["multi-set", "sshd", "addfailregex", ["^a <HOST>$", "^b <HOST>$"]],
    ["add", "alpha", "polling"],
    ["set", "alpha", "maxretry", 3],
    ["start", "sshd"],
    ["start", "alpha"],
]


def test_nothing_that_could_act_on_the_host_is_sent() -> None:
    sent = dryrun.commands_to_try(STREAM, jails=None)
    assert ["start", "sshd"] not in sent and ["start", "alpha"] not in sent
    assert not [c for c in sent if len(c) > 2 and c[2] in ("addaction", "action")]
    assert not [c for c in sent if c[:2] in (["set", "logtarget"], ["set", "dbfile"])]
    assert ["set", "loglevel", "INFO"] in sent and ["set", "dbpurgeage", "1d"] in sent
    # ignorecommand is a string until a started jail finds a failure; it is checked, not run.
    assert ["set", "sshd", "ignorecommand", "touch /tmp/z"] in sent


def test_only_the_jails_a_reload_touches_are_tried() -> None:
    sent = dryrun.commands_to_try(STREAM, jails=["alpha"])
    assert {c[1] for c in sent} == {"alpha"}  # a jail's reload sends no server settings
    assert ["set", "alpha", "maxretry", 3] in sent


def test_a_special_log_target_is_tried_a_log_file_is_not() -> None:
    stream = [["set", "logtarget", "SYSLOG"], ["set", "logtarget", "/var/log/x.log"]]
    assert dryrun.commands_to_try(stream, jails=None) == [["set", "logtarget", "SYSLOG"]]


@pytest.mark.parametrize("bad", [[], "set", ["set", object()], ["set", b"x"], ["x", {1: "a"}]])
def test_only_plain_values_are_encoded(bad: object) -> None:
    with pytest.raises(TypeError):
        protocol.encode_config_command(bad)  # type: ignore[arg-type]


def test_a_refused_value_is_reported_with_its_jail_and_setting(f2b_lab) -> None:  # type: ignore[no-untyped-def]
    stream = [["add", "sshd", "polling"], ["set", "sshd", "bantime", "abc"], ["start", "sshd"]]
    refusal = dryrun.stream_check(stream, jails=None)
    assert refusal is not None
    assert str(refusal) == (
        "fail2ban refuses jail sshd, bantime = 'abc': NameError: name 'abc' is not defined"
    )
    assert dryrun.stream_check(stream[:1], jails=None) is None
