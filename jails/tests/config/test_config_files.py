"""The raw config file editor against a real fail2ban with its own config dir.

Every failure case checks the same three things: a clear message, the files
byte for byte as before, and every jail still running.
"""

from __future__ import annotations

import hashlib
import subprocess
import threading
from pathlib import Path

import pytest

from jails.config.files.forms import CREATED_HEADER
from jails.models import ConfigChange

JAILS = ["alpha", "beta", "sshd"]


def _files(conf: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(conf)): p.read_bytes()
        for p in conf.rglob("*")
        if p.is_file() and not p.is_symlink()
    }


def _sha(data: bytes | None) -> str:
    return "" if data is None else hashlib.sha256(data).hexdigest()


def _new(client, subdir: str, name: str, content: str, sha: str = ""):  # type: ignore[no-untyped-def]
    return client.post(
        "/config/files/new/",
        {"subdir": subdir, "name": name, "content": content, "opened_sha": sha},
    )


def _unchanged(f2b, before: dict[str, bytes]) -> None:  # type: ignore[no-untyped-def]
    assert _files(f2b.conf_dir) == before
    assert sorted(f2b.client().jails()) == JAILS


# -- listing and viewing ---------------------------------------------------------


def test_it_lists_files_with_kind_and_override_badges(config_admin_client, f2b_private):
    (f2b_private.conf_dir / "filter.d" / "sshd.local").write_text("[Definition]\n")
    body = config_admin_client.get("/config/files/?dir=filter.d").content.decode()
    assert 'href="/config/files/filter.d/sshd.conf/"' in body
    assert "overridden by .local" in body
    assert "overrides .conf" in body


def test_it_shows_a_distribution_conf_read_only_with_an_override_button(config_admin_client):
    body = config_admin_client.get("/config/files/filter.d/sshd.conf/").content.decode()
    assert "[Definition]" in body
    assert "Create override (.local)" in body
    assert "/config/files/filter.d/sshd.conf/edit/" not in body
    response = config_admin_client.get("/config/files/filter.d/sshd.conf/edit/")
    assert response.status_code == 302


def test_the_override_editor_is_prefilled_with_the_section_headers(config_admin_client):
    body = config_admin_client.get(
        "/config/files/new/?subdir=filter.d&name=sshd.local"
    ).content.decode()
    assert "[Definition]\n" in body
    assert "failregex" not in body.split('name="content"')[1].split("</textarea>")[0]


@pytest.mark.parametrize(
    "url",
    [
        "/config/files/",
        "/config/files/?dir=action.d",
        "/config/files/new/",
        "/config/files/filter.d/sshd.conf/",
        "/config/regex/",
    ],
)
def test_every_page_renders_when_fail2ban_is_down(config_admin_client, f2b_private, url):
    f2b_private.stop()
    assert config_admin_client.get(url).status_code == 200


# -- creating and editing --------------------------------------------------------


def test_it_creates_a_local_that_fail2ban_applies(config_admin_client, f2b_private):
    response = _new(config_admin_client, "jail.d", "zz-test.local", "[alpha]\r\nmaxretry = 9\r\n")
    assert response.status_code == 302
    assert response["Location"] == "/config/files/jail.d/zz-test.local/"
    assert (f2b_private.conf_dir / "jail.d" / "zz-test.local").read_bytes() == (
        b"[alpha]\nmaxretry = 9\n"
    )
    assert f2b_private.cli("get", "alpha", "maxretry").strip() == "9"
    assert ConfigChange.objects.get().what == "create jail.d/zz-test.local"


def test_a_new_conf_gets_the_bangui_header_and_stays_editable(config_admin_client, f2b_private):
    response = _new(config_admin_client, "filter.d", "mine.conf", "[Definition]\nfailregex =\n")
    assert response.status_code == 302
    data = (f2b_private.conf_dir / "filter.d" / "mine.conf").read_bytes()
    assert data.startswith(CREATED_HEADER.encode() + b"\n")
    assert config_admin_client.get("/config/files/filter.d/mine.conf/edit/").status_code == 200


def test_it_edits_a_local_and_reloads(config_admin_client, f2b_private):
    path = f2b_private.conf_dir / "jail.d" / "alpha.local"
    path.write_bytes(b"[alpha]\nmaxretry = 4\n")
    f2b_private.reload()
    body = config_admin_client.get("/config/files/jail.d/alpha.local/edit/").content.decode()
    assert _sha(path.read_bytes()) in body
    response = config_admin_client.post(
        "/config/files/jail.d/alpha.local/edit/",
        {"content": "[alpha]\nmaxretry = 7\n", "opened_sha": _sha(path.read_bytes())},
    )
    assert response.status_code == 302
    assert f2b_private.cli("get", "alpha", "maxretry").strip() == "7"


def test_it_refuses_to_save_over_an_edit_made_meanwhile(config_admin_client, f2b_private):
    path = f2b_private.conf_dir / "jail.d" / "alpha.local"
    path.write_bytes(b"[alpha]\nmaxretry = 4\n")
    opened = _sha(path.read_bytes())
    path.write_bytes(b"[alpha]\nmaxretry = 5\n")  # someone else, with vi
    response = config_admin_client.post(
        "/config/files/jail.d/alpha.local/edit/",
        {"content": "[alpha]\nmaxretry = 6\n", "opened_sha": opened},
    )
    body = response.content.decode()
    assert "Edited outside BanGUI since you opened it" in body
    assert "maxretry = 6" in body and "maxretry = 5" in body  # both shown
    assert path.read_bytes() == b"[alpha]\nmaxretry = 5\n"
    assert _sha(path.read_bytes()) in body  # a second save replaces it on purpose


def test_a_distribution_conf_cannot_be_overwritten_through_new(config_admin_client, f2b_private):
    before = _files(f2b_private.conf_dir)
    sha = _sha(before["filter.d/sshd.conf"])
    response = _new(config_admin_client, "filter.d", "sshd.conf", "[Definition]\n", sha)
    assert "is a distribution file" in response.content.decode()
    _unchanged(f2b_private, before)
    response = config_admin_client.post(
        "/config/files/filter.d/sshd.conf/edit/", {"content": "x", "opened_sha": sha}
    )
    assert response.status_code == 302
    _unchanged(f2b_private, before)


# -- bad content: fail2ban rejects, nothing changes ----------------------------------


@pytest.mark.parametrize(
    "content",
    [
        "this is not ini\n",
        "[alpha]\nfilter = no-such-filter\n",
        "[alpha]\nbantime = __import__('os')\n",
    ],
    ids=["syntax", "unknown-filter", "bantime-eval"],
)
def test_a_broken_file_is_refused_and_rolled_back(config_admin_client, f2b_private, content):
    before = _files(f2b_private.conf_dir)
    response = _new(config_admin_client, "jail.d", "broken.local", content)
    body = response.content.decode()
    assert response.status_code == 200
    assert "Not applied" in body and "Failed at step" in body
    # Refused by fail2ban's check, or rolled back after its reload failed.
    assert "nothing was written" in body or "restored byte for byte" in body
    assert content.splitlines()[-1].replace("'", "&#x27;") in body  # the text is kept
    _unchanged(f2b_private, before)
    change = ConfigChange.objects.get()
    assert not change.ok


def test_fail2ban_errors_are_shown(config_admin_client, f2b_private):
    text = "[alpha]\nfilter = no-such-filter\n"
    body = _new(config_admin_client, "jail.d", "broken.local", text).content.decode()
    assert 'class="f2b-output"' in body
    assert "step <b>test</b>" in body


def test_a_file_that_is_not_ini_is_refused_as_unreadable_with_fail2bans_words(
    config_admin_client, f2b_private
):
    before = _files(f2b_private.conf_dir)
    body = _new(config_admin_client, "jail.d", "broken.local", "this is not ini\n")
    text = body.content.decode()
    assert "the file cannot be read" in text and "cannot be read as an INI file" in text
    assert "step <b>syntax</b>" in text and 'class="f2b-output"' in text
    assert "run a command as root" not in text
    _unchanged(f2b_private, before)


@pytest.mark.parametrize(
    ("subdir", "name", "text", "words"),
    [
        ("jail.d", "evil.local", '[alpha]\naction = dummy[actionban="touch /x"]\n', "parameters"),
        ("jail.d", "evil.local", "[alpha]\nignorecommand = touch /x\n", "runs a command"),
        ("filter.d", "evil.local", "[Definition]\nactionban = touch /x\n", "action options"),
    ],
)
def test_a_file_that_could_run_a_command_is_refused_with_the_reason(
    config_admin_client, f2b_private, subdir, name, text, words
):
    before = {p: p.read_bytes() for p in f2b_private.conf_dir.rglob("*") if p.is_file()}
    body = _new(config_admin_client, subdir, name, text).content.decode()
    assert "BanGUI does not write this" in body and words in body
    after = {p: p.read_bytes() for p in f2b_private.conf_dir.rglob("*") if p.is_file()}
    assert after == before


def test_action_files_are_shown_but_not_edited(config_admin_client, f2b_private):
    shown = config_admin_client.get("/config/files/action.d/dummy.conf/").content.decode()
    assert "edited on the server, not in BanGUI" in shown and "Edit</a>" not in shown
    response = config_admin_client.get("/config/files/action.d/dummy.conf/edit/")
    assert response.status_code == 302
    new = config_admin_client.get("/config/files/new/").content.decode()
    assert 'value="action.d"' not in new


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[alpha]\nmaxretry = 3\x00\n", "Null characters are not allowed"),
        ("[alpha]\n# \ufffd\n", "invalid UTF-8"),
        ("#" * (600 * 1024), "at most 512 KB"),
    ],
    ids=["nul", "bad-utf8", "600kb"],
)
def test_bad_content_is_refused_before_fail2ban(config_admin_client, f2b_private, content, message):
    before = _files(f2b_private.conf_dir)
    response = _new(config_admin_client, "jail.d", "bad.local", content)
    assert response.status_code == 200
    assert message in response.content.decode()
    _unchanged(f2b_private, before)
    assert not ConfigChange.objects.exists()


def test_invalid_utf8_bytes_in_the_request_are_refused(config_admin_client, f2b_private):
    before = _files(f2b_private.conf_dir)
    body = b"subdir=jail.d&name=x.local&opened_sha=&content=%5Balpha%5D%0A%ff%fe%0A"
    response = config_admin_client.post(
        "/config/files/new/", body, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200
    assert "invalid UTF-8" in response.content.decode()
    _unchanged(f2b_private, before)


# -- bad names and paths -------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["../../etc/passwd", "x.conf/", "/etc/passwd", "x.txt", "..local", ".hidden.local"]
)
def test_bad_names_are_refused(config_admin_client, f2b_private, name):
    before = _files(f2b_private.conf_dir)
    response = _new(config_admin_client, "jail.d", name, "[alpha]\n")
    assert response.status_code == 200
    assert 'class="error"' in response.content.decode()
    _unchanged(f2b_private, before)


def test_a_directory_outside_the_three_is_refused(config_admin_client, f2b_private):
    before = _files(f2b_private.conf_dir)
    response = _new(config_admin_client, "..", "jail.local", "[alpha]\n")
    assert "Select a valid choice" in response.content.decode()
    for url in ("/config/files/../jail.conf/", "/config/files/fail2ban.d/x.local/"):
        assert config_admin_client.get(url).status_code == 404
    _unchanged(f2b_private, before)


def test_a_symlink_out_of_the_dir_cannot_be_viewed_or_edited(config_admin_client, f2b_private):
    link = f2b_private.conf_dir / "jail.d" / "evil.local"
    link.symlink_to("/etc/passwd")
    try:
        listing = config_admin_client.get("/config/files/").content.decode()
        assert "evil.local" not in listing
        for url in ("/config/files/jail.d/evil.local/", "/config/files/jail.d/evil.local/edit/"):
            response = config_admin_client.get(url)
            assert response.status_code == 404
            assert "points outside" in response.content.decode()
            assert "root:" not in response.content.decode()
        response = config_admin_client.post(
            "/config/files/jail.d/evil.local/edit/", {"content": "x", "opened_sha": ""}
        )
        assert response.status_code == 404
        assert _new(config_admin_client, "jail.d", "evil.local", "[a]\n").status_code == 200
    finally:
        link.unlink()
    assert Path("/etc/passwd").read_bytes().startswith(b"root:")


# -- faults while applying ----------------------------------------------------------


def test_a_read_only_config_dir_gives_a_clear_message(config_admin_client, f2b_private):
    before = _files(f2b_private.conf_dir)
    jail_d = f2b_private.conf_dir / "jail.d"
    # As root chmod does not stop writes; the immutable attribute does.
    subprocess.run(["chattr", "+i", str(jail_d)], check=True)
    try:
        body = _new(config_admin_client, "jail.d", "ro.local", "[alpha]\nmaxretry = 8\n")
    finally:
        subprocess.run(["chattr", "-i", str(jail_d)], check=True)
    text = body.content.decode()
    assert "Operation not permitted" in text and "step <b>write</b>" in text
    _unchanged(f2b_private, before)


def test_fail2ban_down_while_applying_changes_nothing(config_admin_client, f2b_private):
    before = _files(f2b_private.conf_dir)
    f2b_private.stop()
    body = _new(config_admin_client, "jail.d", "down.local", "[alpha]\nmaxretry = 8\n")
    assert "fail2ban is not running; nothing changed." in body.content.decode()
    assert _files(f2b_private.conf_dir) == before


@pytest.mark.django_db(transaction=True)  # the threads use connections of their own
def test_two_admins_saving_at_once_lose_nothing(config_admin_client, f2b_private):
    from django.contrib.auth import get_user_model
    from django.test import Client

    user = get_user_model().objects.get(pk=config_admin_client.session["_auth_user_id"])
    results: dict[str, int] = {}

    # Both log in first, one after the other: what this test is about is the
    # two applies, not two logins.
    clients = {n: Client() for n in (1, 2)}
    for c in clients.values():
        c.force_login(user)

    def save(n: int) -> None:
        response = _new(clients[n], "jail.d", f"t{n}.local", f"[alpha]\nfindtime = {600 + n}\n")
        results[f"t{n}.local"] = response.status_code

    threads = [threading.Thread(target=save, args=(n,)) for n in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    changes = {c.what: c for c in ConfigChange.objects.all()}
    assert set(changes) == {"create jail.d/t1.local", "create jail.d/t2.local"}
    for n in (1, 2):
        path = f2b_private.conf_dir / "jail.d" / f"t{n}.local"
        change = changes[f"create jail.d/t{n}.local"]
        if change.ok:
            assert path.read_bytes() == f"[alpha]\nfindtime = {600 + n}\n".encode()
        else:  # the other one held the lock: a clear refusal, nothing written
            assert change.step == "lock" and not path.exists()
    assert any(c.ok for c in changes.values())
    assert sorted(f2b_private.client().jails()) == JAILS
    assert results == {"t1.local": results["t1.local"], "t2.local": results["t2.local"]}
    assert set(results.values()) <= {200, 302}  # a success redirect or the lock message


def test_every_post_needs_csrf(client, config_admin_client, f2b_private):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.cookies = config_admin_client.cookies
    response = strict.post("/config/files/new/", {"subdir": "jail.d", "name": "c.local"})
    assert response.status_code == 403
    assert strict.post("/config/regex/", {"failregex": "x <HOST>"}).status_code == 403
