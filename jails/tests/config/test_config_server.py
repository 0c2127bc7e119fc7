"""Server settings tab against a real fail2ban: apply, refuse bad input, survive fail2ban down."""

from __future__ import annotations

from pathlib import Path

import pytest

from bangui.demo.lab import Fail2banLab
from jails.models import ConfigChange

URL = "/config/server/"


def _local(lab: Fail2banLab) -> Path:
    return lab.conf_dir / "fail2ban.local"


def _snapshot(lab: Fail2banLab) -> bytes | None:
    path = _local(lab)
    return path.read_bytes() if path.exists() else None


def _form(lab: Fail2banLab, **values: str) -> dict[str, str]:
    data = {
        "loglevel": "INFO",
        "logtarget": lab.server_log,
        "dbpurgeage": "1d",
        "dbmaxmatches": "10",
    }
    data.update(values)
    return data


def test_reload_rereads_server_options_from_fail2ban_local(f2b_private):
    # The measurement the apply path relies on (fail2ban 1.0.2): no socket "set" is needed.
    other = f2b_private.run_dir / "reload-check.log"
    _local(f2b_private).write_text(
        f"[Definition]\nloglevel = DEBUG\nlogtarget = {other}\ndbpurgeage = 2d\ndbmaxmatches = 5\n"
    )
    f2b_private.reload()
    client = f2b_private.client()
    assert client.get_server("loglevel") == "DEBUG"
    assert client.get_server("logtarget") == str(other)
    assert client.get_server("dbpurgeage") == 172800
    assert client.get_server("dbmaxmatches") == 5


def test_it_shows_what_fail2ban_reports_and_what_the_files_say(config_admin_client, f2b_private):
    body = config_admin_client.get(URL).content.decode()
    assert 'aria-current="page">Server</a>' in body
    assert f2b_private.server_log in body
    assert "fail2ban reports" in body and "Config files say" in body
    assert 'value="INFO" selected' in body
    assert "fail2ban is offline" not in body


def test_it_applies_settings_through_fail2ban_local_and_keeps_other_lines(
    config_admin_client, f2b_private
):
    _local(f2b_private).write_text("# mine, keep me\n[Definition]\nallowipv6 = auto\n")
    new_log = f2b_private.run_dir / "bangui-test.log"
    data = _form(
        f2b_private, loglevel="DEBUG", logtarget=str(new_log), dbpurgeage="2d", dbmaxmatches="5"
    )
    response = config_admin_client.post(URL, data, follow=True)
    body = response.content.decode()
    assert "Applied: loglevel = DEBUG" in body
    assert "'DEBUG'" in f2b_private.cli("get", "loglevel")
    client = f2b_private.client()
    assert client.get_server("logtarget") == str(new_log)
    assert client.get_server("dbpurgeage") == 172800
    assert client.get_server("dbmaxmatches") == 5
    assert _local(f2b_private).read_text() == (
        "# mine, keep me\n[Definition]\nallowipv6 = auto\nloglevel = DEBUG\n"
        f"logtarget = {new_log}\ndbpurgeage = 2d\ndbmaxmatches = 5\n"
    )
    change = ConfigChange.objects.get()
    assert change.ok and change.files == ["fail2ban.local"] and change.reload_jail == ""


def test_it_writes_only_the_keys_that_changed(config_admin_client, f2b_private):
    assert not _local(f2b_private).exists()
    config_admin_client.post(URL, _form(f2b_private, dbpurgeage="86400", dbmaxmatches="20"))
    text = _local(f2b_private).read_text()
    assert "dbmaxmatches = 20" in text
    assert "loglevel" not in text and "dbpurgeage" not in text and "logtarget" not in text
    assert f2b_private.client().get_server("dbmaxmatches") == 20


def test_submitting_the_same_values_changes_nothing(config_admin_client, f2b_private):
    response = config_admin_client.post(URL, _form(f2b_private), follow=True)
    assert "Nothing to change" in response.content.decode()
    assert not _local(f2b_private).exists()
    assert ConfigChange.objects.count() == 0


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("loglevel", "BOGUS", "Select a valid choice"),
        ("loglevel", "INFO\n[Definition]", "Select a valid choice"),
        ("logtarget", "/nonexistent/dir/x.log", "The directory /nonexistent/dir does not exist."),
        ("logtarget", "SYSLOG[format=%(message)s]", "without options"),
        ("logtarget", "/etc/shadow", "A log file goes in a log directory"),
        ("logtarget", "/etc/passwd", "A log file goes in a log directory"),
        ("logtarget", "/root/.bashrc", "A log file goes in a log directory"),
        ("logtarget", "relative.log", "or an absolute path"),
        ("logtarget", "/tmp/x.log\ndbfile = /tmp/evil", "must be one line"),
        ("logtarget", "/tmp/../etc/x.log", "Write the path plainly"),
        ("logtarget", "/var/log", "A log file goes in a log directory"),
        ("dbpurgeage", "__import__('os')", "Use a whole number of seconds"),
        ("dbpurgeage", "1d; rm", "Use a whole number of seconds"),
        ("dbpurgeage", "1d\n[Definition]", "Use a whole number of seconds"),
        ("dbpurgeage", "1d 12h", "Use a whole number of seconds"),
        ("dbpurgeage", "0", "at least one minute"),
        ("dbmaxmatches", "-1", "greater than or equal to 0"),
        ("dbmaxmatches", "abc", "Enter a whole number"),
        ("dbmaxmatches", "1001", "less than or equal to 1000"),
    ],
)
def test_bad_input_is_refused_next_to_the_field_and_changes_nothing(
    config_admin_client, f2b_private, field, value, message
):
    before = _snapshot(f2b_private)
    # Another field changes too: nothing at all may be applied when one is bad.
    data = _form(f2b_private, dbmaxmatches="7") | {field: value}
    response = config_admin_client.post(URL, data)
    assert response.status_code == 400
    body = response.content.decode()
    assert f'id="id_{field}-error"' in body
    assert message in body.replace("&quot;", '"').replace("&#x27;", "'")
    assert _snapshot(f2b_private) == before
    assert "'INFO'" in f2b_private.cli("get", "loglevel")
    assert ConfigChange.objects.count() == 0


def test_an_existing_file_that_is_not_a_fail2ban_log_is_refused(config_admin_client, f2b_private):
    # A decoy "shadow" next to fail2ban's own log: fail2ban would append to it as root.
    decoy = f2b_private.run_dir / "shadow"
    decoy.write_text("root:$6$hash:19000:0:99999:7:::\n")
    before = _snapshot(f2b_private)
    response = config_admin_client.post(URL, _form(f2b_private, logtarget=str(decoy)))
    assert response.status_code == 400
    assert "is not a fail2ban log" in response.content.decode()
    assert _snapshot(f2b_private) == before
    assert decoy.read_text() == "root:$6$hash:19000:0:99999:7:::\n"
    link = f2b_private.run_dir / "link.log"
    link.symlink_to("/etc/passwd")
    response = config_admin_client.post(URL, _form(f2b_private, logtarget=str(link)))
    assert "is a link" in response.content.decode()


def test_a_plain_special_target_can_be_chosen(config_admin_client, f2b_private):
    response = config_admin_client.post(URL, _form(f2b_private, logtarget="stderr"), follow=True)
    assert "Applied: logtarget = STDERR" in response.content.decode()
    assert f2b_private.client().get_server("logtarget") == "STDERR"


@pytest.mark.skipif(Path("/dev/log").exists(), reason="this host has a syslog socket")
def test_syslog_without_a_syslog_is_refused_before_the_reload(config_admin_client, f2b_private):
    # fail2ban fails "set logtarget SYSLOG" here, and a full reload that fails at a server
    # setting leaves it without jails: the throwaway server finds it first.
    f2b_private.client().ban("alpha", ["203.0.113.5"])
    before = _snapshot(f2b_private)
    response = config_admin_client.post(URL, _form(f2b_private, logtarget="SYSLOG"))
    body = response.content.decode()
    assert "fail2ban refuses logtarget = &#x27;SYSLOG&#x27;" in body, body[-3000:]
    assert _snapshot(f2b_private) == before
    assert f2b_private.client().banned_ips("alpha") == ["203.0.113.5"]


def test_short_purge_age_shows_the_history_warning(config_admin_client, f2b_private):
    body = config_admin_client.get(URL).content.decode()
    assert "fail2ban forgets bans after" not in body  # 1d with a sync every minute is fine
    config_admin_client.post(URL, _form(f2b_private, dbpurgeage="2h"))
    body = config_admin_client.get(URL).content.decode()
    assert "fail2ban forgets bans after 2h" in body
    assert "the bans of that time are lost for good" in body


def test_fail2ban_down_pages_render_and_apply_changes_nothing(config_admin_client, f2b_private):
    f2b_private.stop()
    for url in (URL, "/config/log/", "/"):
        response = config_admin_client.get(url)
        assert response.status_code == 200, url
        assert "unreachable" in response.content.decode()
    body = config_admin_client.get(URL).content.decode()
    assert "fail2ban is offline" in body
    assert f2b_private.server_log in body  # from fail2ban.conf
    response = config_admin_client.post(URL, _form(f2b_private, loglevel="DEBUG"))
    assert response.status_code == 400
    assert "fail2ban is not running, so nothing was changed." in response.content.decode()
    assert not _local(f2b_private).exists()
    assert ConfigChange.objects.count() == 0


def test_a_non_file_target_is_shown_read_only(config_admin_client, f2b_private, monkeypatch):
    from bangui.fail2ban import Fail2banClient

    real = Fail2banClient.get_server
    monkeypatch.setattr(
        Fail2banClient,
        "get_server",
        lambda self, name: "SYSTEMD-JOURNAL" if name == "logtarget" else real(self, name),
    )
    body = config_admin_client.get(URL).content.decode()
    assert "fail2ban logs to <code>SYSTEMD-JOURNAL</code>, which BanGUI does not change" in body


def test_it_needs_a_login(client, db):
    assert client.get(URL).status_code == 302
