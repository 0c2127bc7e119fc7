"""Writes of the configuration tabs: build the file changes, then ``config_apply``.

Jail settings go to ``jail.d/<jail>.local`` under ``[<jail>]``; filters
BanGUI creates are ``filter.d/<name>.conf`` (marked with CREATED_MARK), and
distribution filters are only ever overridden in ``filter.d/<name>.local``.
Only the keys that change are written; ``set_options`` keeps every other byte.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError

from bangui.fail2ban import Fail2banClient, Fail2banError
from bangui.fail2ban.configview import JailSettings
from bangui.fail2ban.inifile import IniError, set_options
from jails.audit.services import Actor
from jails.config.jails.forms import clean_ignore_entry, same_time
from jails.config.jails.selectors import (
    CREATED_MARK,
    conf_files,
    conf_source,
    filter_values,
    jail_config,
    local_text,
)
from jails.config.services import Applied, config_apply, config_root
from jails.live.selectors import running_jails

FILTER_KEYS = ("failregex", "ignoreregex", "datepattern")


class ConfigRefused(Exception):
    """A change refused before anything was written; the text is for the user."""


def _config_dir() -> str:
    return str(config_root())


def _current(jail: str) -> JailSettings:
    settings = jail_config(_config_dir(), jail)
    if settings is None:
        raise ConfigRefused(f"No jail named “{jail}” is configured.")
    return settings


def _differs(key: str, new: str, cur: JailSettings) -> bool:
    """Whether ``new`` changes what fail2ban reads now for ``key``."""
    if key in ("bantime", "findtime"):
        return not same_time(new, getattr(cur, key))
    if key == "bantime.maxtime" or key == "bantime.rndtime":
        return not same_time(new, cur.increment_opts.get(key, ""))
    if key == "maxretry":
        return new != cur.maxretry
    if key == "bantime.increment":
        return (new == "true") != cur.increment
    if key == "bantime.overalljails":
        return (new == "true") != (cur.increment_opts.get(key, "false").lower() == "true")
    if key == "bantime.factor":
        return new != cur.increment_opts.get(key, "")
    if key == "logpath":
        return new.split("\n") != cur.logpaths
    if key == "backend":
        return new != cur.backend_name
    if key == "filter":
        return new != cur.filter_name
    if key == "ignoreip":
        return new.split() != cur.ignoreip
    return True


def _write_jail(
    *, actor: Actor, jail: str, values: dict[str, str | None], what: str,
    expect_running: list[str] | None = None,
) -> Applied:  # fmt: skip
    rel = f"jail.d/{jail}.local"
    text = local_text(_config_dir(), "jail.d", f"{jail}.local")
    try:
        new = set_options(text, jail, values)
    except IniError as exc:
        raise ConfigRefused(str(exc)) from None
    return config_apply(
        actor=actor, what=what, changes={rel: new.encode("utf-8")}, reload_jail=jail,
        expect_running=expect_running,
    )  # fmt: skip


def jail_settings_save(*, actor: Actor, jail: str, values: dict[str, str]) -> Applied | None:
    """Write the keys of ``values`` that differ from the effective settings; None if none do."""
    cur = _current(jail)
    changed: dict[str, str | None] = {k: v for k, v in values.items() if _differs(k, v, cur)}
    if not changed:
        return None
    return _write_jail(
        actor=actor, jail=jail, values=changed, what=f"jail {jail}: {', '.join(sorted(changed))}"
    )


def jail_ignore_persist(*, actor: Actor, client: Fail2banClient, jail: str) -> Applied | None:
    """Write the jail's runtime ignore list (``get JAIL ignoreip``) into its ``.local``."""
    _current(jail)
    try:
        if jail not in running_jails(client):
            raise ConfigRefused(f"fail2ban does not run {jail}: it has no running ignore list.")
        entries = [str(e) for e in client.get(jail, "ignoreip") or []]
    except Fail2banError as exc:
        raise ConfigRefused(f"fail2ban did not give the ignore list: {exc}") from None
    try:
        clean = [clean_ignore_entry(e) for e in entries]
    except ValidationError as exc:  # a name added in a file by hand: refuse, do not guess
        raise ConfigRefused(
            f"The running ignore list has an entry BanGUI cannot write: {exc.messages[0]}"
        ) from None
    value = " ".join(clean)
    if not _differs("ignoreip", value, _current(jail)):
        return None
    return _write_jail(
        actor=actor, jail=jail, values={"ignoreip": value}, what=f"jail {jail}: persist ignoreip"
    )


def jail_enable(*, actor: Actor, jail: str, enabled: bool) -> Applied:
    """``enabled = true/false``; a reload of the jail starts it, or removes it when disabled."""
    _current(jail)
    word = "true" if enabled else "false"
    return _write_jail(
        actor=actor, jail=jail, values={"enabled": word},
        what=f"jail {jail}: {'activate' if enabled else 'deactivate'}",
    )  # fmt: skip


# -- filters -----------------------------------------------------------------------


def _reload_target(used_by: list[str]) -> str | None:
    # One jail: reload only it; several (or none): a full reload.
    return used_by[0] if len(used_by) == 1 else None


def filter_create(*, actor: Actor, name: str, values: dict[str, str]) -> Applied:
    if name in conf_files(_config_dir(), "filter.d"):
        raise ConfigRefused(f"A filter named “{name}” exists already.")
    head = f"{CREATED_MARK}; edit it on the Filters tab or here.\n[Definition]\n"
    try:
        text = set_options(head, "Definition", {k: values.get(k, "") for k in FILTER_KEYS})
    except IniError as exc:
        raise ConfigRefused(str(exc)) from None
    return config_apply(
        actor=actor, what=f"filter {name}: create",
        changes={f"filter.d/{name}.conf": text.encode("utf-8")}, reload_jail=None,
    )  # fmt: skip


def filter_save(*, actor: Actor, name: str, values: dict[str, str]) -> Applied | None:
    """BanGUI's own filters: rewrite keys of the .conf; others: a .local override.

    Only keys whose value differs from what fail2ban reads now are written, so
    saving an untouched distribution filter creates no copy of it. None: no change.
    """
    source = conf_source(_config_dir(), "filter.d", name)
    if source is None:
        raise ConfigRefused(f"No filter named “{name}”.")
    current = filter_values(source)
    changed: dict[str, str | None] = {
        k: values.get(k, "") for k in FILTER_KEYS if values.get(k, "") != current.get(k, "")
    }
    if not changed:
        return None
    item = source.item
    file = f"{name}.conf" if item.created_by_bangui else f"{name}.local"
    text = local_text(_config_dir(), "filter.d", file)
    try:
        new = set_options(text, "Definition", changed)
    except IniError as exc:
        raise ConfigRefused(str(exc)) from None
    return config_apply(
        actor=actor, what=f"filter {name}: edit", changes={f"filter.d/{file}": new.encode()},
        reload_jail=_reload_target(item.used_by),
    )  # fmt: skip


def filter_delete(*, actor: Actor, name: str) -> Applied:
    """Remove an unused filter's .local, and its .conf only if BanGUI created it."""
    item = conf_files(_config_dir(), "filter.d").get(name)
    if item is None:
        raise ConfigRefused(f"No filter named “{name}”.")
    if item.used_by:
        raise ConfigRefused(f"The filter is used by {', '.join(item.used_by)}; not deleted.")
    if not item.deletable:
        raise ConfigRefused("This is a distribution filter; BanGUI never deletes those.")
    changes: dict[str, bytes | None] = {}
    if item.has_local:
        changes[f"filter.d/{name}.local"] = None
    if item.created_by_bangui:
        changes[f"filter.d/{name}.conf"] = None
    return config_apply(
        actor=actor, what=f"filter {name}: delete", changes=changes, reload_jail=None
    )


def filter_assign(*, actor: Actor, name: str, jail: str) -> Applied | None:
    if name not in conf_files(_config_dir(), "filter.d"):
        raise ConfigRefused(f"No filter named “{name}”.")
    if _current(jail).filter_name == name:
        return None
    return _write_jail(
        actor=actor, jail=jail, values={"filter": name}, what=f"jail {jail}: filter = {name}"
    )
