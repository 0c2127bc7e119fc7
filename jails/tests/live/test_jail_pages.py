"""The jails list and one jail's page, against the real fail2ban."""

from __future__ import annotations

from pathlib import Path

from jails.live.selectors import PER_PAGE


def test_the_list_shows_running_jails_with_counters(admin_client, f2b):
    f2b.client().ban("alpha", ["192.0.2.1", "192.0.2.2"])
    body = admin_client.get("/jails/").content.decode()
    for name in ("alpha", "beta", "sshd"):
        assert f'href="/jails/{name}/"' in body
    assert "running" in body
    assert "10m" in body  # alpha's bantime of 600 s


def test_the_list_shows_configured_jails_that_do_not_run(admin_client, f2b):
    (f2b.conf_dir / "jail.d" / "dormant.conf").write_text(
        "[dormant]\nenabled = false\nfilter = bangui-lab\nlogpath = /dev/null\n"
    )
    try:
        body = admin_client.get("/jails/").content.decode()
    finally:
        (f2b.conf_dir / "jail.d" / "dormant.conf").unlink()
    assert "dormant" in body and "inactive" in body


def test_the_list_filters_and_sorts(admin_client, f2b):
    f2b.client().ban("beta", ["192.0.2.9"])
    body = admin_client.get("/jails/?q=bet").content.decode()
    assert 'href="/jails/beta/"' in body and 'href="/jails/alpha/"' not in body
    body = admin_client.get("/jails/?sort=-banned").content.decode()
    assert body.index('href="/jails/beta/"') < body.index('href="/jails/alpha/"')


def test_the_list_is_a_fragment_for_htmx(admin_client, f2b):
    response = admin_client.get("/jails/", HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="jail-table"') or 'id="jail-table"' in body[:200]
    assert "<html" not in body


def test_bad_list_parameters_do_not_break_the_page(admin_client):
    assert admin_client.get("/jails/?sort=__import__&q=" + "x" * 10_000).status_code == 200


def test_the_detail_shows_settings_filter_ignore_list_and_bans(admin_client, f2b):
    f2b.client().ban("sshd", ["198.51.100.20"])
    body = admin_client.get("/jails/sshd/").content.decode()
    assert "198.51.100.20" in body
    assert "Ban time escalation" in body  # sshd has bantime.increment on
    assert "127.0.0.0/8" in body  # ignore list
    assert "failregex" in body


def test_the_detail_pages_and_searches_bans_on_the_server(admin_client, f2b):
    ips = [f"10.1.{i // 250}.{i % 250 + 1}" for i in range(PER_PAGE * 2 + 5)]
    f2b.client().ban("alpha", ips)
    body = admin_client.get("/jails/alpha/").content.decode()
    assert f"{len(ips)} banned addresses" in body
    assert f">{ips[-1]}<" in body and f">{ips[0]}<" not in body  # newest first, one page
    assert "Page 1 of 3" in body
    body = admin_client.get("/jails/alpha/?page=3").content.decode()
    assert f">{ips[0]}<" in body
    body = admin_client.get("/jails/alpha/?q=10.1.0.17", HTTP_HX_REQUEST="true").content.decode()
    assert "10.1.0.17" in body and "<html" not in body


def test_the_detail_shows_ban_times(admin_client, f2b):
    f2b.client().ban("beta", ["192.0.2.77"])
    body = admin_client.get("/jails/beta/").content.decode()
    row = body[body.index("192.0.2.77") :][:800]
    assert "1h" in row or "59m" in row  # beta's bantime is 3600 s


def test_an_unknown_jail_is_a_404_that_offers_start(admin_client, f2b):
    response = admin_client.get("/jails/nosuch/")
    assert response.status_code == 404
    assert "not running" in response.content.decode()


def test_a_hostile_jail_name_is_a_404(admin_client):
    assert admin_client.get("/jails/..%2Fx/").status_code == 404
    assert admin_client.get("/jails/a;b/").status_code == 404


def test_pages_render_while_fail2ban_is_down(admin_client, f2b):
    f2b.stop()
    response = admin_client.get("/jails/")
    assert response.status_code == 200
    assert "fail2ban is unreachable" in response.content.decode()
    assert "alpha" in response.content.decode()  # from the config files
    response = admin_client.get("/jails/alpha/")
    assert response.status_code == 200
    assert "fail2ban is unreachable" in response.content.decode()
    assert admin_client.get("/bans/new/").status_code == 200
    assert admin_client.get("/ip/?q=192.0.2.1").status_code == 200


def _errors(lab) -> list[str]:  # type: ignore[no-untyped-def]
    text = Path(lab.server_log).read_text(errors="replace")
    return [line for line in text.splitlines() if " ERROR " in line]


def test_a_jail_fail2ban_does_not_run_is_never_named_to_it(admin_client, f2b):
    # Names that pass the pattern but are no jail: fail2ban logs an ERROR per command.
    before = _errors(f2b)
    assert admin_client.get("/jails/nosuch/").status_code == 404
    assert admin_client.get("/jails/nosuch/", headers={"HX-Request": "true"}).status_code == 404
    for url, data in [
        ("/bans/unban/", {"entry": "203.0.113.9", "jail": "nosuch"}),
        ("/jails/nosuch/idle/", {"idle": "on"}),
        ("/jails/nosuch/reload/", {}),
        ("/jails/nosuch/ignore/add/", {"entries": "203.0.113.9"}),
        ("/jails/nosuch/ignore/remove/", {"entry": "203.0.113.9"}),
        ("/jails/nosuch/ignoreself/", {"ignoreself": "true"}),
        ("/bans/new/", {"ips": "203.0.113.9", "jail": "nosuch", "confirm": "on"}),
    ]:
        response = admin_client.post(url, data, follow=True)
        assert response.status_code < 500, url
    assert _errors(f2b) == before
    body = admin_client.post(
        "/jails/nosuch/ignore/add/", {"entries": "203.0.113.9"}, follow=True
    ).content.decode()
    assert "fail2ban runs no jail named “nosuch”" in body
