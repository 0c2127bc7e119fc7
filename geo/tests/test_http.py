"""The HTTP fallback, against a real local server that speaks ip-api's batch protocol."""

from __future__ import annotations

import logging

import pytest

from geo.lookup.httpfallback import HttpFallback, HttpGeoError, parse_reply
from geo.lookup.pipeline import state
from geo.models import GeoCache
from geo.selectors import geo_lookup, geo_lookup_many, geo_status
from geo.services import geo_resolve_many

from .conftest import FakeClock, FakeIpApi, ip_api_answer, json_reply

pytestmark = pytest.mark.django_db


def client_for(ip_api: FakeIpApi, clock: FakeClock | None = None, **kwargs) -> HttpFallback:
    """Install a client with a test clock (and short timeouts) as the process's client."""
    if clock is not None:
        kwargs.update(clock=clock, sleep=clock.sleep)
    client = HttpFallback(ip_api.url, **kwargs)
    state().http = client
    return client


def test_it_resolves_what_maxmind_cannot(ip_api):
    info = geo_lookup("5.5.5.5")
    assert (info.country_code, info.country_name, info.source) == ("FR", "France", "http")
    assert (info.asn, info.org) == (3215, "Orange S.A.")
    assert ip_api.requests == [["5.5.5.5"]]


def test_it_is_off_by_default(settings, ip_api):
    settings.BANGUI_GEOIP_HTTP_FALLBACK = False
    assert not geo_lookup("5.5.5.5").resolved
    assert ip_api.requests == []


def test_only_valid_public_maxmind_misses_are_sent(ip_api):
    ips = [
        "8.8.8.8",
        "5.5.5.5",
        "5.5.5.6",
        "10.0.0.1",
        "::1",
        "bogus",
        "1.2.3.4/24",
        "",
        "1.2.3.256",
    ]
    geo_lookup_many(ips)
    # A network is looked up by its first address.
    assert sorted(ip_api.asked) == ["1.2.3.0", "5.5.5.5", "5.5.5.6"]


def test_it_logs_a_privacy_warning_once(ip_api, caplog):
    with caplog.at_level(logging.WARNING, logger="bangui.geo"):
        geo_lookup("5.5.5.5")
        geo_lookup("5.5.5.6")
    warnings = [r for r in caplog.records if "third party" in r.getMessage()]
    assert len(warnings) == 1
    assert "127.0.0.1" in warnings[0].getMessage()


def test_a_fail_answer_leaves_the_ip_unresolved(ip_api):
    info = geo_lookup("5.5.6.1")  # the fake service says "fail" for this one
    assert not info.resolved
    assert ip_api.asked == ["5.5.6.1"]


@pytest.mark.parametrize(
    "body",
    [
        b"<html>captive portal</html>",
        b"",
        b'{"status": "success", "query": "5.5.5.5", "countryCode": "FR"}',
        b"[1, 2, 3]",
        b'[{"status": "success"}]',
        b'[{"status": "success", "query": 17, "countryCode": "FR"}]',
        b"null",
    ],
)
def test_garbage_replies_resolve_nothing(ip_api, body):
    ip_api.handler = lambda ips: (200, {"Content-Type": "application/json"}, body)
    found = geo_resolve_many(["5.5.5.5", "5.5.5.6"], wait_http=False)
    assert not found["5.5.5.5"].resolved
    assert not found["5.5.5.6"].resolved
    assert set(GeoCache.objects.values_list("source", flat=True)) == {"none"}


def test_a_reply_never_sets_geo_for_an_ip_it_was_not_asked_about(ip_api):
    def liar(ips):
        return json_reply(
            [ip_api_answer("5.5.5.9"), ip_api_answer("5.5.5.5") | {"query": "5.5.5.8"}]
        )

    ip_api.handler = liar
    found = geo_resolve_many(["5.5.5.5", "5.5.5.6"])
    assert set(found) == {"5.5.5.5", "5.5.5.6"}
    assert not any(info.resolved for info in found.values())
    assert set(GeoCache.objects.values_list("ip", flat=True)) == {"5.5.5.5", "5.5.5.6"}


def test_malformed_fields_are_not_believed(ip_api):
    def odd(ips):
        return json_reply(
            [
                {"status": "success", "query": "5.5.5.5", "countryCode": "FRA", "country": "x"},
                {
                    "status": "success",
                    "query": "5.5.5.6",
                    "countryCode": "fr",
                    "as": "garbage",
                    "org": "Some Org",
                    "country": 12,
                },
                {"status": "success", "query": "5.5.5.6", "countryCode": "DE"},  # repeated
            ]
        )

    ip_api.handler = odd
    found = geo_lookup_many(["5.5.5.5", "5.5.5.6"])
    assert not found["5.5.5.5"].resolved
    assert (found["5.5.5.6"].country_code, found["5.5.5.6"].country_name) == ("FR", "")
    assert (found["5.5.5.6"].asn, found["5.5.5.6"].org) == (None, "Some Org")


def test_the_query_is_compared_in_canonical_form(ip_api):
    ip_api.handler = lambda ips: json_reply([ip_api_answer("5.5.5.5") | {"query": " 5.5.5.5"}])
    assert geo_lookup("5.5.5.5").resolved


def test_a_timeout_is_an_error_not_an_exception(ip_api):
    client_for(ip_api, timeout=(0.5, 0.2))
    ip_api.delay = 1.0
    assert not geo_lookup("5.5.5.5").resolved
    status = geo_status(count=False)
    assert "ReadTimeout" in str(status["last_error"])
    assert status["http_blocked_seconds"] == 5  # backoff after a failure


def test_a_server_that_is_down_is_an_error(ip_api, settings):
    settings.BANGUI_GEOIP_HTTP_URL = "http://127.0.0.1:9/batch"  # discard port: refused
    assert not geo_lookup("5.5.5.5").resolved
    assert "ConnectionError" in str(geo_status(count=False)["last_error"])


def test_errors_back_off_exponentially(ip_api, clock):
    client = client_for(ip_api, clock)
    ip_api.handler = lambda ips: (503, {}, b"busy")
    assert client.lookup(["5.5.5.5"]) == {}
    assert client.blocked_for == 5
    assert client.lookup(["5.5.5.5"]) == {}  # blocked: not even sent
    assert len(ip_api.requests) == 1
    clock.advance(5)
    client.lookup(["5.5.5.5"])
    assert client.blocked_for == 10
    ip_api.handler = lambda ips: json_reply([ip_api_answer(ip) for ip in ips])
    clock.advance(10)
    assert client.lookup(["5.5.5.5"])["5.5.5.5"] is not None
    assert client.blocked_for == 0


@pytest.mark.parametrize(
    ("headers", "blocked"),
    [({"Retry-After": "120"}, 120), ({"X-Ttl": "42", "X-Rl": "0"}, 42), ({}, 5)],
)
def test_a_429_blocks_for_as_long_as_the_server_says(ip_api, clock, headers, blocked):
    client = client_for(ip_api, clock)
    ip_api.handler = lambda ips: (429, headers, b"too many requests")
    assert client.lookup(["5.5.5.5"]) == {}
    assert client.blocked_for == blocked
    clock.advance(blocked - 1)
    client.lookup(["5.5.5.5"])
    assert len(ip_api.requests) == 1


def test_an_exhausted_window_blocks_until_it_resets(ip_api, clock):
    client = client_for(ip_api, clock)
    ip_api.handler = lambda ips: json_reply(
        [ip_api_answer(ip) for ip in ips], headers={"X-Rl": "0", "X-Ttl": "30"}
    )
    assert client.lookup(["5.5.5.5"])["5.5.5.5"] is not None
    assert client.blocked_for == 30


def test_it_sends_at_most_15_batches_a_minute(ip_api, clock):
    client = client_for(ip_api, clock)
    for i in range(16):
        client.lookup([f"5.5.5.{i}"])
    assert len(ip_api.requests) == 15
    clock.advance(60)
    client.lookup(["5.5.5.99"])
    assert len(ip_api.requests) == 16


def test_a_job_retries_after_the_backoff(ip_api, clock):
    client = client_for(ip_api, clock)
    replies = iter([(503, {}, b""), (200, {}, b"garbage")])
    ip_api.handler = lambda ips: (
        next(replies, None) or json_reply([ip_api_answer(ip) for ip in ips])
    )
    assert client.lookup(["5.5.5.5"], wait=True)["5.5.5.5"] is not None
    assert clock.slept == [5.0, 10.0]
    assert len(ip_api.requests) == 3


def test_a_job_waits_for_the_rate_limit(ip_api, clock):
    client = client_for(ip_api, clock)
    for i in range(15):
        client.lookup([f"5.5.5.{i}"])
    answers = client.lookup(["5.5.5.99"], wait=True)
    assert answers["5.5.5.99"] is not None
    assert clock.slept == [60.0]


def test_waiting_stops_at_the_deadline(ip_api, clock):
    client = client_for(ip_api, clock)
    ip_api.handler = lambda ips: (429, {"Retry-After": "300"}, b"")
    client.lookup(["5.5.5.5"])
    assert client.lookup(["5.5.5.5"], wait=True, deadline=clock.now + 10) == {}
    assert clock.slept == []


def test_page_lookups_do_not_wait(ip_api, clock):
    client = client_for(ip_api, clock)
    ip_api.handler = lambda ips: (429, {"Retry-After": "300"}, b"")
    geo_lookup("5.5.5.5")
    assert not geo_lookup_many(["5.5.5.6"])["5.5.5.6"].resolved
    assert clock.slept == []
    assert len(ip_api.requests) == 1
    assert client.blocked_for == 300


def test_batches_hold_at_most_100_ips(ip_api):
    ips = [f"5.5.{i // 250}.{i % 250}" for i in range(250)]
    found = geo_resolve_many(ips)
    assert [len(body) for body in ip_api.requests] == [100, 100, 50]
    assert sorted(ip_api.asked) == sorted(ips)
    assert len(found) == 250


def test_an_oversized_reply_is_refused(ip_api):
    ip_api.handler = lambda ips: (200, {}, b"[" + b" " * (2 << 20) + b"]")
    assert not geo_lookup("5.5.5.5").resolved
    assert "larger than" in str(geo_status(count=False)["last_error"])


def test_parse_reply_keeps_only_asked_ips():
    reply = [ip_api_answer("5.5.5.5"), ip_api_answer("5.5.5.6")]
    assert set(parse_reply(reply, {"5.5.5.5"})) == {"5.5.5.5"}
    with pytest.raises(HttpGeoError, match="not a list"):
        parse_reply({"a": 1}, {"5.5.5.5"})
