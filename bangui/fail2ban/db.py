"""Short read-only queries on fail2ban's own SQLite database.

fail2ban does not use WAL; a long read transaction makes it lose bans
("database is locked"). So: read-only URI, a short busy timeout, one query,
fetchall, close. Never write, never change the journal mode.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote

# SQLite's limit on bound parameters is 999 on old builds; stay well below.
_CHUNK = 500


@dataclass(frozen=True)
class BanTime:
    timeofban: int  # epoch seconds
    bantime: int  # seconds; -1 is permanent
    bancount: int


def _connect(db_path: str) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{quote(db_path)}?mode=ro", uri=True, timeout=2)


def ban_times(db_path: str, jail: str, ips: Sequence[str]) -> dict[str, BanTime]:
    """The latest ban of each IP in a jail (table ``bips``); missing IPs are left out."""
    found: dict[str, BanTime] = {}
    if not ips:
        return found
    conn = _connect(db_path)
    try:
        for start in range(0, len(ips), _CHUNK):
            chunk = list(ips[start : start + _CHUNK])
            marks = ",".join("?" * len(chunk))
            # Only the placeholders are interpolated; values are bound.
            sql = (
                "SELECT ip, timeofban, bantime, bancount FROM bips "
                f"WHERE jail = ? AND ip IN ({marks})"
            )
            rows = conn.execute(sql, [jail, *chunk]).fetchall()
            for ip, timeofban, bantime, bancount in rows:
                found[str(ip)] = BanTime(int(timeofban), int(bantime), int(bancount))
    finally:
        conn.close()
    return found
