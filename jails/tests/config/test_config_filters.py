"""The Filters and Actions tabs against a real fail2ban: list, view, create, edit, delete."""

from __future__ import annotations

import pytest

from bangui.demo.lab import Fail2banLab
from jails.audit.services import Actor
from jails.config.jails import services

JAILS = ["alpha", "beta", "sshd"]
GOOD = r"^\s*app: bad login from <HOST>\s*$"
# Compiles in Python with the tags as plain groups, but fail2ban expands each
# <HOST> into the same named groups, so the jail's reload fails.
TWO_HOSTS = r"^\s*app: <HOST> relayed by <HOST>\s*$"


def _files(lab: Fail2banLab) -> dict[str, bytes]:
    return {
        str(p.relative_to(lab.conf_dir)): p.read_bytes()
        for sub in ("jail.d", "filter.d")
        for p in sorted((lab.conf_dir / sub).rglob("*"))
        if p.is_file()
    }


def _create(client, name: str, failregex: str = GOOD, **extra: str):  # type: ignore[no-untyped-def]
    data = {"name": name, "failregex": failregex, "ignoreregex": "", "datepattern": ""}
    data.update(extra)
    return client.post("/config/filters/new/", data)


def test_it_lists_filters_with_the_jails_that_use_them(config_admin_client, f2b_private):
    body = config_admin_client.get("/config/filters/").content.decode()
    assert 'href="/config/filters/bangui-lab/"' in body
    row = body[body.index('href="/config/filters/bangui-lab/"') :].split("</tr>")[0]
    assert "alpha" in row and "beta" in row and "sshd" not in row
    assert 'href="/config/filters/apache-auth/"' in body  # a distribution filter, unused


def test_it_shows_a_filter_source_and_its_override(config_admin_client, f2b_private):
    (f2b_private.conf_dir / "filter.d" / "sshd.local").write_text(
        "[Definition]\nignoreregex = ^x <HOST>$\n"
    )
    body = config_admin_client.get("/config/filters/sshd/").content.decode()
    assert "filter.d/sshd.local" in body and "filter.d/sshd.conf" in body
    assert "^x &lt;HOST&gt;$" in body and "<pre" in body


def test_it_creates_a_filter_as_a_marked_conf(config_admin_client, f2b_private):
    response = _create(config_admin_client, "myapp", datepattern="{^LN-BEG}")
    assert response.status_code == 302, response.content.decode()[:2000]
    text = (f2b_private.conf_dir / "filter.d" / "myapp.conf").read_text()
    assert text.startswith("# Created by BanGUI")
    assert "failregex = " + GOOD in text and "datepattern = {^LN-BEG}" in text
    assert sorted(f2b_private.client().jails()) == JAILS


@pytest.mark.parametrize(
    ("name", "failregex", "message"),
    [
        ("../../etc/passwd", GOOD, "A filter name is"),
        ("x.conf/", GOOD, "A filter name is"),
        ("sshd", GOOD, "exists already"),
        ("new", "(unclosed <HOST>", "does not compile"),
        ("new", r"^no host here$", "has no &lt;HOST&gt;"),
        ("new", GOOD + "\n[Definition]", "has no &lt;HOST&gt;"),
        ("new", GOOD + "\n# comment <HOST>", "would be read as a comment"),
        ("new", "x <HOST> ; rm", "starts a comment"),
    ],
)
def test_it_rejects_a_bad_filter(config_admin_client, f2b_private, name, failregex, message):
    before = _files(f2b_private)
    response = _create(config_admin_client, name, failregex)
    assert response.status_code == 200
    assert message in response.content.decode().replace("&#x27;", "'")
    assert _files(f2b_private) == before


def test_it_assigns_a_filter_to_a_jail(config_admin_client, f2b_private):
    _create(config_admin_client, "myapp")
    response = config_admin_client.post("/config/filters/myapp/assign/", {"jail": "alpha"})
    assert response.status_code == 302
    local = (f2b_private.conf_dir / "jail.d" / "alpha.local").read_text()
    assert local == "[alpha]\nfilter = myapp\n"
    assert sorted(f2b_private.client().jails()) == JAILS
    body = config_admin_client.get("/config/filters/myapp/").content.decode()
    assert "In use, so it cannot be deleted" in body


def test_a_filter_fail2ban_would_refuse_is_not_applied(config_admin_client, f2b_private):
    # Two <HOST> groups pass fail2ban-client -t; the server refuses them. The throwaway
    # server finds it before the live one reloads anything.
    assert _create(config_admin_client, "relay", TWO_HOSTS).status_code == 302
    before = _files(f2b_private)
    response = config_admin_client.post("/config/filters/relay/assign/", {"jail": "alpha"})
    body = response.content.decode()
    assert response.status_code == 200
    assert "fail2ban rejected the change" in body and "Nothing was written" in body
    assert "fail2ban refuses jail alpha, addfailregex" in body
    assert _files(f2b_private) == before
    assert sorted(f2b_private.client().jails()) == JAILS
    assert f2b_private.cli("get", "alpha", "maxretry").strip() == "3"


def test_an_edit_that_breaks_a_used_filter_is_refused_before_the_reload(
    f2b_private, config_admin_client
):
    # The form refuses "(unclosed"; the service is the last line, fail2ban the judge.
    before = _files(f2b_private)
    applied = services.filter_save(
        actor=Actor.system("test"), name="bangui-lab", values={"failregex": "(unclosed <HOST>"}
    )
    assert applied is not None and not applied.ok
    assert applied.result.step == "test" and not applied.result.restored
    assert "Unable to compile regular expression" in applied.result.output
    assert _files(f2b_private) == before
    assert sorted(f2b_private.client().jails()) == JAILS


def test_editing_a_distribution_filter_writes_only_a_local(config_admin_client, f2b_private):
    conf = (f2b_private.conf_dir / "filter.d" / "sshd.conf").read_bytes()
    page = config_admin_client.get("/config/filters/sshd/").content.decode()
    assert "filter.d/sshd.local" in page  # where a save goes
    data = {"failregex": "<cmnfailre>", "ignoreregex": r"^x from 192\.0\.2\.1$", "datepattern": ""}
    response = config_admin_client.post("/config/filters/sshd/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert (f2b_private.conf_dir / "filter.d" / "sshd.conf").read_bytes() == conf
    local = (f2b_private.conf_dir / "filter.d" / "sshd.local").read_text()
    assert "ignoreregex = ^x from 192" in local
    assert sorted(f2b_private.client().jails()) == JAILS


def test_editing_a_created_filter_rewrites_its_conf(config_admin_client, f2b_private):
    _create(config_admin_client, "myapp")
    data = {"failregex": GOOD + "\n^\\s*app: denied <HOST>$", "ignoreregex": "", "datepattern": ""}
    assert config_admin_client.post("/config/filters/myapp/", data).status_code == 302
    text = (f2b_private.conf_dir / "filter.d" / "myapp.conf").read_text()
    assert text.startswith("# Created by BanGUI") and "app: denied <HOST>" in text
    assert not (f2b_private.conf_dir / "filter.d" / "myapp.local").exists()


def test_it_deletes_unused_filters_but_never_distribution_ones(config_admin_client, f2b_private):
    _create(config_admin_client, "myapp")
    assert config_admin_client.post("/config/filters/myapp/delete/").status_code == 302
    assert not (f2b_private.conf_dir / "filter.d" / "myapp.conf").exists()
    before = _files(f2b_private)
    for name in ("apache-auth", "bangui-lab"):  # distribution; in use
        response = config_admin_client.post(f"/config/filters/{name}/delete/", follow=True)
        assert "not deleted" in response.content.decode() or "never deletes" in (
            response.content.decode()
        )
    assert _files(f2b_private) == before


def test_the_actions_tab_lists_and_shows_actions(config_admin_client, f2b_private):
    body = config_admin_client.get("/config/actions/").content.decode()
    assert 'href="/config/actions/iptables-multiport/"' in body
    assert (
        "Creating or editing actions is not" in body
    )  # creating actions is out of scope, said on the page
    body = config_admin_client.get("/config/actions/iptables-multiport/").content.decode()
    assert "type = multiport" in body and "<pre" in body


def test_fail2bans_test_error_is_shown_and_nothing_is_written(config_admin_client, f2b_private):
    before = _files(f2b_private)
    data = {"failregex": r"^%(no_such_key)s from <HOST>$", "ignoreregex": "", "datepattern": ""}
    response = config_admin_client.post("/config/filters/bangui-lab/", data)
    body = response.content.decode()
    assert response.status_code == 200
    assert "fail2ban rejected the change" in body and "no_such_key" in body
    assert _files(f2b_private) == before
    assert sorted(f2b_private.client().jails()) == JAILS
