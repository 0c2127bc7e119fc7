"""fail2ban's database, read directly or through the root broker: one interface.

The web and job processes read fail2ban's SQLite DB for the jail page, the IP
lookup and the history archive. Run as root they open the file themselves
(``LocalDb``); run unprivileged they cannot, and the broker runs the same
queries of ``bangui.fail2ban.db`` for them (``BrokerDb``), on the DB fail2ban
names, never on a path the caller chose. Errors are ``sqlite3.Error`` either
way (``ReadTooLong`` for a read cut off), so callers fall back the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from . import db
from .db import BanCount, BanRowTuple, BanScope, BanTime, CurrentBan, Keyset


class LocalDb:
    """Reads of a DB file this process may open."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.key = path

    def ban_times(self, jail: str, ips: Sequence[str]) -> dict[str, BanTime]:
        return db.ban_times(self.path, jail, ips)

    def current_bans(
        self,
        scope: BanScope,
        *,
        limit: int,
        before: Keyset | None = None,
        after: Keyset | None = None,
        offset: int = 0,
    ) -> list[CurrentBan]:
        return db.current_bans(
            self.path, scope, limit=limit, before=before, after=after, offset=offset
        )

    def current_ban_count(self, scope: BanScope, *, jail_size: int, slack: int = 0) -> BanCount:
        return db.current_ban_count(self.path, scope, jail_size=jail_size, slack=slack)

    def bans_written_since(self, jail: str, rowid: int) -> tuple[int, int]:
        return db.bans_written_since(self.path, jail, rowid)

    def schema(self) -> tuple[int | None, list[str]]:
        return db.schema(self.path)

    def bans_chunk(
        self, jail: str, *, after_time: int, after_rowid: int, limit: int
    ) -> list[BanRowTuple]:
        return db.bans_chunk(
            self.path, jail, after_time=after_time, after_rowid=after_rowid, limit=limit
        )

    def bans_of_ip(self, ip: str) -> list[tuple[str, str, int, int, int, str | None]]:
        return db.bans_of_ip(self.path, ip)


def scope_args(scope: BanScope) -> dict[str, Any]:
    return {
        "jail": scope.jail,
        "now": scope.now,
        "max_bantime": scope.max_bantime,
        "purge_age": scope.purge_age,
        "q": scope.q,
    }


class BrokerDb:
    """The same reads, carried out by the broker (``bangui.broker.ops_db``)."""

    def __init__(self, client: Any) -> None:  # a BrokerClient (no import: no cycle)
        self.client = client
        self.key = f"broker:{client.socket_path}"

    def _call(self, name: str, **args: Any) -> Any:
        return self.client.call(name, **args)

    def ban_times(self, jail: str, ips: Sequence[str]) -> dict[str, BanTime]:
        found: dict[str, BanTime] = {}
        for start in range(0, len(ips), db.MAX_LOOKUP):
            chunk = list(ips[start : start + db.MAX_LOOKUP])
            raw = self._call("db_ban_times", jail=jail, ips=chunk)
            found.update({ip: BanTime(*map(int, v)) for ip, v in raw.items()})
        return found

    def current_bans(
        self,
        scope: BanScope,
        *,
        limit: int,
        before: Keyset | None = None,
        after: Keyset | None = None,
        offset: int = 0,
    ) -> list[CurrentBan]:
        rows = self._call(
            "db_current_bans",
            scope=scope_args(scope),
            limit=limit,
            before=str(before) if before else "",
            after=str(after) if after else "",
            offset=offset,
        )
        bans = []
        for ip, timeofban, bantime, bancount, key in rows:
            keyset = Keyset.parse(str(key))
            if keyset is None:
                continue
            bans.append(CurrentBan(str(ip), int(timeofban), int(bantime), int(bancount), keyset))
        return bans

    def current_ban_count(self, scope: BanScope, *, jail_size: int, slack: int = 0) -> BanCount:
        raw = self._call(
            "db_current_ban_count", scope=scope_args(scope), jail_size=jail_size, slack=slack
        )
        return BanCount(*map(int, raw))

    def bans_written_since(self, jail: str, rowid: int) -> tuple[int, int]:
        count, top = self._call("db_bans_written_since", jail=jail, rowid=rowid)
        return int(count), int(top)

    def schema(self) -> tuple[int | None, list[str]]:
        version, jails = self._call("db_schema")
        return (int(version) if version is not None else None), [str(j) for j in jails]

    def bans_chunk(
        self, jail: str, *, after_time: int, after_rowid: int, limit: int
    ) -> list[BanRowTuple]:
        rows = self._call(
            "db_bans_chunk", jail=jail, after_time=after_time, after_rowid=after_rowid, limit=limit
        )
        return [(int(r[0]), str(r[1]), int(r[2]), int(r[3]), int(r[4]), r[5]) for r in rows]

    def bans_of_ip(self, ip: str) -> list[tuple[str, str, int, int, int, str | None]]:
        rows = self._call("db_bans_of_ip", ip=ip)
        return [(str(r[0]), str(r[1]), int(r[2]), int(r[3]), int(r[4]), r[5]) for r in rows]


# The reads BanGUI makes of fail2ban's DB, directly or through the broker.
DbReader = LocalDb | BrokerDb
