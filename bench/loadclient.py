"""A threaded HTTP load client for ``bench.load``: keep-alive, logged-in, cheap per request.

One ``http.client.HTTPConnection`` per client thread (keep-alive, as a browser
keeps its connection), each with its own login session. ``http.client`` and
not ``requests``: it costs the client less CPU per request, so what is
measured is the server (``LevelResult.client_cpu_ms`` says how much the
client spent).
"""

from __future__ import annotations

import http.client
import re
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from urllib.parse import urlencode

from .core import Stats

_CSRF_FIELD = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')


class LoginFailed(RuntimeError):
    pass


class HttpSession:
    """One client: a kept connection and its cookies."""

    def __init__(self, host: str, port: int, *, timeout: float = 60.0) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self.cookies: dict[str, str] = {}
        self.reconnects = 0
        self._conn: http.client.HTTPConnection | None = None

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            self._conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, http.client.HTTPMessage, bytes]:
        """Send one request and read the whole answer; reconnect once if the server hung up."""
        sent = {"Host": f"{self.host}:{self.port}", **(headers or {})}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        for attempt in (1, 2):
            conn = self._connection()
            try:
                conn.request(method, path, body=body, headers=sent)
                response = conn.getresponse()
                data = response.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                # gunicorn closes idle keep-alive connections; a browser reconnects too.
                self.close()
                if attempt == 2:
                    raise
                self.reconnects += 1
                continue
            for raw in response.headers.get_all("Set-Cookie") or []:
                for name, morsel in SimpleCookie(raw).items():
                    self.cookies[name] = morsel.value
            if response.getheader("Connection", "").lower() == "close":
                self.close()
            return response.status, response.headers, data
        raise AssertionError("unreachable")

    def login(self, username: str, password: str) -> None:
        """Log in through the login form, with its CSRF token, as a browser does."""
        status, _, page = self.request("GET", "/login/")
        found = _CSRF_FIELD.search(page)
        if status != 200 or found is None:
            raise LoginFailed(f"GET /login/: HTTP {status}, CSRF field found: {bool(found)}")
        form = urlencode(
            {
                "csrfmiddlewaretoken": found.group(1).decode(),
                "username": username,
                "password": password,
            }
        ).encode()
        status, headers, _ = self.request(
            "POST",
            "/login/",
            body=form,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Referer": f"http://{self.host}:{self.port}/login/",
            },
        )
        if status != 302 or "bangui_session" not in self.cookies:
            raise LoginFailed(f"POST /login/ as {username}: HTTP {status} to {headers['Location']}")


@dataclass
class LevelResult:
    """One concurrency level: per-page latencies, errors, and what the client spent."""

    clients: int
    seconds: float
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    error_samples: list[str] = field(default_factory=list)
    client_cpu: float = 0.0
    server_cpu: float = 0.0

    @property
    def done(self) -> int:
        return sum(len(v) for v in self.latencies.values())

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    @property
    def rate(self) -> float:
        """Successful requests per second."""
        return self.done / self.seconds

    @property
    def client_cpu_ms(self) -> float:
        """The client's CPU time per request (all its threads), in ms."""
        total = self.done + self.error_count
        return self.client_cpu / total * 1e3 if total else 0.0

    @property
    def server_cpu_ms(self) -> float:
        """The server's CPU time per request, in ms (0 without a probe)."""
        total = self.done + self.error_count
        return self.server_cpu / total * 1e3 if total else 0.0

    def add(self, other: LevelResult) -> None:
        """Count another window of the same level in (rounds that alternate levels)."""
        self.seconds += other.seconds
        for page, times in other.latencies.items():
            self.latencies[page].extend(times)
        for page, n in other.errors.items():
            self.errors[page] += n
        self.error_samples = (self.error_samples + other.error_samples)[:5]
        self.client_cpu += other.client_cpu
        self.server_cpu += other.server_cpu

    def stats(self, page: str | None = None) -> Stats:
        if page is not None:
            return Stats(tuple(self.latencies[page]))
        return Stats(tuple(t for v in self.latencies.values() for t in v))


def run_level(
    sessions: Sequence[HttpSession],
    pages: Sequence[str],
    *,
    seconds: float,
    warmup: float = 2.0,
    headers: dict[str, str] | None = None,
    server_cpu: Callable[[], float] | None = None,
) -> LevelResult:
    """Every session requests ``pages`` round-robin (each from its own offset) as fast as
    it can; the requests that start and end inside the ``seconds`` after ``warmup`` count.

    The client's CPU time, and the server's (``server_cpu()``: its CPU seconds so far),
    are taken over the same window.
    """
    result = LevelResult(clients=len(sessions), seconds=seconds)
    lock = threading.Lock()
    go = threading.Event()
    starts_at = 0.0

    def client(index: int, session: HttpSession) -> None:
        go.wait()
        ends_at = starts_at + seconds
        n = index
        while True:
            path = pages[n % len(pages)]
            n += 1
            began = time.monotonic()
            if began >= ends_at:
                return
            try:
                status, _, _ = session.request("GET", path, headers=headers)
                problem = "" if status in (200, 304) else f"HTTP {status}"
            except (OSError, http.client.HTTPException) as exc:
                problem = f"{type(exc).__name__}: {exc}"
                session.close()
            took = time.monotonic() - began
            if began < starts_at or began + took > ends_at:
                continue  # warm-up, or ends after the window: not counted
            with lock:
                if problem:
                    result.errors[path] += 1
                    if len(result.error_samples) < 5:
                        result.error_samples.append(f"{path}: {problem}")
                else:
                    result.latencies[path].append(took)

    threads = [
        threading.Thread(target=client, args=(i, s), name=f"load-{i}", daemon=True)
        for i, s in enumerate(sessions)
    ]
    for thread in threads:
        thread.start()
    starts_at = time.monotonic() + warmup
    go.set()
    time.sleep(warmup)
    client_before, server_before = time.process_time(), server_cpu() if server_cpu else 0.0
    time.sleep(max(0.0, starts_at + seconds - time.monotonic()))
    result.client_cpu = time.process_time() - client_before
    result.server_cpu = (server_cpu() - server_before) if server_cpu else 0.0
    for thread in threads:
        thread.join()
    return result
