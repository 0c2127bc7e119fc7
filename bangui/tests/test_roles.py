"""Roles: for every URL name and method, each role gets exactly the expected answer.

The expected answers are written down here on their own (not read from
``bangui.roles``), as the specification: viewers read, operators also ban,
unban, edit the running ignore lists, start imports and stop and start jails;
admins do everything. A refused request is a 403 and changes nothing in the
real fail2ban or its config files.
"""

from __future__ import annotations

import hashlib

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from bangui.demo.lab import Fail2banLab
from bangui.models import UserProfile

PASSWORD = "a-long-enough-Passphrase-7"
# POSTs an operator may make (the specification, independent of bangui/roles.py).
OPERATOR_POSTS = {
    "ban_new", "unban", "unban_all", "jail_stop", "jail_start", "jail_idle", "ignore_add",
    "ignore_remove", "ignoreself_set", "blocklist_import", "blocklist_import_all",
}  # fmt: skip
# Pages a viewer may not even open: forms that only change things, and the users.
ADMIN_GETS = {
    "config_file_new", "config_file_edit", "config_filter_new", "blocklist_edit", "users",
    "user_new", "user_edit",
    # Alerts: channel targets, rules and what was sent are for admins only.
    "alerts", "alert_channel_edit", "alert_rule_edit", "alert_notifications",
}  # fmt: skip
OPERATOR_GETS = {"ban_new", "unban_all"}
# Everyone logged in, any method: their own account and session.
OWN = {
    "logout", "account", "account_password", "account_totp", "account_totp_disable",
    "account_recovery_codes", "config_recovery_dismiss", "status_bar",
}  # fmt: skip
# Open without a login (setup, login, health).
PUBLIC = {"setup", "login", "login_code", "admin_login", "health_live", "health_ready"}
PUBLIC.add("metrics")  # no login: its own token or networks (bangui.metrics.access)
ARGS = {"name": "alpha", "pk": "1", "subdir": "jail.d", "ip": "203.0.113.9"}


def _names() -> list[tuple[str, str]]:
    def walk(entries: list[URLPattern | URLResolver]) -> list[tuple[str, str]]:
        found = []
        for entry in entries:
            if isinstance(entry, URLResolver):
                if entry.app_name != "admin":
                    found += walk(entry.url_patterns)
            elif entry.name:
                params = sorted(entry.pattern.regex.groupindex)
                kwargs = {p: ARGS[p] for p in params}
                if "subdir" in kwargs:
                    kwargs["name"] = "alpha.local"
                found.append((entry.name, reverse(entry.name, kwargs=kwargs)))
        return found

    return sorted(set(walk(get_resolver().url_patterns)))


NAMES = _names()


def _user(role: str) -> Client:
    user = get_user_model().objects.create_user(f"{role}-user", password=PASSWORD)
    UserProfile.objects.create(user=user, role=role)
    client = Client()
    client.force_login(user)
    return client


def _state(lab: Fail2banLab) -> tuple[object, ...]:
    banned = lab.client().banned()
    digest = hashlib.sha256()
    for path in sorted(lab.conf_dir.rglob("*")):
        if path.is_file():
            digest.update(str(path).encode() + path.read_bytes())
    return tuple(sorted((j, tuple(sorted(i))) for j, i in banned.items())), digest.hexdigest()


def _allowed(role: str, name: str, method: str) -> bool:
    if name in PUBLIC or name in OWN:
        return True
    if role == "admin":
        return True
    if method == "GET":
        if name in ADMIN_GETS:
            return False
        return role == "operator" or name not in OPERATOR_GETS
    return role == "operator" and name in OPERATOR_POSTS


def test_the_table_names_real_pages() -> None:
    names = {n for n, _ in NAMES}
    assert len(names) > 50
    assert names >= PUBLIC | OWN | OPERATOR_POSTS | ADMIN_GETS | OPERATOR_GETS


@pytest.mark.parametrize("role", ["viewer", "operator", "admin"])
def test_each_role_gets_exactly_what_it_may(role, config_admin_client, f2b_private):  # type: ignore[no-untyped-def]
    f2b_private.client().ban("alpha", ["198.51.100.1"])
    client = config_admin_client if role == "admin" else _user(role)
    client.raise_request_exception = False
    wrong = []
    for name, path in NAMES:
        for method in ("GET", "POST"):
            if name in {"logout"}:
                continue  # would end the session the test uses
            before = _state(f2b_private)
            response = client.get(path) if method == "GET" else client.post(path, {})
            refused = response.status_code == 403
            if refused == _allowed(role, name, method):
                wrong.append(f"{role} {method} {name}: {response.status_code}")
            if refused:
                if "Your role cannot do this" not in response.content.decode():
                    wrong.append(f"{role} {method} {name}: 403 without the explanation")
                if _state(f2b_private) != before:
                    wrong.append(f"{role} {method} {name}: refused, yet something changed")
            if response.status_code >= 500:
                wrong.append(f"{role} {method} {name}: {response.status_code}")
    assert not wrong, "\n".join(wrong)


def test_anonymous_users_are_sent_to_log_in(client, configured) -> None:  # type: ignore[no-untyped-def]
    for name, path in NAMES:
        if name in PUBLIC:
            continue
        for response in (client.get(path), client.post(path, {})):
            assert response.status_code in (302, 405), (name, response.status_code)
            if response.status_code == 302:
                assert response["Location"].startswith("/login/"), name


def test_the_django_admin_is_for_admins_only(config_admin_client, f2b_private) -> None:  # type: ignore[no-untyped-def]
    assert config_admin_client.get("/admin/").status_code == 200
    for role in ("viewer", "operator"):
        client = _user(role)
        assert client.get("/admin/").status_code == 403
        assert client.get("/admin/auth/user/").status_code == 403
