"""The evaluation job: each rule's detector, then its quiet period and digest, then sending.

No storms: after a rule sends, it stays quiet for ``quiet_minutes``; what happens
meanwhile is kept in its digest, and the first run after the quiet period sends
one message that lists it all. Several events found in one run go out as one
message too. Only an event that closes one already sent ("back again") skips
the quiet period, so that no "down" is left without its "back".
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from alerts import events
from alerts.delivery import Message
from alerts.events import Event, link
from alerts.jailwatch import jail_stopped
from alerts.models import Rule
from alerts.repeats import repeat_offender
from alerts.services import notify, retries_due
from alerts.text import one_line

log = logging.getLogger("bangui.alerts")

DETECTORS: dict[str, Callable[[Rule, dict[str, object], datetime], list[Event]]] = {
    Rule.Event.UNREACHABLE: events.unreachable,
    Rule.Event.BAN_SPIKE: events.ban_spike,
    Rule.Event.BLOCKLIST_FAILED: events.blocklist_failed,
    Rule.Event.CONFIG_CHANGE: events.config_change,
    Rule.Event.HISTORY_LAG: events.history_lag,
    Rule.Event.GEOIP_OLD: events.geoip_old,
    Rule.Event.JAIL_STOPPED: jail_stopped,
    Rule.Event.REPEAT_OFFENDER: repeat_offender,
}

# A digest lists at most this many events, and says how many more there were.
DIGEST_LINES = 30


def _message(rule: Rule, event: Event) -> Message:
    return Message(event=rule.event, subject=event.subject, body=event.body, link=event.link)


def _digest(rule: Rule, lines: list[str]) -> Message:
    shown = lines[:DIGEST_LINES]
    more = len(lines) - len(shown)
    body = "\n".join(shown) + (f"\n… and {more} more." if more else "")
    return Message(
        event=rule.event,
        subject=f"{len(lines)} alerts for “{one_line(rule.name, 60)}”",
        body=f"What happened since the last message of this rule:\n{body}",
        link=link("alerts"),
    )


def _line(event: Event, now: datetime) -> str:
    return f"{timezone.localtime(now):%H:%M} {event.subject}"


@dataclass(frozen=True)
class Plan:
    messages: list[Message]
    # True when one of them starts a new quiet period (a "back again" does not).
    quiets: bool


def plan(rule: Rule, state: dict[str, object], found: list[Event], now: datetime) -> Plan:
    """The messages to send now; the rest goes into the rule's digest (``state``)."""
    closing = [_message(rule, e) for e in found if e.closes]
    messages: list[Message] = []
    held = state.get("digest")
    digest: list[str] = list(held) if isinstance(held, list) else []
    fresh = [e for e in found if not e.closes]
    quiet = rule.last_sent_at is not None and now - rule.last_sent_at < timedelta(
        minutes=rule.quiet_minutes
    )
    if quiet:
        digest += [_line(e, now) for e in fresh]
    elif len(fresh) == 1 and not digest:
        messages.append(_message(rule, fresh[0]))
    elif fresh or digest:
        messages.append(_digest(rule, digest + [_line(e, now) for e in fresh]))
        digest = []
    state["digest"] = digest[-500:]
    return Plan(closing + messages, quiets=bool(messages))


def evaluate_rule(rule: Rule, now: datetime) -> int:
    """Run one rule; the number of messages it sent."""
    state = dict(rule.state)
    found = DETECTORS[rule.event](rule, state, now)
    todo = plan(rule, state, found, now)
    if todo.quiets:
        rule.last_sent_at = now
    Rule.objects.filter(pk=rule.pk).update(state=state, last_sent_at=rule.last_sent_at)
    channels = [c for c in rule.channels.all() if c.enabled]
    for message in todo.messages:
        notify(channels=channels, message=message, rule=rule)
    return len(todo.messages)


def alerts_evaluate(now: datetime | None = None) -> str:
    """Every minute: retry failed deliveries whose pause is over, then run every rule."""
    now = now or timezone.now()
    retried = retries_due(now)
    sent = 0
    for rule in Rule.objects.filter(enabled=True).prefetch_related("channels"):
        # Claimed with a conditional update: a second copy of the job skips this rule.
        if not Rule.objects.filter(pk=rule.pk, evaluated_at=rule.evaluated_at).update(
            evaluated_at=now
        ):
            continue
        try:
            sent += evaluate_rule(rule, now)
        except Exception:
            # One broken rule must not silence the others.
            log.exception("alert rule %r could not be evaluated", rule.name)
    return f"{sent} messages, {retried} retries"
