"""A real HTTP server on 127.0.0.1 for tests that must not touch the internet.

Routes map a path to a handler that gets the ``BaseHTTPRequestHandler`` and
writes whatever it likes, so tests can reproduce misbehaving servers (slow,
trickling, huge, lying about their size) over a real socket rather than a mock
that would hide how ``requests`` actually streams.

    with LocalServer() as server:
        server.route("/list.txt", respond("192.0.2.1\\n"))
        fetch_list(server.url("/list.txt"))
        assert server.hits["/list.txt"] == 1
"""

from __future__ import annotations

import ssl
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

Handler = Callable[[BaseHTTPRequestHandler], None]

MB = 1024 * 1024


class _RequestHandler(BaseHTTPRequestHandler):
    # HTTP/1.1 so that chunked transfer encoding is possible.
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_GET(self) -> None:  # the name is fixed by http.server
        path = self.path.split("?", 1)[0]
        owner = self.server.owner
        with owner.lock:
            owner.hits[path] += 1
            handler = owner.routes.get(path)
        if handler is None:
            respond("not found\n", status=404)(self)
        else:
            handler(self)

    def log_message(self, format: str, *args: object) -> None:
        """Keep pytest output quiet."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: LocalServer

    def handle_error(self, request: object, client_address: object) -> None:
        # Clients hang up on purpose (size caps, timeouts); that is not an error here.
        pass


class LocalServer:
    """A threaded HTTP server on a random port; use as a context manager.

    ``host`` is another loopback address (127.0.0.2) for a second "internal"
    server; ``tls`` a server-side context that makes it an HTTPS server.
    """

    def __init__(self, host: str = "127.0.0.1", *, tls: ssl.SSLContext | None = None) -> None:
        self.routes: dict[str, Handler] = {}
        self.hits: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.host = host
        self.scheme = "https" if tls else "http"
        self._httpd = _Server((host, 0), _RequestHandler)
        if tls is not None:
            self._httpd.socket = tls.wrap_socket(self._httpd.socket, server_side=True)
        self._httpd.owner = self
        self.port: int = self._httpd.server_address[1]
        # A short poll interval: shutdown() waits for one, and every test stops a server.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def url(self, path: str, host: str | None = None) -> str:
        """The URL of ``path``, by default on the server's own address."""
        return f"{self.scheme}://{host or self.host}:{self.port}{path}"

    def route(self, path: str, handler: Handler) -> None:
        with self.lock:
            self.routes[path] = handler

    def start(self) -> LocalServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _head(
    h: BaseHTTPRequestHandler,
    status: int,
    headers: dict[str, str],
) -> None:
    h.send_response(status)
    for name, value in headers.items():
        h.send_header(name, value)
    # One request per connection keeps the server's threads short-lived.
    h.send_header("Connection", "close")
    h.end_headers()
    h.close_connection = True


def respond(
    body: bytes | str = b"",
    *,
    status: int = 200,
    content_type: str = "text/plain; charset=utf-8",
    headers: dict[str, str] | None = None,
) -> Handler:
    """A complete response with a correct Content-Length."""
    data = body.encode() if isinstance(body, str) else body

    def handler(h: BaseHTTPRequestHandler) -> None:
        all_headers = {"Content-Type": content_type, "Content-Length": str(len(data))}
        _head(h, status, all_headers | (headers or {}))
        h.wfile.write(data)

    return handler


def sequence(*handlers: Handler) -> Handler:
    """The n-th request gets the n-th handler; the last one answers all later requests."""
    calls = iter(range(1_000_000))

    def handler(h: BaseHTTPRequestHandler) -> None:
        handlers[min(next(calls), len(handlers) - 1)](h)

    return handler


def sleep_then(seconds: float, then: Handler) -> Handler:
    """Wait before answering at all, as an overloaded server does."""

    def handler(h: BaseHTTPRequestHandler) -> None:
        time.sleep(seconds)
        then(h)

    return handler


def trickle(body: bytes, interval: float) -> Handler:
    """Headers at once, then one byte every ``interval`` seconds."""

    def handler(h: BaseHTTPRequestHandler) -> None:
        _head(h, 200, {"Content-Type": "text/plain", "Content-Length": str(len(body))})
        for i in range(len(body)):
            h.wfile.write(body[i : i + 1])
            h.wfile.flush()
            time.sleep(interval)

    return handler


def lines(size: int, line: bytes = b"192.0.2.1\n") -> Iterator[bytes]:
    """``size`` bytes of repeated lines in 64 KiB pieces, never all in memory."""
    block = line * (64 * 1024 // len(line))
    sent = 0
    while sent < size:
        piece = block[: size - sent]
        sent += len(piece)
        yield piece


def stream(
    pieces: Callable[[], Iterable[bytes]],
    *,
    length: int | None = None,
    content_type: str = "text/plain",
    headers: dict[str, str] | None = None,
) -> Handler:
    """A generated body: with Content-Length when ``length`` is given, chunked otherwise."""

    def handler(h: BaseHTTPRequestHandler) -> None:
        all_headers = {"Content-Type": content_type} | (headers or {})
        if length is None:
            all_headers["Transfer-Encoding"] = "chunked"
        else:
            all_headers["Content-Length"] = str(length)
        _head(h, 200, all_headers)
        for piece in pieces():
            if length is None:
                h.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            else:
                h.wfile.write(piece)
        if length is None:
            h.wfile.write(b"0\r\n\r\n")

    return handler
