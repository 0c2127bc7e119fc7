"""Reads for the configuration tabs: effective jail settings, filters, actions.

Everything comes from the files (fail2ban's own reader for jails), so the
pages work while fail2ban is down; only "running now" needs the socket.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field
from pathlib import Path

from bangui.fail2ban import Fail2banClient, Fail2banError, configfiles
from bangui.fail2ban.configview import JailSettings, jail_settings, systemd_available
from bangui.fail2ban.inifile import IniError, get_options

# The first line of every filter file BanGUI creates: only these .conf may be rewritten or deleted.
CREATED_MARK = "# Created by BanGUI"


@dataclass(frozen=True)
class JailRow:
    settings: JailSettings
    # None: fail2ban is offline, so nobody knows.
    running: bool | None


def running_jails(client: Fail2banClient) -> list[str] | None:
    try:
        return client.jails()
    except Fail2banError:
        return None


def jail_rows(*, config_dir: str, client: Fail2banClient) -> tuple[list[JailRow], bool]:
    """Every configured jail (enabled ones first) and whether fail2ban answered."""
    running = running_jails(client)
    rows = [
        JailRow(s, None if running is None else s.name in running)
        for s in jail_settings(config_dir).values()
    ]
    rows.sort(key=lambda r: (not r.settings.enabled, r.settings.name))
    return rows, running is not None


def jail_config(config_dir: str, jail: str) -> JailSettings | None:
    return jail_settings(config_dir).get(jail)


def local_text(config_dir: str, subdir: str, name: str) -> str:
    """The text of an override file, or "" when it does not exist yet."""
    try:
        return configfiles.read_file(Path(config_dir), subdir, name).decode("utf-8")
    except configfiles.ConfigFileError:
        if (Path(config_dir) / subdir / name).exists():
            raise
        return ""


# -- filters and actions ----------------------------------------------------------


@dataclass
class ConfFile:
    """One filter or action: its .conf and/or .local, and the jails that use it."""

    name: str
    has_conf: bool = False
    has_local: bool = False
    created_by_bangui: bool = False
    used_by: list[str] = field(default_factory=list)

    @property
    def deletable(self) -> bool:
        return not self.used_by and (self.created_by_bangui or self.has_local)


def _is_created(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            return fh.readline().decode("utf-8", "replace").startswith(CREATED_MARK)
    except OSError:
        return False


def conf_files(config_dir: str, subdir: str) -> dict[str, ConfFile]:
    """filter.d or action.d by name, with which configured jails use each."""
    root = Path(config_dir)
    out: dict[str, ConfFile] = {}
    for info in configfiles.list_files(root, subdir):
        stem = info.name.rpartition(".")[0]
        item = out.setdefault(stem, ConfFile(stem))
        if info.is_local:
            item.has_local = True
        else:
            item.has_conf = True
            item.created_by_bangui = _is_created(root / subdir / info.name)
    for settings in jail_settings(config_dir).values():
        names = [settings.filter_name] if subdir == "filter.d" else settings.action_names
        for name in names:
            if name in out and settings.name not in out[name].used_by:
                out[name].used_by.append(settings.name)
    return dict(sorted(out.items()))


def filter_names(config_dir: str) -> list[str]:
    return list(conf_files(config_dir, "filter.d"))


def include_only(name: str) -> bool:
    """``common.conf`` and ``*-common.conf`` hold shared definitions other filters include;
    they have no failregex of their own, so a jail using one would match nothing."""
    return name == "common" or name.endswith("-common")


def jail_filter_choices(config_dir: str, current: str = "") -> list[str]:
    """Filters a jail can use: all but the include-only ones (the current one stays, so
    an odd existing setting is shown as it is rather than silently changed)."""
    return [n for n in filter_names(config_dir) if not include_only(n) or n == current]


@dataclass(frozen=True)
class ConfSource:
    item: ConfFile
    conf: str | None
    local: str | None


def conf_source(config_dir: str, subdir: str, name: str) -> ConfSource | None:
    item = conf_files(config_dir, subdir).get(name)
    if item is None:
        return None
    root = Path(config_dir)

    def text(ext: str, present: bool) -> str | None:
        if not present:
            return None
        data = configfiles.read_file(root, subdir, f"{name}.{ext}")
        return data.decode("utf-8", "replace")

    return ConfSource(item, text("conf", item.has_conf), text("local", item.has_local))


# -- activation pre-check -------------------------------------------------------


@dataclass(frozen=True)
class Precheck:
    errors: list[str]
    warnings: list[str]


def activation_precheck(config_dir: str, settings: JailSettings) -> Precheck:
    """What stops a jail from starting (errors) and what is merely odd (warnings)."""
    errors: list[str] = []
    warnings: list[str] = []
    if settings.error:
        errors.append(f"fail2ban cannot read this jail's settings: {settings.error}")
    filters = filter_names(config_dir)
    if not settings.filter_name:
        errors.append("No filter is set.")
    elif settings.filter_name not in filters:
        errors.append(f"The filter “{settings.filter_name}” does not exist in filter.d.")
    if settings.backend_name == "systemd":
        if not systemd_available():
            errors.append(
                "backend = systemd needs python3-systemd, which fail2ban's Python cannot import "
                "(apt-get install python3-systemd)."
            )
    elif not settings.logpaths:
        errors.append("No log file is set.")
    for path in settings.logpaths if settings.backend_name != "systemd" else []:
        if glob.has_magic(path):
            if not any(os.path.isfile(p) for p in glob.glob(path)):
                errors.append(f"No file matches the log path {path}.")
        elif not os.path.isfile(path):
            errors.append(f"The log file {path} does not exist.")
    if not settings.actions:
        warnings.append("No action is set: bans are recorded but nothing is blocked.")
    elif "%(banaction" in " ".join(settings.actions) or (
        not settings.banaction and any("banaction" in a for a in settings.actions)
    ):
        warnings.append("banaction is not set, so the firewall action may not work.")
    if settings.maxretry == "1":
        warnings.append("maxretry is 1: a single mistyped password bans the address.")
    return Precheck(errors, warnings)


def _lines_of(value: str) -> str:
    return "\n".join(ln.strip() for ln in value.splitlines() if ln.strip())


def filter_values(source: ConfSource) -> dict[str, str]:
    """failregex, ignoreregex and datepattern as fail2ban reads them: .conf, then .local."""
    values: dict[str, str] = {}
    for text in (source.conf, source.local):
        if text is None:
            continue
        try:
            options = get_options(text, "Definition")
        except IniError:
            continue
        for key in ("failregex", "ignoreregex", "datepattern"):
            if key in options:
                values[key] = _lines_of(options[key])
    return values
