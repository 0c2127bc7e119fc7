"""Jobs of the alerts app: they only call services."""

from __future__ import annotations

from alerts import services
from alerts.evaluate import alerts_evaluate as _evaluate


def alerts_evaluate() -> str:
    return _evaluate()


def notifications_purge() -> str:
    return f"deleted {services.notifications_purge()} notifications past retention"
