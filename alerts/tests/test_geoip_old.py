"""The real (2018) test GeoIP database is old: one alert, and one more once it is fine again."""

from __future__ import annotations

import pytest
from django.utils import timezone

from alerts.evaluate import alerts_evaluate
from alerts.tests.helpers import rule, webhook

pytestmark = pytest.mark.django_db


def test_an_old_geoip_database_alerts_once_and_says_when_it_is_fine(hooks) -> None:  # type: ignore[no-untyped-def]
    watch = rule("geoip_old", [webhook(hooks)], threshold=30)
    for _ in range(3):
        alerts_evaluate()
    [old] = [r.json() for r in hooks.received]
    assert old["subject"] == "GeoIP database is out of date"
    assert "was built 2018-" in old["text"] and "the rule allows 30)" in old["text"]
    assert old["link"] == "/settings/geo/"

    # Allowing more days than it has is what a fresh database looks like to the rule.
    type(watch).objects.filter(pk=watch.pk).update(threshold=100_000)
    alerts_evaluate(timezone.now())
    assert hooks.received[-1].json()["subject"] == "GeoIP database is fine again"
    assert len(hooks.received) == 2
