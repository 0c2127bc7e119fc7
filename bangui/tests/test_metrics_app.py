"""/metrics' BanGUI part fed by the apps: history archive, blocklist imports, geo tiers."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from bangui.metrics import fail2ban as f2b_metrics
from bangui.models import Counter
from blocklists.models import BlocklistSource, ImportRun
from jails.history.services import history_purge, history_sync
from jails.models import BanRecord

TOKEN = "another-metrics-token-for-tests"


@pytest.fixture(autouse=True)
def _token(settings) -> Iterator[None]:  # type: ignore[no-untyped-def]
    settings.BANGUI_METRICS_TOKEN = TOKEN
    f2b_metrics.forget()
    yield
    f2b_metrics.forget()


def scrape(client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:  # type: ignore[no-untyped-def]
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.content.decode())
        for s in family.samples
    }


def _in_f2b_db(lab, ips: list[str], rows: int, timeout: float = 10) -> None:  # type: ignore[no-untyped-def]
    """fail2ban writes bans to its DB from a queue, a moment after the ban: wait for them."""
    marks = ",".join("?" * len(ips))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        conn = sqlite3.connect(f"file:{lab.db_path}?mode=ro", uri=True)
        try:
            found = conn.execute(f"SELECT count(*) FROM bans WHERE ip IN ({marks})", ips)
            if found.fetchone()[0] >= rows:
                return
        except sqlite3.OperationalError:
            pass  # locked for a moment
        finally:
            conn.close()
        time.sleep(0.05)
    raise AssertionError(f"{ips} never reached fail2ban's database")


def test_the_archive_count_follows_the_sync_and_the_purge(client, configured, f2b):
    ips = ["192.0.2.1", "192.0.2.2", "192.0.2.3"]
    f2b.client().ban("alpha", ips)
    f2b.client().ban("beta", ["192.0.2.1"])
    _in_f2b_db(f2b, ips, 4)
    assert history_sync(client=f2b.client(), db_path=f2b.db_path).ok
    archived = BanRecord.objects.count()
    assert archived >= 4
    assert scrape(client)[("bangui_archived_bans", ())] == archived
    assert history_sync(client=f2b.client(), db_path=f2b.db_path).ok  # the same rows again
    assert scrape(client)[("bangui_archived_bans", ())] == archived
    BanRecord.objects.filter(ip="192.0.2.3").update(banned_at=timezone.now() - timedelta(days=400))
    assert history_purge() == 1
    assert scrape(client)[("bangui_archived_bans", ())] == BanRecord.objects.count() == archived - 1


def test_the_sync_lag_is_the_time_since_the_last_good_sync(client, configured, f2b):
    metrics = scrape(client)
    assert (
        metrics[("bangui_history_sync_lag_seconds", ())]
        != metrics[("bangui_history_sync_lag_seconds", ())]
    )  # NaN: never
    assert history_sync(client=f2b.client(), db_path=f2b.db_path).ok
    lag = scrape(client)[("bangui_history_sync_lag_seconds", ())]
    assert 0 <= lag < 30


def test_each_sources_last_finished_import_has_its_status_and_age(client, configured):
    now = timezone.now()
    feed = BlocklistSource.objects.create(name="feed", url="https://lists.example/a.txt")
    other = BlocklistSource.objects.create(name="other", url="https://lists.example/b.txt")
    BlocklistSource.objects.create(name="never", url="https://lists.example/c.txt")
    ImportRun.objects.create(
        source=feed, url=feed.url, status="ok", finished_at=now - timedelta(hours=2)
    )
    ImportRun.objects.create(
        source=feed, url=feed.url, status="failed", finished_at=now - timedelta(minutes=5)
    )
    ImportRun.objects.create(source=feed, url=feed.url, status="running")  # not finished
    ImportRun.objects.create(
        source=other, url=other.url, status="ok", dry_run=True, finished_at=now
    )
    metrics = scrape(client)
    status = {k[1]: v for k, v in metrics.items() if k[0] == "bangui_blocklist_last_import_status"}
    assert status == {(("source", "feed"), ("status", "failed")): 1}
    age = metrics[("bangui_blocklist_last_import_age_seconds", (("source", "feed"),))]
    assert 290 < age < 400


def test_geo_lookups_are_counted_by_tier_across_a_flush(client, configured):
    from geo.lookup import counts
    from geo.selectors import geo_lookup_many

    ips = ["81.2.69.142", "81.2.69.160", "2.125.160.216"]  # in the 2018 demo database
    geo_lookup_many(ips)
    geo_lookup_many(ips)  # now from memory
    before = scrape(client)
    assert before[("bangui_geo_lookups_total", (("tier", "mmdb"),))] >= 3
    assert before[("bangui_geo_lookups_total", (("tier", "memory"),))] >= 3
    counts.flush()
    assert Counter.objects.filter(name__startswith=counts.PREFIX).exists()
    after = scrape(client)
    for tier in counts.TIERS:
        key = ("bangui_geo_lookups_total", (("tier", tier),))
        assert after[key] == before[key]  # written, not counted twice
