"""The optional HTTP fallback: an ip-api.com compatible batch endpoint.

Off by default (``BANGUI_GEOIP_HTTP_FALLBACK``): it sends attackers' IPs to a
third party, so the first use in a process logs a privacy warning. It is only
asked about valid, public IPs the MaxMind database could not place.

Protocol: ``POST <url>`` with a JSON list of at most 100 IPs; the reply is a
JSON list of objects with ``status`` ("success"/"fail"), ``query`` (the IP),
``countryCode``, ``country``, ``as`` ("AS15169 Google LLC") and ``org``.
Replies are trusted for nothing but the IPs asked about: an object whose
``query`` was not in the request is ignored.

Politeness: at most ``per_minute`` requests in any 60 s (ip-api's free tier
allows 15 batch requests a minute); when the server says the window is used up
(``X-Rl: 0`` with ``X-Ttl``) or answers 429 (``Retry-After`` or ``X-Ttl``), no
request is sent until it says; errors and 5xx back off exponentially.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from geo.addresses import parse_ip
from geo.health import note_error

if TYPE_CHECKING:
    import requests

log = logging.getLogger("bangui.geo")

BATCH = 100
PER_MINUTE = 15
TIMEOUT = (3.05, 5.0)  # connect, read
MAX_REPLY_BYTES = 1 << 20  # a batch of 100 answers is about 15 KB
BACKOFF_START = 5.0
BACKOFF_MAX = 600.0
ATTEMPTS = 3  # per batch, when the caller may wait

_AS_RE = re.compile(r"AS(\d{1,10})(?:\s+(.*))?", re.DOTALL)


class HttpGeoError(Exception):
    """The service did not give a usable answer."""


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    country_code: str
    country_name: str
    asn: int | None
    org: str


def parse_reply(data: object, asked: set[str]) -> dict[str, HttpAnswer | None]:
    """Answers for the IPs in ``asked`` (canonical text); None where the service said fail.

    Objects about other IPs, malformed objects and repeated answers (the first
    one counts) are ignored.
    """
    if not isinstance(data, list):
        raise HttpGeoError(f"the reply is a JSON {type(data).__name__}, not a list")
    out: dict[str, HttpAnswer | None] = {}
    for item in data:
        if not isinstance(item, dict):
            continue
        parsed = parse_ip(item.get("query"))
        if parsed is None or parsed.text not in asked or parsed.text in out:
            continue
        out[parsed.text] = _answer(item) if item.get("status") == "success" else None
    return out


def _text(value: object, limit: int) -> str:
    return value.strip()[:limit] if isinstance(value, str) else ""


def _answer(item: dict[str, object]) -> HttpAnswer | None:
    code = item.get("countryCode")
    if not (isinstance(code, str) and len(code) == 2 and code.isascii() and code.isalpha()):
        return None
    asn: int | None = None
    org = ""
    match = _AS_RE.fullmatch(_text(item.get("as"), 300))
    if match and int(match.group(1)) < 2**32:
        asn = int(match.group(1))
        org = (match.group(2) or "").strip()
    return HttpAnswer(
        country_code=code.upper(),
        country_name=_text(item.get("country"), 100),
        asn=asn,
        org=(org or _text(item.get("org"), 255))[:255],
    )


def _seconds(value: str | None) -> float | None:
    """A header holding whole seconds (Retry-After, X-Ttl); None when absent or not a number."""
    if value is None or not value.strip().isdigit():
        return None
    return min(float(value.strip()), BACKOFF_MAX)


class HttpFallback:
    """A client for one endpoint, shared by the threads of a process."""

    def __init__(
        self,
        url: str,
        *,
        per_minute: int = PER_MINUTE,
        timeout: tuple[float, float] = TIMEOUT,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.url = url
        self.per_minute = per_minute
        self.timeout = timeout
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._sent: deque[float] = deque()
        self._blocked_until = 0.0
        self._failures = 0
        self._warned = False

    @property
    def blocked_for(self) -> float:
        """Seconds until the next request may go out because of a backoff (0 if none)."""
        return max(0.0, self._blocked_until - self._clock())

    def lookup(
        self, ips: Sequence[str], *, wait: bool = False, deadline: float | None = None
    ) -> dict[str, HttpAnswer | None]:
        """Ask about ``ips`` (valid, canonical) in batches of 100.

        IPs missing from the result were not answered (rate limit, error):
        retry later. With ``wait``, sleeps for the rate limit and backoffs and
        retries, but not past ``deadline`` (on this client's clock).
        """
        self._warn_once()
        out: dict[str, HttpAnswer | None] = {}
        for start in range(0, len(ips), BATCH):
            batch = list(dict.fromkeys(ips[start : start + BATCH]))
            answered = self._batch(batch, wait=wait, deadline=deadline)
            if answered is None:
                break
            out.update(answered)
        return out

    def _batch(
        self, batch: list[str], *, wait: bool, deadline: float | None
    ) -> dict[str, HttpAnswer | None] | None:
        for _ in range(ATTEMPTS if wait else 1):
            if not self._acquire(wait=wait, deadline=deadline):
                return None
            try:
                return self._post(batch)
            except HttpGeoError as exc:
                note_error(f"HTTP fallback {self._host()}: {exc}")
        return None

    def _acquire(self, *, wait: bool, deadline: float | None) -> bool:
        """Take a request slot; False when none is free (in time)."""
        while True:
            with self._lock:
                now = self._clock()
                while self._sent and self._sent[0] <= now - 60.0:
                    self._sent.popleft()
                ready_at = self._blocked_until
                if len(self._sent) >= self.per_minute:
                    ready_at = max(ready_at, self._sent[0] + 60.0)
                if ready_at <= now:
                    self._sent.append(now)
                    return True
            if not wait or (deadline is not None and ready_at > deadline):
                return False
            self._sleep(ready_at - now)

    def _post(self, batch: list[str]) -> dict[str, HttpAnswer | None]:
        # Imported on first use: the fallback is off by default, and requests
        # costs every process that loads it ~5 MiB.
        import requests

        try:
            with requests.post(
                self.url,
                json=batch,
                timeout=self.timeout,
                headers={"Accept": "application/json", "User-Agent": "BanGUI"},
                stream=True,
            ) as resp:
                self._note_limits(resp)
                if resp.status_code != 200:
                    raise HttpGeoError(f"HTTP {resp.status_code}")
                body = self._read(resp)
        except requests.RequestException as exc:
            self._fail(None)
            raise HttpGeoError(type(exc).__name__) from None
        except HttpGeoError:
            raise
        try:
            answers = parse_reply(json.loads(body), set(batch))
        except (ValueError, HttpGeoError) as exc:
            self._fail(None)
            raise HttpGeoError(f"unusable reply: {str(exc)[:200]}") from None
        with self._lock:
            self._failures = 0
        return answers

    @staticmethod
    def _read(resp: requests.Response) -> bytes:
        chunks: list[bytes] = []
        size = 0
        for chunk in resp.iter_content(65536):
            size += len(chunk)
            if size > MAX_REPLY_BYTES:
                raise HttpGeoError(f"reply larger than {MAX_REPLY_BYTES} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    def _note_limits(self, resp: requests.Response) -> None:
        """Obey the server: X-Rl/X-Ttl on every reply, backoff on 429 and 5xx."""
        ttl = _seconds(resp.headers.get("X-Ttl"))
        if resp.headers.get("X-Rl", "").strip() == "0" and ttl is not None:
            self._block(ttl)
        if resp.status_code == 429 or resp.status_code >= 500:
            self._fail(_seconds(resp.headers.get("Retry-After")) or ttl)
        elif resp.status_code != 200:
            self._fail(None)

    def _fail(self, server_says: float | None) -> None:
        with self._lock:
            self._failures += 1
            backoff = min(BACKOFF_MAX, BACKOFF_START * 2 ** (self._failures - 1))
        self._block(server_says if server_says is not None else backoff)

    def _block(self, seconds: float) -> None:
        with self._lock:
            self._blocked_until = max(self._blocked_until, self._clock() + seconds)

    def _host(self) -> str:
        return urlsplit(self.url).netloc or self.url

    def _warn_once(self) -> None:
        if not self._warned:
            self._warned = True
            log.warning(
                "geo: the HTTP fallback is on: IP addresses the MaxMind database cannot "
                "place are sent to %s, a third party%s. Set BANGUI_GEOIP_HTTP_FALLBACK=false "
                "to keep lookups offline.",
                self._host(),
                " over plain HTTP" if self.url.startswith("http:") else "",
            )
