"""Geo test fixtures: small MaxMind databases written with mmdb-writer, a local ip-api.

Every test starts with empty geo state (memory tier, readers, last error), a
small deterministic country database, no ASN database and the HTTP fallback
off. The big real database (maxminddb-geolite2) is used where a test says so.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from mmdb_writer import MMDBWriter
from netaddr import IPSet

from geo.lookup import mmdb
from geo.lookup.pipeline import reset_state


def country(code: str, name: str) -> dict[str, Any]:
    return {"iso_code": code, "names": {"en": name, "de": f"{name} (de)"}}


# The small country database: what each network holds.
COUNTRY_NETWORKS: dict[str, dict[str, Any]] = {
    "81.2.69.0/24": {"country": country("GB", "United Kingdom")},
    "8.8.8.0/24": {"country": country("US", "United States")},
    # Only the registered country, as for some anycast networks.
    "1.1.1.0/24": {"registered_country": country("AU", "Australia")},
    # A record without any country: a MaxMind miss.
    "5.5.5.0/24": {"continent": {"code": "EU"}},
    "2a02:ec0::/29": {"country": country("DE", "Germany")},
}
ASN_NETWORKS: dict[str, dict[str, Any]] = {
    "8.8.8.0/24": {
        "autonomous_system_number": 15169,
        "autonomous_system_organization": "Google LLC",
    },
    "5.5.5.0/24": {"autonomous_system_number": 64500, "autonomous_system_organization": "Example"},
}


def write_mmdb(path: Path, networks: dict[str, dict[str, Any]], db_type: str) -> Path:
    writer = MMDBWriter(
        ip_version=6,
        database_type=db_type,
        languages=["en"],
        description="BanGUI test database",
        ipv4_compatible=True,
    )
    for cidr, record in networks.items():
        writer.insert_network(IPSet([cidr]), record)
    writer.to_db_file(str(path))
    return path


@pytest.fixture
def country_db_path(tmp_path: Path) -> Path:
    return write_mmdb(tmp_path / "country.mmdb", COUNTRY_NETWORKS, "GeoLite2-City")


@pytest.fixture
def asn_db_path(tmp_path: Path) -> Path:
    return write_mmdb(tmp_path / "asn.mmdb", ASN_NETWORKS, "GeoLite2-ASN")


@pytest.fixture(autouse=True)
def geo_settings(settings: Any, country_db_path: Path) -> Iterator[Any]:
    settings.BANGUI_GEOIP_DB_PATH = str(country_db_path)
    settings.BANGUI_GEOIP_ASN_DB_PATH = ""
    settings.BANGUI_GEOIP_HTTP_FALLBACK = False
    settings.BANGUI_GEOIP_HTTP_URL = ""
    reset_state()
    yield settings
    reset_state()


@pytest.fixture
def fast_reopen(monkeypatch: pytest.MonkeyPatch) -> None:
    """Readers look at the file's mtime on every lookup (normally every 5 s)."""
    monkeypatch.setattr(mmdb, "STAT_INTERVAL", -1.0)


@pytest.fixture
def reader_spy(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every address any MaxMind reader is asked about, in order."""
    asked: list[str] = []
    original = mmdb.MMDBFile.reader

    class Spy:
        def __init__(self, inner: Any) -> None:
            self.inner = inner

        def get(self, ip: str) -> Any:
            asked.append(ip)
            return self.inner.get(ip)

        def metadata(self) -> Any:
            return self.inner.metadata()

    def spying_reader(self: mmdb.MMDBFile) -> Any:
        inner = original(self)
        return None if inner is None else Spy(inner)

    monkeypatch.setattr(mmdb.MMDBFile, "reader", spying_reader)
    return asked


# --- A local ip-api compatible server ------------------------------------------------

Reply = tuple[int, dict[str, str], bytes]


def ip_api_answer(ip: str) -> dict[str, Any]:
    """What the fake service knows: 5.5.5.x is in France, 192.0.2.x... never asked."""
    if ip.startswith("5.5.5."):
        return {
            "status": "success",
            "query": ip,
            "countryCode": "FR",
            "country": "France",
            "as": "AS3215 Orange S.A.",
            "org": "Orange",
        }
    return {"status": "fail", "message": "reserved range", "query": ip}


def json_reply(body: object, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
    return (
        status,
        {"Content-Type": "application/json", **(headers or {})},
        json.dumps(body).encode(),
    )


def answering(request: list[str]) -> Reply:
    return json_reply([ip_api_answer(ip) for ip in request])


@dataclass
class FakeIpApi:
    """A ThreadingHTTPServer on 127.0.0.1 speaking ip-api's batch protocol.

    ``handler(request_ips) -> (status, headers, body)`` decides each reply;
    ``requests`` records every request body as received; ``delay`` seconds
    are slept before answering (timeouts).
    """

    url: str = ""
    handler: Callable[[list[str]], Reply] = answering
    requests: list[Any] = field(default_factory=list)
    delay: float = 0.0

    @property
    def asked(self) -> list[str]:
        return [ip for body in self.requests if isinstance(body, list) for ip in body]


@pytest.fixture
def ip_api(settings: Any) -> Iterator[FakeIpApi]:
    fake = FakeIpApi()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length)
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw
            fake.requests.append(body)
            if fake.delay:
                time.sleep(fake.delay)
            status, headers, payload = fake.handler(body if isinstance(body, list) else [])
            try:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout tests)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}/batch?fields=status,countryCode"
    settings.BANGUI_GEOIP_HTTP_FALLBACK = True
    settings.BANGUI_GEOIP_HTTP_URL = fake.url
    yield fake
    server.shutdown()
    server.server_close()


class FakeClock:
    """A monotonic clock the test moves; ``sleep`` moves it too."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
