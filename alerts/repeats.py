"""The "repeat offender" event: an address newly archived that was banned before within N days.

One message per run lists them (the first 10 and how many more), not one per
address: during an attack most bans are repeats. Blocklist bans are left out
unless the rule asks for that origin, since each refresh of a list bans the same
addresses again.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, Max, Min
from django.urls import reverse

from alerts.events import Event, link, state_time
from alerts.models import Rule
from alerts.text import quoted
from jails.models import BanRecord

SHOWN = 10
# At most this many new addresses are looked at per run.
NEW_MAX = 5_000


def _where(repeats: list[dict[str, Any]]) -> str:
    """One address: its history page; several: the history."""
    if len(repeats) == 1:
        return f"{settings.BANGUI_BASE_URL}{reverse('history_ip', args=[repeats[0]['ip']])}"
    return link("history")


def repeat_offender(rule: Rule, state: dict[str, object], now: datetime) -> list[Event]:
    since = state_time(state, "since") or rule.created_at
    bans = BanRecord.objects.all()
    if rule.jail:
        bans = bans.filter(jail=rule.jail)
    if rule.country:
        bans = bans.filter(country_code=rule.country.upper())
    bans = bans.filter(origin=rule.origin) if rule.origin else bans.exclude(origin="blocklist")
    fresh = bans.filter(synced_at__gt=since, synced_at__lte=now)
    # The cursor moves to the newest row seen, not to now: a sync still writing
    # (its rows stamped before now, committed after) is read on the next run.
    newest = fresh.aggregate(m=Max("synced_at"))["m"]
    if newest is None:
        return []
    state["since"] = newest.isoformat()
    new = set(fresh.values_list("ip", flat=True)[:NEW_MAX])
    repeats = list(
        bans.filter(ip__in=new, banned_at__gte=now - timedelta(days=rule.threshold))
        .values("ip")
        .annotate(n=Count("id"), first=Min("banned_at"))
        .filter(n__gt=1)
        .order_by("-n", "ip")
    )
    if not repeats:
        return []
    lines = [
        f"{quoted(r['ip'], 64)}: {r['n']} bans since {r['first']:%Y-%m-%d %H:%M}"
        for r in repeats[:SHOWN]
    ]
    more = f"\n… and {len(repeats) - SHOWN} more." if len(repeats) > SHOWN else ""
    return [
        Event(
            subject=f"{len(repeats)} address{'es' if len(repeats) > 1 else ''} banned again "
            f"within {rule.threshold} days",
            body="\n".join(lines) + more,
            link=_where(repeats),
        )
    ]
