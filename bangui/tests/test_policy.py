"""The config-write policy: settings pass, anything that would run a command as root does not.

Checked against Debian's real /etc/fail2ban (its action.d names the actions that exist).
"""

from __future__ import annotations

import pytest

from bangui.fail2ban.policy import PolicyRefused, check_write

ETC = "/etc/fail2ban"


def _check(rel: str, text: str) -> None:
    check_write(rel, text.encode(), config_dir=ETC)


ALLOWED = [
    ("jail.d/sshd.local", "[sshd]\nenabled = true\nmaxretry = 3\nbantime = 1h\n"),
    ("jail.d/sshd.local", "[sshd]\nport = ssh,2222\nlogpath = /var/log/auth.log\n"),
    ("jail.d/sshd.local", "[sshd]\nlogpath = %(sshd_log)s\nbackend = %(sshd_backend)s\n"[:40]),
    ("jail.d/sshd.local", "[sshd]\naction = iptables-multiport[name=SSH, port=\"22,2222\"]\n"),
    ("jail.d/sshd.local", "[sshd]\nbanaction = nftables-multiport\naction = %(action_mwl)s\n"),
    ("jail.d/sshd.local", "[DEFAULT]\nignoreip = 127.0.0.1/8 ::1 192.0.2.0/24\n"),
    ("jail.d/sshd.local", "[sshd]\nfilter = sshd[mode=aggressive]\n"),
    ("jail.d/sshd.local", "[sshd]\njournalmatch = _SYSTEMD_UNIT=sshd.service + _COMM=sshd\n"),
    ("jail.d/x.local", "[x]\nfailregex = ^auth failure from <HOST>; id$\n  ^other <HOST>$\n"),
    ("jail.d/manual.conf", "[manual]\nenabled = false\nfilter =\nlogpath = /dev/null\n"),
    ("filter.d/x.local", "[INCLUDES]\nbefore = common.conf\n[Definition]\n_daemon = sshd\n"
     "failregex = ^%(__prefix_line)sFailed for .* from <HOST>$\n"),
    ("filter.d/x.conf", "[Definition]\nfailregex = <HOST> $(id) `id` | ; & \nignoreregex =\n"),
    ("fail2ban.local", "[Definition]\nloglevel = DEBUG\ndbpurgeage = 2d\n"),
    ("fail2ban.local", "[Definition]\nlogtarget = /var/log/fail2ban.log\n"),
    ("jail.local", "[DEFAULT]\nbantime.increment = true\nbantime.multipliers = 1 2 4 8\n"),
]  # fmt: skip


@pytest.mark.parametrize(("rel", "text"), ALLOWED)
def test_it_allows_settings(rel: str, text: str) -> None:
    _check(rel, text)


def test_it_allows_deleting_a_file_bangui_may_write() -> None:
    check_write("jail.d/sshd.local", None, config_dir=ETC)


# (file, content, words the refusal must contain)
REFUSED = [
    # The measured ways to run a command (fail2ban-notes.md).
    ("jail.d/sshd.local", '[sshd]\naction = dummy[actionban="touch /x"]\n', "parameters"),
    ("jail.d/sshd.local", '[sshd]\naction = iptables-multiport[port="22; touch /x"]\n', "param"),
    ("jail.d/sshd.local", "[sshd]\naction = iptables-multiport[port=22;touch]\n", "parameters"),
    ("jail.d/sshd.local", "[sshd]\nignorecommand = touch /x\n", "runs a command"),
    ("jail.d/sshd.local", "[DEFAULT]\nignorecommand = /bin/true\n", "runs a command"),
    ("jail.d/sshd.local", "[sshd]\nbantime.formula = __import__('os').system('id')\n", "Python"),
    ("action.d/evil.conf", "[Definition]\nactionban = touch /x\n", "action files"),
    ("action.d/evil.local", "[Definition]\nactionban = touch /x\n", "action files"),
    ("action.d/evil.py", "import os\n", "code"),
    ("filter.d/evil.py", "import os\n", "code"),
    ("jail.d/evil.py", "import os\n", "code"),
    # Commands through values pasted into action commands.
    ("jail.d/sshd.local", "[sshd]\nport = 22; touch /x\n", "command"),
    ("jail.d/sshd.local", "[sshd]\nport = $(touch /x)\n", "command"),
    ("jail.d/sshd.local", "[sshd]\nprotocol = tcp`id`\n", "command"),
    ("jail.d/sshd.local", "[sshd]\nchain = INPUT|id\n", "command"),
    ("jail.d/sshd.local", "[sshd]\nlogpath = /var/log/x.log; id\n", "plain path"),
    ("jail.d/sshd.local", "[sshd]\nlogpath = /var/log/$(id)\n", "plain path"),
    ("jail.d/sshd.local", "[sshd]\nlogpath = %(failregex)s\n", "plain path"),
    # Actions: only existing names, allowed parameters, no interpolation of other keys.
    ("jail.d/sshd.local", "[sshd]\naction = no-such-action\n", "no action"),
    ("jail.d/sshd.local", "[sshd]\naction = ../../tmp/evil\n", "not an action"),
    ("jail.d/sshd.local", "[sshd]\naction = %(failregex)s\n", "not an action"),
    ("jail.d/sshd.local", "[sshd]\nbanaction = %(port)s\n", "not an action"),
    ("jail.d/sshd.local", '[sshd]\naction = iptables[actionstart="id"]\n', "parameters"),
    ("jail.d/sshd.local", "[sshd]\naction = iptables[name=a, actioncheck=id]\n", "parameters"),
    ("jail.d/sshd.local", '[sshd]\naction = iptables[name="a\\"; id"]\n', "parameters"),
    ("jail.d/sshd.local", "[sshd]\naction = iptables[name=a,]\n", "parameters"),
    ("jail.d/sshd.local", "[sshd]\naction = iptables[name=a]x\n", "not an action"),
    ("jail.d/sshd.local", "[sshd]\naction = iptables\n  dummy[actionban=id]\n", "parameters"),
    ("jail.d/sshd.local", "[sshd]\naction_ = dummy[actionban=id]\n", "action options"),
    ("jail.d/sshd.local", "[sshd]\nactionban = touch /x\n", "action options"),
    ("jail.d/sshd.local", "[DEFAULT]\nmta = sendmail; id\n", "not a setting"),
    ("jail.d/sshd.local", "[sshd]\nfilter = sshd; id\n", "not a filter name"),
    ("jail.d/sshd.local", '[sshd]\nfilter = sshd[failregex="x"]\n', "not a filter name"),
    # Server settings that write files or move the socket.
    ("fail2ban.local", "[Definition]\ndbfile = /etc/cron.d/x\n", "database"),
    ("fail2ban.local", "[Definition]\nsocket = /tmp/s\n", "socket"),
    ("fail2ban.local", "[Definition]\npidfile = /etc/x\n", "anywhere"),
    ("fail2ban.local", "[Definition]\nlogtarget = /etc/shadow\n", "logtarget"),
    ("fail2ban.local", "[Thread]\nstacksize = 1\n", "Definition"),
    # Includes outside the config dir, other places.
    ("filter.d/x.local", "[INCLUDES]\nbefore = /etc/shadow\n", "inside"),
    ("filter.d/x.local", "[INCLUDES]\nafter = ../../../etc/shadow\n", "inside"),
    ("filter.d/x.local", "[INCLUDES]\nbefore = ../action.d/iptables.conf\n", "inside"),
    ("jail.d/x.local", "[INCLUDES]\nbefore = ../action.d/dummy.conf\n", "inside"),
    ("jail.d/x.local", "[INCLUDES]\nbefore = action.d/dummy.conf\n", "action files"),
    ("filter.d/x.local", "[INCLUDES]\nbefores = x.conf\n", "only before and after"),
    ("filter.d/x.local", "[Definition]\nactionban = id\n", "action options"),
    ("filter.d/x.local", "[Evil]\nfailregex = x\n", "Definition"),
    ("filter.d/x.local", "[Init]\nignorecommand = id\n", "runs a command"),
    ("../jail.d/x.local", "[x]\nenabled = true\n", "outside"),
    ("/etc/fail2ban/jail.d/x.local", "[x]\nenabled = true\n", "outside"),
    ("jail.d/../action.d/x.conf", "[x]\nenabled = true\n", "outside"),
    ("jail.conf", "[x]\nenabled = true\n", "only jail.d"),
    ("paths-common.conf", "[DEFAULT]\nx = 1\n", "only jail.d"),
    ("jail.d/sub/x.local", "[x]\nenabled = true\n", "only jail.d"),
    ("jail.d/x.txt", "[x]\nenabled = true\n", "only jail.d"),
    ("jail.d/x.local\x00", "[x]\nenabled = true\n", "Not a config file"),
    # Files that are not INI text.
    ("jail.d/x.local", "[x\nenabled = true\n", "INI"),
    ("jail.d/x.local", "enabled = true\n", "INI"),
    ("jail.d/x.local", "[x]\nenabled = true\x00\n", "NUL"),
    ("jail.d/x.local", "[x]\n" + "maxretry = 3\n" * 60_000, "larger"),
    ("jail.d/x.local", "[../../x]\nenabled = true\n", "not a jail name"),
    ("jail.d/x.local", "[x;id]\nenabled = true\n", "not a jail name"),
]  # fmt: skip


@pytest.mark.parametrize(("rel", "text", "words"), REFUSED)
def test_it_refuses_what_could_run_code_and_says_why(rel: str, text: str, words: str) -> None:
    with pytest.raises(PolicyRefused) as refused:
        _check(rel, text)
    assert words in str(refused.value)


def test_it_refuses_bytes_that_are_not_utf8() -> None:
    with pytest.raises(PolicyRefused, match="UTF-8"):
        check_write("jail.d/x.local", b"[x]\nport = \xff\n", config_dir=ETC)


def test_an_action_with_a_python_twin_is_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "action.d").mkdir()
    (tmp_path / "action.d" / "smart.conf").write_text("[Definition]\n")
    (tmp_path / "action.d" / "smart.py").write_text("import os\n")
    with pytest.raises(PolicyRefused, match="no action"):
        check_write("jail.d/x.local", b"[x]\naction = smart\n", config_dir=tmp_path)


def test_settings_root_wrote_before_are_kept_when_another_key_changes() -> None:
    before = b"[sshd]\ndestemail = root@x\naction = %(action_mwl)s\nmaxretry = 3\n"
    after = b"[sshd]\ndestemail = root@x\naction = %(action_mwl)s\nmaxretry = 5\n"
    check_write("jail.d/sshd.local", after, config_dir=ETC, previous=before)
    with pytest.raises(PolicyRefused, match="destemail"):  # a new value is checked
        check_write(
            "jail.d/sshd.local", after.replace(b"root@x", b"a@b"), config_dir=ETC, previous=before
        )
    with pytest.raises(PolicyRefused, match="runs a command"):  # so is a new key
        check_write(
            "jail.d/sshd.local", after + b"ignorecommand = id\n", config_dir=ETC, previous=before
        )
