"""Pending recovery: fail2ban goes down right after an apply; every page offers the rollback."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from bangui.demo.lab import Fail2banLab
from bangui.status import status_refresh
from jails.audit.services import Actor
from jails.config.services import config_apply
from jails.models import ConfigChange

JAIL_LOCAL = "jail.d/alpha.local"


def _apply(lab: Fail2banLab) -> ConfigChange:
    applied = config_apply(
        actor=Actor.system("alice"),
        what="alpha maxretry = 7",
        changes={JAIL_LOCAL: b"[alpha]\nmaxretry = 7\n"},
        reload_jail="alpha",
    )
    assert applied.ok, applied.result
    return applied.change


def _crash(lab: Fail2banLab) -> None:
    lab.stop()
    status_refresh()  # what the health job does every 30 s


def test_the_banner_offers_a_rollback_that_restores_the_files_byte_for_byte(
    config_admin_client, f2b_private
):
    local = f2b_private.conf_dir / "fail2ban.local"
    local.write_bytes(b"# before\n[Definition]\nloglevel = INFO\n")
    before = local.read_bytes()
    applied = config_apply(
        actor=Actor.system("alice"),
        what="Server settings: loglevel = DEBUG",
        changes={"fail2ban.local": b"# before\n[Definition]\nloglevel = DEBUG\n"},
        reload_jail=None,
    )
    assert applied.ok
    _crash(f2b_private)

    for url in ("/", "/jails/", "/config/server/"):
        body = config_admin_client.get(url).content.decode()
        assert "fail2ban went offline" in body, url
        assert "after “Server settings: loglevel = DEBUG” by alice at" in body
        assert f'action="/config/recovery/{applied.change.pk}/rollback/"' in body

    response = config_admin_client.post(
        f"/config/recovery/{applied.change.pk}/rollback/", {"next": "/jails/"}, follow=True
    )
    assert response.redirect_chain[-1][0] == "/jails/"
    body = response.content.decode()
    assert "The previous files are back. fail2ban did not answer the reload" in body
    assert "fail2ban went offline" not in body
    assert local.read_bytes() == before
    applied.change.refresh_from_db()
    assert applied.change.rolled_back_at is not None


def test_a_file_the_apply_created_is_removed_again(config_admin_client, f2b_private):
    change = _apply(f2b_private)
    _crash(f2b_private)
    config_admin_client.post(f"/config/recovery/{change.pk}/rollback/")
    assert not Path(f2b_private.conf_dir / JAIL_LOCAL).exists()


def test_dismiss_hides_the_banner_for_this_session_only(config_admin_client, f2b_private, client):
    change = _apply(f2b_private)
    _crash(f2b_private)
    config_admin_client.post(f"/config/recovery/{change.pk}/dismiss/")
    assert "fail2ban went offline" not in config_admin_client.get("/").content.decode()
    assert (f2b_private.conf_dir / JAIL_LOCAL).exists()  # dismiss changes no file


def test_no_banner_while_fail2ban_runs_or_long_after_the_apply(config_admin_client, f2b_private):
    change = _apply(f2b_private)
    status_refresh()
    assert "fail2ban went offline" not in config_admin_client.get("/").content.decode()
    ConfigChange.objects.filter(pk=change.pk).update(
        created_at=change.created_at.replace(year=change.created_at.year - 1)
    )
    _crash(f2b_private)
    assert "fail2ban went offline" not in config_admin_client.get("/").content.decode()


def test_a_change_that_is_not_pending_is_not_rolled_back(config_admin_client, f2b_private):
    change = _apply(f2b_private)
    status_refresh()  # fail2ban still runs
    response = config_admin_client.post(f"/config/recovery/{change.pk}/rollback/", follow=True)
    assert "is not waiting for a rollback any more" in response.content.decode()
    assert (f2b_private.conf_dir / JAIL_LOCAL).read_bytes() == b"[alpha]\nmaxretry = 7\n"
    assert config_admin_client.get("/config/recovery/999/rollback/").status_code == 405
    assert config_admin_client.post("/config/recovery/999/rollback/").status_code == 404


def test_an_outside_next_url_is_not_followed(config_admin_client, f2b_private):
    change = _apply(f2b_private)
    _crash(f2b_private)
    response = config_admin_client.post(
        f"/config/recovery/{change.pk}/dismiss/", {"next": "https://evil.example/"}
    )
    assert response["Location"] == "/config/server/"


def test_anonymous_pages_do_not_look_for_a_recovery(config_admin_client, f2b_private, monkeypatch):
    def boom() -> None:
        raise AssertionError("pending_recovery ran for an anonymous user")

    monkeypatch.setattr("jails.config.server.services.pending_recovery", boom)
    config_admin_client.logout()
    assert config_admin_client.get("/login/").status_code == 200


def test_a_busy_fail2ban_right_after_an_apply_offers_no_rollback(config_admin_client, f2b_private):
    # During a big import fail2ban answers slowly; that is not the change's fault.
    _apply(f2b_private)
    status_refresh()
    os.kill(f2b_private.proc.pid, signal.SIGSTOP)
    try:
        status_refresh()
        body = config_admin_client.get("/").content.decode()
    finally:
        os.kill(f2b_private.proc.pid, signal.SIGCONT)
    assert "fail2ban busy" in body
    assert "fail2ban went offline" not in body
