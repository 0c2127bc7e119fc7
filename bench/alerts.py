"""The alert job during an attack, and what alerts add to every page's status bar.

- Ours, the evaluation job (``alerts.evaluate.alerts_evaluate``) with three ban-spike
  rules (all jails, per jail, per country) while 100,000 bans sit in their 5-minute
  window (200,000 older ones around them): the steady state of a long attack, each
  spike already reported, so the job counts and sends nothing. Also one rule's
  first evaluation, which builds the message (top countries and networks, over a
  sample of 20,000 bans) and sends it nowhere (no channel). Goal: the whole job
  ≤ 1 s, far inside its minute.
- Baseline: the same counts the simple way, every ban of the window fetched and
  counted in Python.
- ``GET /status/bar/`` (every page polls it every 10 s) with the alert hint vs
  with the hint turned off (``failing_channels`` returning nothing): what the hint
  costs per request. Goal: under 5% more.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from .core import BenchContext, Row, interleaved
from .django_env import django_env
from .history import JAILS, _addresses, _empty_archive, insert_archive

WINDOW_BANS = 100_000
OLD_BANS = 200_000
COUNTRIES = ["CN", "US", "RU", "DE", "BR", "IN", "NL", "VN", "FR", "KR"]
JOB_GOAL = 1.0


def fill() -> float:
    rng = random.Random(19)
    ips = _addresses(rng, 50_000)
    now = datetime.now(UTC)
    stamp = now.strftime("%Y-%m-%d %H:%M:%S")

    def rows() -> Iterator[tuple[Any, ...]]:
        for n in range(WINDOW_BANS + OLD_BANS):
            if n < WINDOW_BANS:
                at = now - timedelta(seconds=1 + n * 240 / WINDOW_BANS)
            else:
                at = now - timedelta(minutes=10, seconds=(n - WINDOW_BANS) * 30)
            yield (
                ips[rng.randrange(len(ips))], JAILS[n % len(JAILS)],
                at.strftime("%Y-%m-%d %H:%M:%S.%f"), 600, 1, 3, "", "detected",
                COUNTRIES[n % len(COUNTRIES)], None, None, "", stamp,
            )  # fmt: skip

    return insert_archive(rows())


def naive_spike_counts() -> dict[str, int]:
    """Every ban of the window fetched; overall, per jail and per country counted in Python."""
    from django.utils import timezone

    from jails.models import BanRecord

    since = timezone.now() - timedelta(minutes=5)
    counts: Counter[str] = Counter()
    for jail, country in BanRecord.objects.filter(banned_at__gt=since).values_list(
        "jail", "country_code"
    ):
        counts[""] += 1
        counts[f"jail:{jail}"] += 1
        counts[f"country:{country}"] += 1
    return dict(counts)


def run(ctx: BenchContext) -> list[Row]:
    env = django_env(ctx)
    _empty_archive()
    seconds = fill()
    ctx.notes.append(
        f"alerts: {WINDOW_BANS + OLD_BANS:,} archived bans ({WINDOW_BANS:,} in the 5-minute "
        f"window) inserted in {seconds:.1f} s"
    )
    from django.utils import timezone

    from alerts import context_processors
    from alerts.evaluate import alerts_evaluate, evaluate_rule
    from alerts.models import Rule
    from alerts.selectors import failing_channels
    from alerts.services import rule_save
    from bangui import health

    Rule.objects.all().delete()
    for scope in ("overall", "jail", "country"):
        rule_save(
            rule=Rule(name=f"spike {scope}", event="ban_spike", threshold=1000,
                      window_minutes=5, scope=scope),
            channels=[],
        )  # fmt: skip
    alerts_evaluate()  # reports the spikes once (to no channel): the steady state follows
    first = Rule.objects.get(name="spike overall")
    if first.state.get("open") != [""]:
        raise RuntimeError(f"the spike was not seen: {first.state}")

    def first_evaluation() -> None:
        rule = Rule.objects.get(name="spike overall")
        rule.state = {}
        evaluate_rule(rule, timezone.now())

    def none() -> list[str]:
        return []

    def bar_without_hint() -> bytes:
        # Both readers of the hint: the bar's ETag and the template's context.
        health.failing_channels = context_processors.failing_channels = none
        try:
            return env.get("/status/bar/")
        finally:
            health.failing_channels = context_processors.failing_channels = failing_channels

    job, message, naive = interleaved(
        [(alerts_evaluate, 10), (first_evaluation, 10), (naive_spike_counts, 10)],
        rounds=10,
        warmup=2,
    )
    # Apart from the job: the garbage of 100k fetched rows would land in whichever
    # bar request came next.
    bar, bar_plain = interleaved(
        [(lambda: env.get("/status/bar/"), 500), (bar_without_hint, 500)], rounds=10
    )
    return [
        Row(
            "alerts: job, 3 spike rules, 100k bans in the window",
            job.summary(median=True),
            naive.summary(median=True),
            ratio=naive.median / job.median,
            target=1.0,
            goal="median ≤ 1 s",
            goal_met=job.median <= JOB_GOAL,
        ),
        Row(
            "alerts: one spike's first evaluation (message built)",
            message.summary(median=True),
            "-",
            goal="median ≤ 1 s",
            goal_met=message.median <= JOB_GOAL,
        ),
        Row(
            "alerts: GET /status/bar/ with the alert hint",
            bar.summary(median=True),
            bar_plain.summary(median=True),
            ratio=bar_plain.median / bar.median,
            target=0.95,
        ),
    ]
