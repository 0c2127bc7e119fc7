"""The Jails configuration tab against a real fail2ban: read, edit, activate, faults."""

from __future__ import annotations

from pathlib import Path

import pytest

from bangui.demo.lab import Fail2banLab

JAILS = ["alpha", "beta", "sshd"]


def _files(lab: Fail2banLab) -> dict[str, bytes]:
    """Every byte of jail.d and filter.d: what must not change on a refused edit."""
    return {
        str(p.relative_to(lab.conf_dir)): p.read_bytes()
        for sub in ("jail.d", "filter.d")
        for p in sorted((lab.conf_dir / sub).rglob("*"))
        if p.is_file()
    }


def _form(lab: Fail2banLab, **changes: str) -> dict[str, str]:
    """alpha's edit form as the page fills it in, with ``changes``."""
    data = {
        "bantime": "600",
        "findtime": "600",
        "maxretry": "3",
        "logpath": str(lab.log_path("alpha")),
        "backend": "auto",
        "filter": "bangui-lab",
        "ignoreip": "127.0.0.1/8 ::1",
    }
    data.update(changes)
    return data


def _dormant(lab: Fail2banLab, **options: str) -> Path:
    """An inactive jail defined in a .conf (the fixture removes it afterwards)."""
    opts = {"enabled": "false", "filter": "bangui-lab", "logpath": str(lab.log_path("alpha"))}
    opts.update(options)
    path = lab.conf_dir / "jail.d" / "dormant.conf"
    path.write_text("[dormant]\n" + "".join(f"{k} = {v}\n" for k, v in opts.items()))
    return path


def test_it_lists_every_configured_jail_with_effective_settings(config_admin_client, f2b_private):
    _dormant(f2b_private)
    body = config_admin_client.get("/config/jails/").content.decode()
    for name in [*JAILS, "dormant"]:
        assert f'href="/config/jails/{name}/"' in body
    assert "inactive" in body and "running" in body
    assert "bangui-lab" in body and str(f2b_private.log_path("beta")) in body
    assert "3600" in body  # beta's bantime
    assert "bantime.factor = 2" in body  # sshd's increment family


def test_the_edit_page_shows_the_form_with_current_values(config_admin_client, f2b_private):
    body = config_admin_client.get("/config/jails/sshd/").content.decode()
    assert 'name="bantime" value="600"' in body
    assert 'name="increment"' in body and "checked" in body
    assert 'value="1w"' in body  # bantime.maxtime
    assert "csrfmiddlewaretoken" in body


def test_it_saves_maxretry_to_the_local_file_and_reloads(config_admin_client, f2b_private):
    before = _files(f2b_private)
    response = config_admin_client.post("/config/jails/alpha/", _form(f2b_private, maxretry="7"))
    assert response.status_code == 302
    assert f2b_private.cli("get", "alpha", "maxretry").strip() == "7"
    after = _files(f2b_private)
    changed = {k for k in after.keys() | before.keys() if after.get(k) != before.get(k)}
    assert changed == {"jail.d/alpha.local"}
    assert after["jail.d/alpha.local"] == b"[alpha]\nmaxretry = 7\n"
    page = config_admin_client.get(response["Location"]).content.decode()
    assert "Saved to jail.d/alpha.local" in page and 'name="maxretry" value="7"' in page


def test_it_keeps_comments_and_other_keys_of_the_local_file(config_admin_client, f2b_private):
    local = f2b_private.conf_dir / "jail.d" / "alpha.local"
    local.write_text("# mine\n[alpha]\n# why 9\nfindtime = 9m\n")
    f2b_private.reload()
    config_admin_client.post(
        "/config/jails/alpha/", _form(f2b_private, findtime="9m", bantime="1h")
    )
    assert local.read_text() == "# mine\n[alpha]\n# why 9\nfindtime = 9m\nbantime = 1h\n"
    assert f2b_private.cli("get", "alpha", "bantime").strip() == "3600"


def test_it_accepts_textarea_lines_sent_as_crlf(config_admin_client, f2b_private):
    form = _form(f2b_private, ignoreip="127.0.0.1/8\r\n::1\r\n192.0.2.5")
    assert config_admin_client.post("/config/jails/alpha/", form).status_code == 302
    local = (f2b_private.conf_dir / "jail.d" / "alpha.local").read_bytes()
    assert local == b"[alpha]\nignoreip = 127.0.0.1/8 ::1 192.0.2.5\n"


def test_an_unchanged_form_writes_nothing(config_admin_client, f2b_private):
    before = _files(f2b_private)
    response = config_admin_client.post("/config/jails/alpha/", _form(f2b_private, bantime="10m"))
    assert response.status_code == 302
    assert _files(f2b_private) == before


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("bantime", "__import__('os')", "is not a duration"),
        ("bantime", "1h; rm", "is not a duration"),
        ("bantime", "600\n[sshd]\nenabled = false", "single line"),
        ("findtime", "1h\nbantime = 1", "single line"),
        ("maxretry", "0", "from 1 to 1000"),
        ("maxretry", "3\n[beta]", "single line"),
        ("filter", "nope-no-such-filter", "Select a valid choice"),
        ("filter", "bangui-lab\n[beta]", "Select a valid choice"),
        ("backend", "systemd[x]", "Select a valid choice"),
        ("logpath", "/nonexistent/app.log", "does not exist"),
        ("logpath", "/nonexistent/*.log", "No file matches"),
        ("logpath", "relative.log", "absolute path"),
        ("ignoreip", "example.com", "is a host name"),
        ("ignoreip", "10.0.0.0/4", "too wide"),
        ("ignoreip", "1.2.3.4\n[sshd]", "not an IP address"),
        ("factor", "2**99", "plain number"),
        ("maxtime", "1w; x", "is not a duration"),
    ],
)
def test_it_rejects_bad_input_next_to_the_field(
    config_admin_client, f2b_private, field, value, message
):
    before = _files(f2b_private)
    response = config_admin_client.post(
        "/config/jails/alpha/", _form(f2b_private, **{field: value})
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert message in body.replace("&#x27;", "'")
    assert 'class="field has-error' in body
    assert _files(f2b_private) == before
    assert sorted(f2b_private.client().jails()) == JAILS


def test_it_shows_fail2ban_down_and_keeps_the_files(config_admin_client, f2b_private):
    before = _files(f2b_private)
    f2b_private.stop()
    response = config_admin_client.post("/config/jails/alpha/", _form(f2b_private, maxretry="9"))
    assert response.status_code == 200
    assert "fail2ban is not running; nothing changed." in response.content.decode()
    assert _files(f2b_private) == before


def test_every_page_renders_while_fail2ban_is_down(config_admin_client, f2b_private):
    f2b_private.stop()
    body = config_admin_client.get("/config/jails/").content.decode()
    assert "fail2ban is offline" in body and 'href="/config/jails/alpha/"' in body
    for url in ("/config/jails/alpha/", "/config/filters/", "/config/filters/sshd/",
                "/config/actions/", "/config/actions/dummy/", "/config/filters/new/"):  # fmt: skip
        assert config_admin_client.get(url).status_code == 200, url


def test_unknown_names_are_404_not_500(config_admin_client, f2b_private):
    for url in ("/config/jails/nope/", "/config/jails/..%2Fetc/", "/config/filters/nope/",
                "/config/filters/..%2F..%2Fetc%2Fpasswd/", "/config/actions/x.conf/"):  # fmt: skip
        assert config_admin_client.get(url).status_code == 404, url
    assert config_admin_client.post("/config/jails/nope/activate/").status_code == 404


def test_posts_need_a_csrf_token(f2b_private, config_admin_client):
    config_admin_client.handler.enforce_csrf_checks = True
    response = config_admin_client.post("/config/jails/alpha/", _form(f2b_private, maxretry="7"))
    assert response.status_code == 403


def test_it_persists_the_runtime_ignore_list(config_admin_client, f2b_private):
    f2b_private.client().add_ignore("alpha", ["192.0.2.77"])
    response = config_admin_client.post("/config/jails/alpha/persist-ignore/")
    assert response.status_code == 302
    text = (f2b_private.conf_dir / "jail.d" / "alpha.local").read_text()
    assert text.startswith("[alpha]\nignoreip = ") and "192.0.2.77" in text
    # After the reload the address is ignored because the file says so.
    assert "192.0.2.77" in f2b_private.cli("get", "alpha", "ignoreip")


def test_activation_is_refused_while_the_precheck_finds_errors(config_admin_client, f2b_private):
    _dormant(f2b_private, filter="no-such-filter", logpath="/nonexistent/x.log")
    before = _files(f2b_private)
    body = config_admin_client.get("/config/jails/dormant/").content.decode()
    assert "does not exist in filter.d" in body and "/nonexistent/x.log does not exist" in body
    assert "disabled" in body
    response = config_admin_client.post("/config/jails/dormant/activate/")
    assert response.status_code == 200
    assert _files(f2b_private) == before
    assert "dormant" not in f2b_private.client().jails()


def test_it_activates_and_deactivates_an_inactive_jail(config_admin_client, f2b_private):
    _dormant(f2b_private, maxretry="1")
    body = config_admin_client.get("/config/jails/dormant/").content.decode()
    assert "maxretry is 1" in body and "No action is set" in body  # warnings only
    response = config_admin_client.post("/config/jails/dormant/activate/")
    assert response.status_code == 302, response.content.decode()[:3000]
    assert "dormant" in f2b_private.client().jails()
    local = f2b_private.conf_dir / "jail.d" / "dormant.local"
    assert local.read_text() == "[dormant]\nenabled = true\n"
    response = config_admin_client.post("/config/jails/dormant/deactivate/")
    assert "Deactivate jail dormant?" in response.content.decode()  # asks first
    assert "dormant" in f2b_private.client().jails()
    response = config_admin_client.post("/config/jails/dormant/deactivate/", {"confirmed": "yes"})
    assert response.status_code == 302
    assert sorted(f2b_private.client().jails()) == JAILS
    assert local.read_text() == "[dormant]\nenabled = false\n"


def test_banguis_own_jail_without_a_filter_renders(config_admin_client, f2b_private) -> None:  # type: ignore[no-untyped-def]
    from jails.live.services import manual_jail_ensure

    manual_jail_ensure(config_dir=str(f2b_private.conf_dir))
    body = config_admin_client.get("/config/jails/manual/").content.decode()
    assert "no filter: bans come from BanGUI" in body
    assert '<option value="" selected>none: bans come only from BanGUI</option>' in body
    # Saving another field keeps the jail without a filter (the first filter was chosen before).
    before = config_admin_client.get("/config/jails/manual/")
    assert before.status_code == 200
    form = {
        "bantime": "2d", "findtime": "600", "maxretry": "1", "logpath": "/dev/null",
        "backend": "polling", "filter": "", "ignoreip": "",
    }  # fmt: skip
    response = config_admin_client.post("/config/jails/manual/", form)
    assert response.status_code == 302, response.content.decode()[-2000:]
    local = (f2b_private.conf_dir / "jail.d" / "manual.local").read_text()
    assert "bantime = 2d" in local and "filter" not in local
    shown = config_admin_client.get("/config/files/jail.d/manual.conf/").content.decode()
    assert "BanGUI&#x27;s own jail file" in shown or "BanGUI's own jail file" in shown
    assert "A distribution file" not in shown


def test_include_only_filters_are_not_offered_as_a_jails_filter(config_admin_client, f2b_private):
    filter_d = f2b_private.conf_dir / "filter.d"
    for name in ("common", "lab-common"):
        (filter_d / f"{name}.conf").write_text("[DEFAULT]\n_daemon = \\S*\n")
    body = config_admin_client.get("/config/jails/alpha/").content.decode()
    assert '<option value="bangui-lab"' in body
    assert '<option value="common"' not in body and '<option value="lab-common"' not in body
    response = config_admin_client.post("/config/jails/alpha/", _form(f2b_private, filter="common"))
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
