"""What each rule watches: one detector per event kind.

A detector reads BanGUI's own records (the health snapshot, the history
archive, the import runs, the config changes, the sync state), compares them
with the rule's ``state`` (which it updates), and returns what is new. It never
asks fail2ban itself: the health and sync jobs already do, and an alert job
that hung on a silent fail2ban could not say that it is silent.

Everything that comes from outside (errors, jail names, addresses, file
names, what a user typed) goes through ``quoted``/``one_line``.
"""

from __future__ import annotations

import ipaddress
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.db.models import Count, Max, QuerySet
from django.urls import reverse
from django.utils import timezone

from alerts.models import Rule
from alerts.text import one_line, quoted
from bangui.models import ServerStatus
from blocklists.models import BlocklistSource, ImportRun
from geo.lookup.mmdb import country_db
from jails.models import BanRecord, ConfigChange, HistorySyncState

TOP = 5
# A spike's networks are counted over at most this many of its bans.
NETWORK_SAMPLE = 20_000
# How late a scheduled source may be before it is overdue: its period times this.
OVERDUE_FACTOR = 2
PERIODS = {
    BlocklistSource.Schedule.HOURLY: timedelta(hours=1),
    BlocklistSource.Schedule.DAILY: timedelta(days=1),
    BlocklistSource.Schedule.WEEKLY: timedelta(days=7),
}


@dataclass(frozen=True)
class Event:
    subject: str
    body: str
    link: str = ""
    # The end of something already reported ("back again"): sent even in a quiet period,
    # so that every "down" gets its "back".
    closes: bool = False


def link(name: str, **query: str) -> str:
    path = reverse(name) + (f"?{urlencode(query)}" if query else "")
    return f"{settings.BANGUI_BASE_URL}{path}"


def _when(moment: datetime) -> str:
    return f"{timezone.localtime(moment):%Y-%m-%d %H:%M:%S %Z}"


def _span(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def state_time(state: dict[str, object], key: str) -> datetime | None:
    raw = state.get(key)
    return datetime.fromisoformat(raw) if isinstance(raw, str) else None


# -- fail2ban unreachable --------------------------------------------------------------


def unreachable(rule: Rule, state: dict[str, object], now: datetime) -> list[Event]:
    """Down for longer than ``threshold`` seconds: one message; back again: one more."""
    row = ServerStatus.objects.filter(pk=1).first()
    if row is None or row.checked_at is None:
        return []
    down_since = state_time(state, "down_since")
    if not row.online:
        since = row.changed_at or row.checked_at
        if down_since is not None or (now - since).total_seconds() < rule.threshold:
            return []
        state["down_since"] = since.isoformat()
        who = "BanGUI's broker" if row.last_error.startswith("broker") else "fail2ban"
        return [
            Event(
                subject=f"{who} is unreachable",
                body=(
                    f"{who} has not answered since {_when(since)} ({_span(now - since)}).\n"
                    f"Last error: {quoted(row.last_error or 'no answer')}\n"
                    "Bans, unbans and imports do not work until it answers again."
                ),
                link=link("dashboard"),
            )
        ]
    if down_since is None:
        return []
    del state["down_since"]
    return [
        Event(
            subject="fail2ban is back",
            body=(
                f"fail2ban {one_line(row.version, 20)} answers again after "
                f"{_span(now - down_since)} (unreachable since {_when(down_since)}).\n"
                f"{row.jail_count} jails, {row.currently_banned} addresses banned now."
            ),
            link=link("dashboard"),
            closes=True,
        )
    ]


# -- ban spike -------------------------------------------------------------------------


def _network(ip: str) -> str:
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return one_line(ip, 64)  # fail2ban bans any string; a network ban stays as it is
    prefix = 24 if address.version == 4 else 64
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


def _spike_body(bans: QuerySet[BanRecord], count: int, rule: Rule) -> str:
    countries = (
        bans.values("country_code").annotate(n=Count("id")).order_by("-n", "country_code")[:TOP]
    )
    jails = bans.values("jail").annotate(n=Count("id")).order_by("-n", "jail")[:TOP]
    networks = Counter(_network(ip) for ip in bans.values_list("ip", flat=True)[:NETWORK_SAMPLE])
    # Ties in name order, so that the same bans always read the same.
    top_networks = sorted(networks.items(), key=lambda item: (-item[1], item[0]))[:TOP]
    lines = [
        f"{count} bans in the last {rule.window_minutes} min (the rule says more than "
        f"{rule.threshold}).",
        "Top countries: "
        + ", ".join(f"{one_line(c['country_code'] or '??', 2)} {c['n']}" for c in countries),
        "Top networks: " + ", ".join(f"{quoted(n, 64)} {k}" for n, k in top_networks),
        "Jails: " + ", ".join(f"{quoted(j['jail'], 64)} {j['n']}" for j in jails),
    ]
    return "\n".join(lines)


def ban_spike(rule: Rule, state: dict[str, object], now: datetime) -> list[Event]:
    """More than ``threshold`` bans in ``window_minutes``: once, until it calms down again."""
    bans = BanRecord.objects.filter(
        banned_at__gt=now - timedelta(minutes=rule.window_minutes), banned_at__lte=now
    )
    for field in ("jail", "origin"):
        if getattr(rule, field):
            bans = bans.filter(**{field: getattr(rule, field)})
    if rule.country:
        bans = bans.filter(country_code=rule.country.upper())
    group = {"jail": "jail", "country": "country_code"}.get(rule.scope)
    if group is None:
        total = bans.count()
        counts = {"": total} if total > rule.threshold else {}
    else:
        counts = dict(bans.values_list(group).annotate(n=Count("id")).filter(n__gt=rule.threshold))
    was_open = state.get("open")
    still = set(was_open if isinstance(was_open, list) else []) & set(counts)
    events = []
    for key, count in sorted(counts.items()):
        if key in still:
            continue
        these = bans.filter(**{group: key}) if group else bans
        where = f" in {rule.get_scope_display().lower().removeprefix('per ')} {quoted(key, 64)}"
        query = {"period": "24h", **({"jail": key} if group == "jail" else {})}
        if group == "country_code":
            query["country"] = key
        events.append(
            Event(
                subject=f"Ban spike: {count} bans in {rule.window_minutes} min"
                + (where if group else ""),
                body=_spike_body(these, count, rule),
                link=link("history", **query),
            )
        )
    state["open"] = sorted(set(counts))
    return events


# -- blocklists ------------------------------------------------------------------------


def blocklist_failed(rule: Rule, state: dict[str, object], now: datetime) -> list[Event]:
    """A finished import that failed, and a scheduled source with no success for too long."""
    since = state_time(state, "since") or rule.created_at
    failed = list(
        ImportRun.objects.filter(
            finished_at__gt=since, finished_at__lte=now, status=ImportRun.Status.FAILED
        ).order_by("finished_at", "id")[:50]
    )
    last = ImportRun.objects.filter(finished_at__lte=now).aggregate(m=Max("finished_at"))["m"]
    state["since"] = max(since, last or since).isoformat()
    events = [
        Event(
            subject=f"Blocklist import failed: {quoted(run.source_name or run.url, 80)}",
            body=(
                f"The import of {quoted(run.source_name or run.url, 80)} started "
                f"{_when(run.created_at)} failed: {quoted(run.error or 'no reason given')}"
            ),
            link=f"{settings.BANGUI_BASE_URL}{reverse('blocklist_run', args=[run.pk])}",
        )
        for run in failed
    ]
    return events + _overdue(state, now)


def _overdue(state: dict[str, object], now: datetime) -> list[Event]:
    good = (ImportRun.Status.OK, ImportRun.Status.UNCHANGED, ImportRun.Status.PARTIAL)
    sources = BlocklistSource.objects.filter(enabled=True).exclude(
        schedule=BlocklistSource.Schedule.MANUAL
    )
    last_ok = dict(
        ImportRun.objects.filter(source__in=sources, status__in=good)
        .values_list("source_id")
        .annotate(m=Max("finished_at"))
    )
    was = state.get("overdue")
    before = set(was if isinstance(was, list) else [])
    overdue = set()
    events = []
    for source in sources:
        allowed = PERIODS[BlocklistSource.Schedule(source.schedule)] * OVERDUE_FACTOR
        ok_at = last_ok.get(source.pk)
        if now - (ok_at or source.created_at) <= allowed:
            continue
        overdue.add(source.pk)
        if source.pk in before:
            continue
        said = f"last succeeded {_when(ok_at)}" if ok_at else "has never succeeded"
        events.append(
            Event(
                subject=f"Blocklist overdue: {quoted(source.name, 80)}",
                body=(
                    f"The {source.get_schedule_display().lower()} source "
                    f"{quoted(source.name, 80)} {said}."
                ),
                link=link("blocklists"),
            )
        )
    state["overdue"] = sorted(overdue)
    return events


# -- configuration changes -------------------------------------------------------------


def config_change(rule: Rule, state: dict[str, object], now: datetime) -> list[Event]:
    """Every apply (worked, or failed and undone) and every rollback, who and what."""
    since = state_time(state, "since") or rule.created_at
    applied = list(ConfigChange.objects.filter(created_at__gt=since, created_at__lte=now)[:50])
    rolled = list(
        ConfigChange.objects.filter(rolled_back_at__gt=since, rolled_back_at__lte=now)[:50]
    )
    state["since"] = now.isoformat()
    events = []
    for change in reversed(applied):
        files = ", ".join(quoted(f, 80) for f in change.files[:5])
        more = f" and {len(change.files) - 5} more" if len(change.files) > 5 else ""
        outcome = (
            "applied and reloaded"
            if change.ok
            else f"failed at {one_line(change.step, 20)}; the files were put back"
        )
        said = f"\n{quoted(change.message)}" if change.message else ""
        events.append(
            Event(
                subject=f"Configuration {'applied' if change.ok else 'change failed'}: "
                f"{quoted(change.what, 80)}",
                body=(
                    f"{quoted(change.username or 'someone', 40)} changed the configuration "
                    f"at {_when(change.created_at)}: {quoted(change.what, 80)}.\n"
                    f"Files: {files}{more}\nOutcome: {outcome}.{said}"
                ),
                link=link("audit_log"),
            )
        )
    for change in rolled:
        events.append(
            Event(
                subject=f"Configuration rolled back: {quoted(change.what, 80)}",
                body=f"The change of {_when(change.created_at)} was undone; the previous "
                f"files are back ({', '.join(quoted(f, 80) for f in change.files[:5])}).",
                link=link("audit_log"),
            )
        )
    return events


# -- history sync ----------------------------------------------------------------------


def history_lag(rule: Rule, state: dict[str, object], now: datetime) -> list[Event]:
    """No successful history sync for longer than ``threshold`` seconds; and caught up."""
    sync = HistorySyncState.objects.filter(pk=1).first()
    if sync is None or sync.last_run_at is None:
        return []
    lagging_since = state_time(state, "lagging_since")
    behind = sync.last_ok_at is None or (now - sync.last_ok_at).total_seconds() > rule.threshold
    if behind and lagging_since is None:
        state["lagging_since"] = (sync.last_ok_at or sync.last_run_at).isoformat()
        said = f"since {_when(sync.last_ok_at)}" if sync.last_ok_at else "ever"
        return [
            Event(
                subject="History sync is lagging",
                body=(
                    f"No ban has been copied into the history archive {said}.\n"
                    f"Last error: {quoted(sync.last_error or 'none; the job may not be running')}"
                ),
                link=link("history"),
            )
        ]
    if not behind and lagging_since is not None:
        del state["lagging_since"]
        return [
            Event(
                subject="History sync caught up",
                body=f"The history archive is up to date again (behind since "
                f"{_when(lagging_since)}).",
                link=link("history"),
                closes=True,
            )
        ]
    return []


# -- GeoIP database -----------------------------------------------------------------------


def geoip_old(rule: Rule, state: dict[str, object], now: datetime) -> list[Event]:
    """The country database is older than ``threshold`` days, or cannot be used; and fixed."""
    db = country_db().status()
    built = date.fromisoformat(db.build_date) if db.build_date else None
    age = (now.date() - built).days if built else None
    problem = ""
    if not db.ok:
        problem = f"cannot be used: {quoted(db.error or 'not opened')}"
    elif age is not None and age > rule.threshold:
        problem = f"was built {built} ({age} days ago; the rule allows {rule.threshold})"
    was = state.get("problem")
    if problem and not was:
        state["problem"] = problem
        return [
            Event(
                subject="GeoIP database is out of date" if db.ok else "GeoIP database unusable",
                body=f"The country database {quoted(db.path, 120)} {problem}.\n"
                "Countries of new bans may be wrong or missing until it is updated.",
                link=link("geo_settings"),
            )
        ]
    if not problem and was:
        del state["problem"]
        return [
            Event(
                subject="GeoIP database is fine again",
                body=f"The country database {quoted(db.path, 120)} was built {built}.",
                link=link("geo_settings"),
                closes=True,
            )
        ]
    return []
