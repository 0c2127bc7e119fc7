"""The MaxMind database files: one reader per file per process, opened lazily.

A reader is reopened when its file's mtime changes, so a weekly database
update (geoipupdate replaces the file) needs no restart. A missing, unreadable
or corrupt file never raises out of here: the error is kept for ``geo_status``
and lookups simply find nothing. When a new version of the file cannot be
opened, the reader of the previous version is kept.

Records are read with ``maxminddb`` (the reader ``geoip2`` wraps) as plain
dicts rather than through ``geoip2``'s model classes: building those costs
more than the lookup itself (100k lookups: 1.6 s through ``geoip2.city()``,
0.7 s as dicts), and we need two fields of the record.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import logging
import os
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import maxminddb

from geo import conf
from geo.health import note_error

log = logging.getLogger("bangui.geo")

Role = Literal["country", "asn"]

# Keywords of metadata.database_type each role accepts: MaxMind's GeoIP2 and
# GeoLite2 Country/City/Enterprise databases and DB-IP's look-alikes share the
# record layout for countries; the ASN and ISP databases for networks.
_TYPES: dict[Role, tuple[str, ...]] = {
    "country": ("Country", "City", "Enterprise"),
    "asn": ("ASN", "ISP"),
}
_OPEN_ERRORS = (OSError, ValueError, maxminddb.InvalidDatabaseError)

# How often a lookup may stat() the file to notice an update.
STAT_INTERVAL = 5.0


@dataclass(frozen=True)
class FileStatus:
    path: str
    role: Role
    ok: bool
    type: str = ""
    build_date: str = ""
    error: str = ""


class MMDBFile:
    """One database file and its reader."""

    def __init__(self, path: str, role: Role) -> None:
        self.path = path
        self.role = role
        self.error = ""
        self._lock = threading.Lock()
        self._reader: Any = None  # maxminddb's Reader (C extension or pure Python)
        self._mtime_ns: int | None = None
        self._checked = -STAT_INTERVAL - 1.0

    def reader(self) -> Any:
        """The open reader, or None; at most one stat() per ``STAT_INTERVAL``."""
        if time.monotonic() - self._checked < STAT_INTERVAL:
            return self._reader
        with self._lock:
            now = time.monotonic()
            if now - self._checked >= STAT_INTERVAL:
                self._checked = now
                self._refresh()
            return self._reader

    def _refresh(self) -> None:
        try:
            mtime_ns = os.stat(self.path).st_mtime_ns
        except OSError as exc:
            self._set_error(f"cannot read {self.path}: {exc.strerror or exc}")
            return
        # Unchanged and working: nothing to do. After an error, try again (a
        # fixed permission does not change the mtime); opening is cheap.
        if mtime_ns == self._mtime_ns and not self.error:
            return
        self._mtime_ns = mtime_ns
        try:
            reader = _open_snapshot(self.path) if self.path != demo_db_path() else None
            reader = reader or maxminddb.open_database(self.path)
        except _OPEN_ERRORS as exc:
            self._set_error(f"cannot open {self.path}: {exc}")
            return
        db_type = str(reader.metadata().database_type)
        if not any(word in db_type for word in _TYPES[self.role]):
            reader.close()
            wanted = "a Country or City" if self.role == "country" else "an ASN"
            self._set_error(f"{self.path} is a {db_type} database; expected {wanted} database")
            return
        if self._reader is not None:
            log.info("geo: %s changed, reopened (%s)", self.path, db_type)
        # The old reader is not closed: a thread may still be reading from it.
        # It is closed when the last reference goes.
        self._reader = reader
        self.error = ""

    def _set_error(self, message: str) -> None:
        self.error = message
        note_error(message)

    def note_lookup_error(self, exc: Exception) -> None:
        """A lookup failed inside the file (corrupt data section)."""
        self._set_error(f"lookup in {self.path} failed: {exc}")

    def status(self) -> FileStatus:
        reader = self.reader()
        if reader is None:
            return FileStatus(self.path, self.role, ok=False, error=self.error or "not opened")
        meta = reader.metadata()
        built = datetime.fromtimestamp(int(meta.build_epoch), UTC).date().isoformat()
        return FileStatus(
            self.path,
            self.role,
            ok=not self.error,
            type=str(meta.database_type),
            build_date=built,
            error=self.error,
        )


def _open_snapshot(path: str) -> Any:
    """A reader on a private copy of ``path``, or None when no copy can be made.

    The reader maps its file into memory. Someone updating the database in
    place (``cp new.mmdb GeoLite2-Country.mmdb``) would change the pages under
    it, and a truncated mapping kills the process with SIGBUS. The copy lives
    in the data dir and is unlinked at once: the mapping keeps it alive, and
    nothing is left behind. (geoipupdate renames a new file into place, which
    is safe either way.)
    """
    try:
        fd, copy = tempfile.mkstemp(prefix=".geo-", suffix=".mmdb", dir=conf.snapshot_dir())
    except OSError:
        return None
    try:
        with os.fdopen(fd, "wb") as out, open(path, "rb") as src:
            shutil.copyfileobj(src, out, 1 << 20)
        return maxminddb.open_database(copy)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(copy)


_files: dict[tuple[str, Role], MMDBFile] = {}
_files_lock = threading.Lock()


def mmdb_file(path: str, role: Role) -> MMDBFile:
    """The process's one ``MMDBFile`` for this path."""
    key = (path, role)
    found = _files.get(key)
    if found is None:
        with _files_lock:
            found = _files.setdefault(key, MMDBFile(path, role))
    return found


def forget_files() -> None:
    """Drop every reader (tests)."""
    with _files_lock:
        _files.clear()


@functools.cache
def demo_db_path() -> str:
    """The GeoLite2-City file of the ``maxminddb-geolite2`` package, or "" if not installed."""
    spec = importlib.util.find_spec("_maxminddb_geolite2")
    if spec is None or spec.origin is None:
        return ""
    path = Path(spec.origin).with_name("GeoLite2-City.mmdb")
    return str(path) if path.is_file() else ""


def country_db_location() -> tuple[str, str]:
    """``(path, origin)`` of the country database; origin is "configured" or "demo".

    With no path set (or the default path, which holds no file), the demo
    database of ``maxminddb-geolite2`` is used when that package is installed.
    """
    configured = conf.db_path()
    default = conf.default_db_file()
    if configured and configured != default:
        return configured, "configured"
    if os.path.exists(default):
        return default, "configured"
    demo = demo_db_path()
    if demo:
        return demo, "demo"
    return default, "configured"


def country_db() -> MMDBFile:
    return mmdb_file(country_db_location()[0], "country")


def asn_db() -> MMDBFile | None:
    path = conf.asn_db_path()
    return mmdb_file(path, "asn") if path else None


def country_of(record: Any) -> tuple[str, str]:
    """``(ISO code, English name)`` of a Country/City record; ("", "") if it has none.

    Some networks (anycast, satellite) have no ``country`` but a
    ``registered_country``: that is the best answer there is. Called once per
    IP on bulk paths, hence EAFP rather than a type check per level.
    """
    if not record:
        return "", ""
    try:
        country = record.get("country") or record["registered_country"]
        code = country["iso_code"]
        name = country.get("names", {}).get("en", "")
    except (KeyError, TypeError, AttributeError):
        return "", ""
    if type(code) is not str or len(code) != 2 or not code.isascii():
        return "", ""
    return code.upper(), name if type(name) is str else ""


def network_of(record: Any) -> tuple[int | None, str]:
    """``(ASN, organisation)`` of an ASN/ISP record."""
    if not isinstance(record, dict):
        return None, ""
    asn = record.get("autonomous_system_number")
    org = record.get("autonomous_system_organization") or ""
    return (asn if isinstance(asn, int) else None), (org if isinstance(org, str) else "")
