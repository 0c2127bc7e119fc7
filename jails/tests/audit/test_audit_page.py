"""The audit log page: rows, filters, paging, bad input, htmx fragments, the login gate."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.utils import timezone

from bangui.models import AppSettings
from jails.audit.selectors import audit_event_list
from jails.audit.services import Action, Actor, audit_record
from jails.audit.views import PER_PAGE
from jails.models import AuditEvent

T0 = datetime(2025, 3, 10, 12, 0, 0, tzinfo=UTC)


def _event(
    *,
    at: datetime | None = None,
    username: str = "admin",
    ip: str | None = "192.0.2.10",
    action: str = Action.BAN,
    target: str = "203.0.113.7",
    params: dict[str, Any] | None = None,
    ok: bool = True,
    result: str = "1 banned, 0 already banned, 0 failed",
) -> AuditEvent:
    event = audit_record(
        actor=Actor(user=None, username=username, client_ip=ip),
        action=action,
        target=target,
        params=params,
        ok=ok,
        result=result,
    )
    if at is not None:
        AuditEvent.objects.filter(pk=event.pk).update(created_at=at)
        event.refresh_from_db()
    return event


def _rows(body: str) -> int:
    """Events listed in the audit table (the status bar has a <time> too)."""
    return _table(body).count("<time datetime=")


def _table(body: str) -> str:
    return body[body.index('<div id="audit-table">') :]


def _get(client, query: str = "", **headers: str) -> str:  # type: ignore[no-untyped-def]
    response = client.get(f"/audit/{query}", **headers)
    assert response.status_code == 200
    return str(response.content.decode())


@pytest.fixture
def mixed(db) -> dict[str, AuditEvent]:  # type: ignore[no-untyped-def]
    """Four events of different kinds, an hour apart, the unban the newest."""
    return {
        "ban": _event(
            at=T0,
            params={"jail": "beta", "count": 1, "ips": ["203.0.113.7"]},
        ),
        "stop": _event(
            at=T0 + timedelta(hours=1),
            username="operator",
            ip="198.51.100.4",
            action=Action.JAIL_STOP,
            target="sshd",
            ok=False,
            result="fail2ban is unreachable",
        ),
        "reload": _event(
            at=T0 + timedelta(days=1),
            username="system",
            ip=None,
            action=Action.FAIL2BAN_RELOAD,
            target="",
            result="OK",
        ),
        "unban": _event(
            at=T0 + timedelta(days=2),
            action=Action.UNBAN,
            target="2001:db8::5",
            params={"jail": "*"},
            result="1",
        ),
    }


# -- rows ----------------------------------------------------------------------


def test_it_shows_every_column_newest_first(admin_client, mixed):
    body = _get(admin_client)
    assert _rows(body) == 4
    assert "4 events recorded; newest first." in body
    # Newest first: the unban (day 3), the reload (day 2), the stop, the ban (day 1).
    table = _table(body)
    assert table.index("2001:db8::5") < table.index("Reload fail2ban") < table.index("Stop jail")
    assert table.index("Stop jail") < table.index('<td class="mono target">203.0.113.7</td>')
    assert "2025-03-10 12:00:00" in body  # UTC was chosen at setup
    assert "operator" in body and "198.51.100.4" in body
    assert '<span class="muted">jail=</span>beta' in body
    assert '<span class="muted">ips=</span>203.0.113.7' in body
    assert '<span class="badge badge-bad">Failed</span>' in body
    assert "fail2ban is unreachable" in body
    assert body.count('<span class="badge badge-ok">OK</span>') == 3
    assert 'aria-current="page">Audit log</a>' in body


def test_it_shows_times_in_the_timezone_chosen_at_setup(admin_client, db):
    _event(at=datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC))
    AppSettings.objects.filter(pk=1).update(timezone="Europe/Berlin")
    cache.clear()
    body = _get(admin_client)
    assert "2025-01-02 04:04:05" in body
    assert 'datetime="2025-01-02T04:04:05+01:00"' in body


def test_it_cuts_long_parameters_and_results_short_with_the_full_text_in_a_title(admin_client, db):
    ips = [f"203.0.113.{i}" for i in range(1, 21)]
    long_result = "fail2ban said: " + "x" * 300
    _event(params={"jail": "beta", "ips": ips}, ok=False, result=long_result)
    body = _get(admin_client)
    assert f'title="{", ".join(ips)}"' in body
    assert ">" + ", ".join(ips)[:47] + "…<" in body
    assert f'title="{long_result}"' in body
    assert long_result[:79] + "…" in body
    assert f">{long_result}<" not in body


def test_it_says_so_when_nothing_was_recorded(admin_client):
    body = _get(admin_client)
    assert "0 events recorded" in body
    assert "Nothing has been recorded yet." in body
    assert 'class="pager"' not in body


def test_it_says_so_when_no_event_matches(admin_client, mixed):
    body = _get(admin_client, "?q=nothing-like-this")
    assert "0 events match the filters" in body
    assert "No event matches these filters." in body
    assert _rows(body) == 0


# -- filters -------------------------------------------------------------------


def test_it_filters_by_action(admin_client, mixed):
    body = _get(admin_client, "?action=jail_stop")
    assert _rows(body) == 1
    assert "Stop jail" in body and "1 event matches the filters" in body
    assert _rows(_get(admin_client, "?action=all")) == 4
    assert '<option value="jail_stop" selected>Stop jail</option>' in body


def test_it_filters_by_user(admin_client, mixed):
    body = _get(admin_client, "?user=OPER")
    assert _rows(body) == 1 and "198.51.100.4" in body
    assert _rows(_get(admin_client, "?user=admin")) == 2


def test_it_filters_by_result(admin_client, mixed):
    failed = _get(admin_client, "?result=failed")
    assert _rows(failed) == 1 and "fail2ban is unreachable" in failed
    assert _rows(_get(admin_client, "?result=ok")) == 3
    assert _rows(_get(admin_client, "?result=all")) == 4


@pytest.mark.parametrize(
    ("q", "found"),
    [
        ("sshd", "stop"),  # target
        ("UNREACHABLE", "stop"),  # result, case-insensitive
        ("198.51.100", "stop"),  # client IP
        ("2001:db8", "unban"),  # an IPv6 target
    ],
)
def test_it_searches_target_result_and_client_ip(admin_client, mixed, q, found):
    body = _get(admin_client, f"?q={q}")
    assert _rows(body) == 1
    assert f'datetime="{timezone.localtime(mixed[found].created_at).isoformat()}"' in body


def test_the_search_finds_an_address_inside_a_batch_ban(db):
    batch = _event(target="beta", params={"jail": "beta", "ips": ["192.0.2.1", "192.0.2.77"]})
    _event(target="alpha", params={"jail": "alpha", "ips": ["192.0.2.2"]})
    assert list(audit_event_list(q="192.0.2.77")) == [batch]


def test_it_filters_by_dates_inclusive(admin_client, mixed):
    # The ban and the stop are on 10 March, the reload on the 11th, the unban on the 12th.
    assert _rows(_get(admin_client, "?since=2025-03-11")) == 2
    assert _rows(_get(admin_client, "?until=2025-03-11")) == 3
    body = _get(admin_client, "?since=2025-03-11&until=2025-03-11")
    assert _rows(body) == 1 and "Reload fail2ban" in body
    assert 'value="2025-03-11"' in body  # the form keeps what was asked


def test_dates_are_days_in_the_timezone_chosen_at_setup(db):
    tz = timezone.get_current_timezone()
    late = _event(at=datetime(2025, 3, 10, 23, 30, tzinfo=UTC))  # 11 March 00:30 in Berlin
    try:
        timezone.activate("Europe/Berlin")
        assert list(audit_event_list(since=date(2025, 3, 11))) == [late]
        assert list(audit_event_list(until=date(2025, 3, 10))) == []
    finally:
        timezone.activate(tz)


def test_filters_combine(admin_client, mixed):
    assert _rows(_get(admin_client, "?user=admin&action=ban&result=ok&q=203.0.113")) == 1
    assert _rows(_get(admin_client, "?user=admin&action=unban&result=failed")) == 0


# -- paging --------------------------------------------------------------------


@pytest.fixture
def many(db) -> list[AuditEvent]:  # type: ignore[no-untyped-def]
    return [
        _event(at=T0 + timedelta(minutes=i), target=f"10.0.0.{i}") for i in range(PER_PAGE * 2 + 20)
    ]


def test_it_pages_fifty_events_at_a_time(admin_client, many):
    first = _get(admin_client)
    assert _rows(first) == PER_PAGE
    assert "120 events recorded, showing 1–50; newest first." in first
    assert "Page 1 of 3" in first
    assert ">10.0.0.119<" in first and ">10.0.0.69<" not in first
    assert 'href="/audit/?page=2"' in first
    last = _get(admin_client, "?page=3")
    assert _rows(last) == 20 and ">10.0.0.0<" in last
    assert "showing 101–120" in last


def test_page_links_keep_the_filters(admin_client, many):
    body = _get(admin_client, "?action=ban&q=10.0.0&page=2")
    assert 'href="/audit/?action=ban&amp;q=10.0.0&amp;page=3"' in body
    assert 'hx-get="/audit/?action=ban&amp;q=10.0.0&amp;page=1"' in body


@pytest.mark.parametrize(
    ("page", "note", "shown"),
    [
        ("abc", "There is no page “abc”; showing the first page.", 1),
        ("0", "There is no page 0; showing the first page.", 1),
        ("-4", "There is no page “-4”; showing the first page.", 1),
        ("99", "There is no page 99; showing the last page (3).", 3),
        ("9" * 40, f"There is no page {'9' * 19}…; showing the last page (3).", 3),
        ("9" * 5000, "; showing the first page.", 1),
    ],
)
def test_a_page_that_does_not_exist_shows_the_nearest_with_a_note(
    admin_client, many, page, note, shown
):
    body = _get(admin_client, f"?page={page}")
    assert note in body
    assert f"Page {shown} of 3" in body


# -- bad input -----------------------------------------------------------------


def test_a_bad_date_is_reported_and_the_other_filters_still_apply(admin_client, mixed):
    body = _get(admin_client, "?since=notadate&action=jail_stop")
    assert "From: Enter the start date as YYYY-MM-DD. This filter is not applied." in body
    assert _rows(body) == 1


def test_an_unknown_action_is_reported(admin_client, mixed):
    body = _get(admin_client, "?action=nonsense")
    assert "Action: “nonsense” is not an action BanGUI records." in body
    assert _rows(body) == 4
    body = _get(admin_client, "?action=<b>x</b>")
    assert "“&lt;b&gt;x&lt;/b&gt;” is not an action" in body


def test_an_unknown_result_is_reported(admin_client, mixed):
    assert "Choose OK, Failed or any result." in _get(admin_client, "?result=maybe")


def test_a_huge_search_is_reported_not_run(admin_client, mixed):
    body = _get(admin_client, "?q=" + "x" * 10_000)
    assert "The search text is too long (at most 200 characters)." in body
    assert _rows(body) == 4


def test_a_nul_byte_in_the_search_is_reported(admin_client, mixed):
    assert "Null characters are not allowed." in _get(admin_client, "?q=a%00b")


def test_an_end_before_the_start_is_reported(admin_client, mixed):
    body = _get(admin_client, "?since=2025-03-12&until=2025-03-10")
    assert "The end date is before the start date." in body
    assert _rows(body) == 1  # only "since" applies


def test_a_post_is_refused(admin_client):
    assert admin_client.post("/audit/").status_code == 405


# -- htmx ----------------------------------------------------------------------


def test_an_htmx_request_gets_only_the_table(admin_client, mixed):
    response = admin_client.get("/audit/?action=unban", HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="audit-table">')
    assert "<html" not in body and 'id="audit-filters"' not in body
    assert _rows(body) == 1
    assert "HX-Request" in response["Vary"]


def test_an_htmx_history_restore_gets_the_whole_page(admin_client, mixed):
    body = _get(
        admin_client,
        "?action=unban",
        HTTP_HX_REQUEST="true",
        HTTP_HX_HISTORY_RESTORE_REQUEST="true",
    )
    assert "<html" in body and 'id="audit-filters"' in body


def test_the_full_page_has_a_filter_form_that_swaps_the_table(admin_client):
    body = _get(admin_client)
    form = re.search(r'<form id="audit-filters"[^>]*>', body)
    assert form is not None
    assert 'method="get"' in form[0] and 'hx-get="/audit/"' in form[0]
    assert 'hx-target="#audit-table"' in form[0] and 'hx-push-url="true"' in form[0]
    assert " style=" not in body and "hx-on" not in body


# -- access --------------------------------------------------------------------


def test_it_needs_a_login(client, configured):
    response = client.get("/audit/")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/audit/"


def test_it_leads_to_setup_before_setup(client, db):
    response = client.get("/audit/")
    assert response.status_code == 302
    assert response["Location"].startswith("/setup/")
