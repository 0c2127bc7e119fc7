"""The regex tester: the real fail2ban-regex, pasted lines or a log file in the allowlist."""

from __future__ import annotations

from pathlib import Path

import pytest

LINES = (
    "Nov 25 10:00:00 lab: auth failure from 192.0.2.1\n"
    "Nov 25 10:00:01 something else entirely\n"
    "Nov 25 10:00:02 lab: auth failure from 10.1.1.1\n"
)
FAILREGEX = r"^\s*lab: auth failure from <HOST>$"


def _post(client, **fields):  # type: ignore[no-untyped-def]
    data = {"source": "paste", "failregex": "", "ignoreregex": "", "lines": "", "tail": "500"}
    data.update(fields)
    return client.post("/config/regex/", data)


def _files(conf: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in conf.rglob("*") if p.is_file()}


def test_it_shows_matched_and_missed_lines_with_the_host_marked(config_admin_client):
    body = _post(config_admin_client, failregex=FAILREGEX, lines=LINES).content.decode()
    assert "lab: auth failure from <mark>192.0.2.1</mark>" in body
    assert "from <mark>10.1.1.1</mark>" in body
    assert "something else entirely" in body
    assert '<dd class="count-matched">2</dd>' in body


def test_ignoreregex_and_several_failregex_lines(config_admin_client):
    body = _post(
        config_admin_client,
        failregex=FAILREGEX + "\n" + r"^\s*login denied for <HOST>$",
        ignoreregex=r"from 10\.",
        lines=LINES + "login denied for 192.0.2.5\n",
    ).content.decode()
    assert "<mark>192.0.2.1</mark>" in body and "<mark>192.0.2.5</mark>" in body
    assert "<h3>Ignored</h3>" in body and "from 10.1.1.1" in body


def test_a_regex_without_a_host_is_explained(config_admin_client):
    body = _post(
        config_admin_client, failregex=FAILREGEX + "\n" + r"^\s*something.*$", lines=LINES
    ).content.decode()
    assert "No failure-id group" in body


def test_a_percent_sign_is_matched_literally(config_admin_client):
    body = _post(
        config_admin_client,
        failregex=r"^\s*load 100% from <HOST>$",
        lines="load 100% from 192.0.2.7\n",
    ).content.decode()
    assert "<mark>192.0.2.7</mark>" in body


def test_the_host_is_escaped_not_trusted(config_admin_client):
    body = _post(
        config_admin_client,
        failregex=r"^\s*<script>x</script> from <HOST>$",
        lines="<script>x</script> from 192.0.2.8\n",
    ).content.decode()
    assert "&lt;script&gt;x&lt;/script&gt; from <mark>192.0.2.8</mark>" in body


def test_a_whole_filter_from_filter_d(config_admin_client, f2b_private):
    body = _post(
        config_admin_client, filter="bangui-lab.conf", lines="lab: auth failure from 192.0.2.9\n"
    ).content.decode()
    assert "<mark>192.0.2.9</mark>" in body


def test_it_returns_only_the_tester_for_htmx(config_admin_client):
    response = config_admin_client.post(
        "/config/regex/",
        {"source": "paste", "failregex": FAILREGEX, "lines": LINES, "tail": "500"},
        HTTP_HX_REQUEST="true",
    )
    body = response.content.decode()
    assert 'id="regex-tester"' in body
    assert "<html" not in body and "<mark>192.0.2.1</mark>" in body


def test_a_regex_that_does_not_compile_is_explained_next_to_the_field(config_admin_client):
    body = _post(config_admin_client, failregex=r"^(foo <HOST>", lines=LINES).content.decode()
    assert "Unable to compile regular expression" in body
    assert "missing ), unterminated subpattern" in body


def test_a_catastrophic_regex_is_stopped_at_the_timeout(config_admin_client, settings):
    settings.BANGUI_REGEX_TIMEOUT = 2
    body = _post(
        config_admin_client, failregex=r"^\s*(a+)+b <HOST>", lines="a" * 40 + " 192.0.2.1\n"
    ).content.decode()
    assert "did not finish within 2 s and was stopped" in body


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"failregex": "", "lines": LINES}, "Type a failregex or choose a filter."),
        ({"failregex": FAILREGEX, "lines": ""}, "Paste the log lines to test."),
        ({"failregex": FAILREGEX, "filter": "sshd.conf", "lines": LINES}, "not both"),
        ({"failregex": r"a ; <HOST>", "lines": LINES}, "starts a comment"),
        ({"failregex": FAILREGEX, "lines": "x\n" * 5001}, "At most 5000 lines"),
        ({"failregex": FAILREGEX, "lines": "x\x00\n"}, "Null characters are not allowed"),
        ({"failregex": FAILREGEX, "lines": LINES, "datepattern": "a\nb"}, "one line"),
        ({"failregex": FAILREGEX, "lines": LINES, "filter": "../../etc/passwd"}, "valid choice"),
    ],
)
def test_bad_input_gets_a_message_not_an_error(config_admin_client, fields, message):
    response = _post(config_admin_client, **fields)
    assert response.status_code == 200
    assert message in response.content.decode()


def test_it_tests_the_end_of_a_jail_log(config_admin_client, f2b_private):
    log = f2b_private.log_path("alpha")
    log.write_text("".join(f"lab: auth failure from 192.0.2.{n}\n" for n in range(1, 30)))
    body = _post(
        config_admin_client, source="file", failregex=FAILREGEX, log_path=str(log), tail="5"
    ).content.decode()
    assert "<mark>192.0.2.29</mark>" in body
    assert "192.0.2.24<" not in body  # only the last 5 lines
    assert '<dd class="count-matched">5</dd>' in body


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/etc/shadow", "not under an allowed log directory"),
        ("/var/log/../../etc/shadow", "not under an allowed log directory"),
        ("/var/log", "not under an allowed log directory"),
        ("", "Give the path of a log file."),
    ],
)
def test_log_paths_outside_the_allowlist_are_refused(config_admin_client, path, message):
    body = _post(
        config_admin_client, source="file", failregex=FAILREGEX, log_path=path
    ).content.decode()
    assert message in body
    assert "root:" not in body


def test_a_symlink_out_of_the_allowlist_is_refused(config_admin_client, f2b_private):
    link = f2b_private.log_path("alpha").parent / "sneaky.log"
    link.symlink_to("/etc/passwd")
    try:
        body = _post(
            config_admin_client, source="file", failregex=r"^root<HOST>", log_path=str(link)
        ).content.decode()
    finally:
        link.unlink()
    assert "not under an allowed log directory" in body
    assert "/bin/bash" not in body


def test_a_directory_is_refused(config_admin_client, f2b_private):
    folder = f2b_private.log_path("alpha").parent / "sub"
    folder.mkdir()
    try:
        body = _post(
            config_admin_client, source="file", failregex=FAILREGEX, log_path=str(folder)
        ).content.decode()
    finally:
        folder.rmdir()
    assert "is not a regular file" in body


def test_nothing_is_written_to_the_config(config_admin_client, f2b_private):
    before = _files(f2b_private.conf_dir)
    _post(config_admin_client, failregex=FAILREGEX, lines=LINES)
    _post(config_admin_client, filter="sshd.conf", lines=LINES)
    assert _files(f2b_private.conf_dir) == before


def test_the_tester_works_when_fail2ban_is_down(config_admin_client, f2b_private):
    f2b_private.stop()
    body = _post(config_admin_client, failregex=FAILREGEX, lines=LINES).content.decode()
    assert "<mark>192.0.2.1</mark>" in body
