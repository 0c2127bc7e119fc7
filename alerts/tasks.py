"""Jobs of the alerts app: they only call services."""

from __future__ import annotations

from alerts import services


def notifications_purge() -> str:
    return f"deleted {services.notifications_purge()} notifications past retention"
