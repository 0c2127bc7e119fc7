"""Safe access to the files under fail2ban's config dir: names, paths, atomic writes.

Only ``jail.d/``, ``filter.d/``, ``action.d/`` and the two top-level
``*.local`` files are editable. Every path is resolved and checked to stay
inside its directory, so a name from a form can never reach ``/etc/passwd``.
Writes go to a temp file in the same directory and are renamed over the old
file, so fail2ban never reads half a file, even after a crash.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from .configreader import configured_jails_forget

EDITABLE_DIRS = ("jail.d", "filter.d", "action.d")
TOP_LEVEL_FILES = ("fail2ban.local", "jail.local")
MAX_FILE_BYTES = 512 * 1024

_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}\.(?:conf|local)")

Snapshot = dict[Path, bytes | None]


class ConfigFileError(ValueError):
    """A config file operation refused or failed; the text is for the user."""


@dataclass(frozen=True)
class FileInfo:
    name: str
    size: int
    mtime: float
    is_local: bool
    # A .local whose .conf of the same stem exists: fail2ban reads it on top.
    overrides: bool
    # A .conf that has such a .local next to it.
    overridden: bool


def clean_name(name: str) -> str:
    """A config file name: ``sshd.local``, ``my-filter.conf``; no paths."""
    if not isinstance(name, str) or not name:
        raise ConfigFileError("A file name is required.")
    if "/" in name or "\\" in name or "\x00" in name:
        raise ConfigFileError(f"“{name[:60]}” is not a file name: no slashes allowed.")
    if ".." in name:
        raise ConfigFileError(f"“{name[:60]}” must not contain “..”.")
    if len(name) > 106:
        raise ConfigFileError(f"The file name is too long ({len(name)} characters, at most 106).")
    if not name.endswith((".conf", ".local")):
        raise ConfigFileError(f"“{name}” must end in .conf or .local.")
    if not _NAME_RE.fullmatch(name):
        raise ConfigFileError(
            f"“{name}” is not allowed: use letters, digits, “.”, “_” or “-”, "
            "starting with a letter or digit."
        )
    return name


def _inside(path: str, base: str) -> bool:
    return os.path.commonpath([path, base]) == base


def resolve(
    root: Path, subdir: str, name: str, *, must_exist: bool = False, for_write: bool = False
) -> Path:
    """The path of ``root/subdir/name`` after every check; raises ConfigFileError."""
    if subdir == "":
        if name not in TOP_LEVEL_FILES:
            raise ConfigFileError(
                f"Only {' and '.join(TOP_LEVEL_FILES)} can be edited at the top level."
            )
    elif subdir not in EDITABLE_DIRS:
        raise ConfigFileError(f"“{subdir[:40]}” is not an editable directory.")
    else:
        clean_name(name)
    base = os.path.realpath(root / subdir) if subdir else os.path.realpath(root)
    path = Path(base) / name
    if path.is_symlink():
        if for_write:
            raise ConfigFileError(
                f"{path} is a symbolic link; BanGUI does not write through links."
            )
        if not _inside(os.path.realpath(path), base):
            raise ConfigFileError(f"{path} is a link that points outside {base}.")
    if not _inside(os.path.realpath(path), base):
        raise ConfigFileError(f"{path} is outside {base}.")
    if must_exist and not path.is_file():
        raise ConfigFileError(f"{path} does not exist.")
    return path


def list_files(root: Path, subdir: str) -> list[FileInfo]:
    """The editable files of one directory, by name; links out and odd names left out."""
    names: list[str] = []
    folder = root / subdir if subdir else root
    with contextlib.suppress(FileNotFoundError):
        names = sorted(p.name for p in folder.iterdir())
    allowed = [n for n in names if (n in TOP_LEVEL_FILES if not subdir else _NAME_RE.fullmatch(n))]
    present = set(allowed)
    infos = []
    for name in allowed:
        try:
            path = resolve(root, subdir, name, must_exist=True)
            st = path.stat()
        except (ConfigFileError, OSError):
            continue
        stem, _, ext = name.rpartition(".")
        infos.append(
            FileInfo(
                name=name,
                size=st.st_size,
                mtime=st.st_mtime,
                is_local=ext == "local",
                overrides=ext == "local" and f"{stem}.conf" in present,
                overridden=ext == "conf" and f"{stem}.local" in present,
            )
        )
    return infos


def read_file(root: Path, subdir: str, name: str) -> bytes:
    path = resolve(root, subdir, name, must_exist=True)
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ConfigFileError(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(data) > MAX_FILE_BYTES:
        raise ConfigFileError(f"{path} is larger than {MAX_FILE_BYTES // 1024} KB.")
    return data


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` in one rename; the old mode (or 0644) is kept."""
    try:
        _write_atomic(path, data)
    finally:  # after the rename: a reader in between must not keep the old files
        configured_jails_forget()


def _write_atomic(path: Path, data: bytes) -> None:
    if len(data) > MAX_FILE_BYTES:
        raise ConfigFileError(
            f"The content is {len(data) // 1024} KB; at most {MAX_FILE_BYTES // 1024} KB."
        )
    if path.is_symlink():
        raise ConfigFileError(f"{path} is a symbolic link; BanGUI does not write through links.")
    tmp: str | None = None
    try:
        try:
            st: os.stat_result | None = path.stat()
        except FileNotFoundError:
            st = None
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".bangui-")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, (st.st_mode & 0o7777) if st else 0o644)
        if st is not None:
            # Only root can give a file away; as anyone else the owner stays ours.
            with contextlib.suppress(PermissionError):
                os.chown(tmp, st.st_uid, st.st_gid)
        os.replace(tmp, path)
        tmp = None
        _fsync_dir(path.parent)
    except OSError as exc:
        raise ConfigFileError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def remove(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
        _fsync_dir(path.parent)
    except OSError as exc:
        raise ConfigFileError(f"cannot remove {path}: {exc.strerror or exc}") from None
    finally:
        configured_jails_forget()


def snapshot(paths: list[Path]) -> Snapshot:
    """The current bytes of each path; None where the file does not exist."""
    snap: Snapshot = {}
    for path in paths:
        try:
            snap[path] = path.read_bytes()
        except FileNotFoundError:
            snap[path] = None
        except OSError as exc:
            raise ConfigFileError(f"cannot read {path}: {exc.strerror or exc}") from None
    return snap


def restore(snap: Snapshot) -> None:
    """Put every file back byte for byte; remove those that did not exist."""
    errors = []
    for path, data in snap.items():
        try:
            if data is None:
                remove(path)
            else:
                write_atomic(path, data)
        except ConfigFileError as exc:  # keep restoring the others
            errors.append(str(exc))
    if errors:
        raise ConfigFileError("; ".join(errors))


def backup(path: Path, backup_dir: Path, *, root: Path | None = None) -> Path | None:
    """Copy the current file to ``backup_dir/<UTC time>/<subdir>/<name>``; None if absent."""
    if not path.is_file():
        return None
    rel = Path(path.parent.name, path.name)
    if root is not None:
        with contextlib.suppress(ValueError):
            rel = path.relative_to(root)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    target = backup_dir / stamp / rel
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    except OSError as exc:
        raise ConfigFileError(f"cannot back up {path}: {exc.strerror or exc}") from None
    return target
