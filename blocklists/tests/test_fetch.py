"""Downloading blocklists from a real local HTTP server that misbehaves on purpose."""

from __future__ import annotations

import gzip
import hashlib
import socket
import time
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

import pytest

from blocklists.fetch import USER_AGENT, FetchError, clean_url, fetch_list
from blocklists.tests.httpserver import (
    MB,
    LocalServer,
    lines,
    respond,
    sequence,
    sleep_then,
    stream,
    trickle,
)

LIST = "192.0.2.1\n198.51.100.7\n# comment\n2001:db8::1\n"


class Sleeps(list[float]):
    """Records the waits between retries instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def fetch_error(url: str, **kwargs: object) -> FetchError:
    with pytest.raises(FetchError) as info:
        fetch_list(url, sleep=Sleeps(), **kwargs)  # type: ignore[arg-type]
    return info.value


def counted(size: int, sent: list[int]) -> Iterator[bytes]:
    """Generated lines that record how much the server produced before the client hung up."""
    for piece in lines(size):
        sent[0] += len(piece)
        yield piece


def gzip_bomb(size: int) -> bytes:
    """A few kilobytes that inflate to ``size`` bytes of plausible list lines."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    parts = [packer.compress(piece) for piece in lines(size)]
    return b"".join(parts) + packer.flush()


def test_it_downloads_a_text_list_with_its_sha256(http_server: LocalServer) -> None:
    http_server.route("/list.txt", respond(LIST))
    result = fetch_list(http_server.url("/list.txt"))
    assert result.text == LIST
    assert result.sha256 == hashlib.sha256(LIST.encode()).hexdigest()
    assert (result.size, result.status, result.attempts) == (len(LIST), 200, 1)
    assert result.content_type.startswith("text/plain")


def test_it_says_who_it_is(http_server: LocalServer) -> None:
    seen: list[str | None] = []

    def handler(h: BaseHTTPRequestHandler) -> None:
        seen.append(h.headers.get("User-Agent"))
        respond(LIST)(h)

    http_server.route("/ua", handler)
    fetch_list(http_server.url("/ua"))
    assert seen == [USER_AGENT]


def test_a_404_is_reported_without_retrying(http_server: LocalServer) -> None:
    url = http_server.url("/missing")
    error = fetch_error(url, retries=3)
    assert (error.kind, error.attempts) == ("http", 1)
    assert str(error) == f"The server answered 404 Not Found for {url}; check the URL."
    assert http_server.hits["/missing"] == 1


def test_a_server_error_is_retried_with_backoff_then_reported(http_server: LocalServer) -> None:
    http_server.route("/down", respond("oops", status=500))
    sleeps = Sleeps()
    with pytest.raises(FetchError) as info:
        fetch_list(http_server.url("/down"), retries=2, backoff=0.5, sleep=sleeps)
    assert (info.value.kind, info.value.attempts) == ("http", 3)
    assert "500 Internal Server Error" in str(info.value) and "3 attempts" in str(info.value)
    assert sleeps == [0.5, 1.0]
    assert http_server.hits["/down"] == 3


def test_backoff_never_waits_more_than_a_minute(http_server: LocalServer) -> None:
    http_server.route("/down", respond("busy", status=503))
    sleeps = Sleeps()
    with pytest.raises(FetchError):
        fetch_list(http_server.url("/down"), retries=8, backoff=1.0, sleep=sleeps)
    assert sleeps == [1, 2, 4, 8, 16, 32, 60, 60]


def test_429_then_200_succeeds_after_the_retry_after_wait(http_server: LocalServer) -> None:
    http_server.route(
        "/limited",
        sequence(respond("slow down", status=429, headers={"Retry-After": "7"}), respond(LIST)),
    )
    sleeps = Sleeps()
    result = fetch_list(http_server.url("/limited"), backoff=0.1, sleep=sleeps)
    assert (result.text, result.attempts) == (LIST, 2)
    assert sleeps == [7.0]


def test_an_absurd_retry_after_is_capped(http_server: LocalServer) -> None:
    limited = respond("no", status=429, headers={"Retry-After": "86400"})
    http_server.route("/limited", sequence(limited, respond(LIST)))
    sleeps = Sleeps()
    fetch_list(http_server.url("/limited"), sleep=sleeps)
    assert sleeps == [60.0]


def test_a_server_that_does_not_answer_times_out(http_server: LocalServer) -> None:
    http_server.route("/slow", sleep_then(3, respond(LIST)))
    error = fetch_error(http_server.url("/slow"), read_timeout=0.5, retries=1)
    assert (error.kind, error.attempts) == ("timeout", 2)
    assert http_server.hits["/slow"] == 2


def test_a_trickling_server_cannot_outlast_the_deadline(http_server: LocalServer) -> None:
    # Each byte arrives well within the read timeout; only the deadline stops it.
    http_server.route("/trickle", trickle(LIST.encode() * 10, 0.2))
    started = time.monotonic()
    error = fetch_error(http_server.url("/trickle"), read_timeout=5, deadline=1)
    assert error.kind == "timeout"
    assert time.monotonic() - started < 2.5


def test_a_declared_size_over_the_cap_is_refused_before_downloading(
    http_server: LocalServer,
) -> None:
    sent = [0]
    http_server.route("/big", stream(lambda: counted(200 * MB, sent), length=200 * MB))
    error = fetch_error(http_server.url("/big"), max_bytes=MB)
    assert error.kind == "too_large"
    assert "1 MB limit" in str(error)
    assert sent[0] < 20 * MB


def test_the_default_cap_refuses_200_mb_without_downloading_it(http_server: LocalServer) -> None:
    sent = [0]
    http_server.route("/big", stream(lambda: counted(200 * MB, sent), length=200 * MB))
    error = fetch_error(http_server.url("/big"))
    assert error.kind == "too_large" and "50 MB limit" in str(error)
    assert sent[0] < 20 * MB


def test_an_undeclared_size_is_cut_off_at_the_cap(http_server: LocalServer) -> None:
    sent = [0]
    http_server.route("/chunked", stream(lambda: counted(200 * MB, sent)))
    error = fetch_error(http_server.url("/chunked"), max_bytes=MB)
    assert error.kind == "too_large"
    assert sent[0] < 20 * MB


def test_a_list_just_under_the_cap_is_accepted(http_server: LocalServer) -> None:
    http_server.route("/chunked", stream(lambda: lines(MB)))
    assert fetch_list(http_server.url("/chunked"), max_bytes=MB).size == MB


def test_an_html_page_is_refused(http_server: LocalServer) -> None:
    http_server.route("/login", respond("<p>Sign in</p>", content_type="text/html"))
    error = fetch_error(http_server.url("/login"))
    assert error.kind == "html" and "web page" in str(error)


def test_html_served_as_text_is_recognised_by_its_start(http_server: LocalServer) -> None:
    http_server.route("/page", respond("\n  <!DOCTYPE html><html></html>"))
    assert fetch_error(http_server.url("/page")).kind == "html"


def test_a_body_with_nul_bytes_is_refused(http_server: LocalServer) -> None:
    http_server.route("/bin", respond(b"192.0.2.1\n\x00\x01\x02", content_type="text/plain"))
    assert fetch_error(http_server.url("/bin")).kind == "binary"


def test_undecodable_bytes_with_control_characters_are_refused(http_server: LocalServer) -> None:
    http_server.route("/bin", respond(b"\xff\xd8\xff\xe0\x10JFIF\x01\x02"))
    assert fetch_error(http_server.url("/bin")).kind == "binary"


def test_a_latin1_list_is_read_as_text(http_server: LocalServer) -> None:
    body = "192.0.2.1 # café\n".encode("latin-1")
    http_server.route("/latin1", respond(body))
    assert fetch_list(http_server.url("/latin1")).text == "192.0.2.1 # café\n"


def test_gzip_content_encoding_is_decoded(http_server: LocalServer) -> None:
    packed = gzip.compress(LIST.encode())
    http_server.route("/enc", respond(packed, headers={"Content-Encoding": "gzip"}))
    result = fetch_list(http_server.url("/enc"))
    assert result.text == LIST
    assert result.sha256 == hashlib.sha256(LIST.encode()).hexdigest()


def test_a_gzip_file_is_unpacked(http_server: LocalServer) -> None:
    packed = gzip.compress(LIST.encode()) + gzip.compress(b"203.0.113.9\n")
    http_server.route("/list.gz", respond(packed, content_type="application/gzip"))
    result = fetch_list(http_server.url("/list.gz"))
    assert result.text == LIST + "203.0.113.9\n"
    assert result.size == len(result.text)


def test_a_truncated_gzip_file_is_refused(http_server: LocalServer) -> None:
    packed = gzip.compress(LIST.encode() * 100)
    http_server.route("/cut.gz", respond(packed[: len(packed) // 2]))
    assert fetch_error(http_server.url("/cut.gz")).kind == "binary"


def test_a_corrupt_gzip_file_is_refused(http_server: LocalServer) -> None:
    http_server.route("/bad.gz", respond(b"\x1f\x8b" + b"not really gzip" * 10))
    assert fetch_error(http_server.url("/bad.gz")).kind == "binary"


def test_a_gzip_file_is_recognised_even_when_its_first_bytes_trickle_in(
    http_server: LocalServer,
) -> None:
    http_server.route("/slow.gz", trickle(gzip.compress(LIST.encode()), 0.005))
    assert fetch_list(http_server.url("/slow.gz")).text == LIST


def test_a_gzip_bomb_file_is_stopped_at_the_cap(http_server: LocalServer) -> None:
    bomb = gzip_bomb(20 * MB)
    assert len(bomb) < MB
    http_server.route("/bomb.gz", respond(bomb, content_type="application/gzip"))
    assert fetch_error(http_server.url("/bomb.gz"), max_bytes=MB).kind == "too_large"


def test_a_gzip_bomb_content_encoding_is_stopped_at_the_cap(http_server: LocalServer) -> None:
    bomb = gzip_bomb(20 * MB)
    http_server.route("/bomb", respond(bomb, headers={"Content-Encoding": "gzip"}))
    assert fetch_error(http_server.url("/bomb"), max_bytes=MB).kind == "too_large"


def test_a_closed_port_is_a_connection_error_after_retries() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    error = fetch_error(f"http://127.0.0.1:{port}/list.txt", retries=1)
    assert (error.kind, error.attempts) == ("connection", 2)
    assert "Connection refused" in str(error)


def test_a_slow_small_download_reports_progress_every_half_second(
    http_server: LocalServer,
) -> None:
    def slowly() -> Iterator[bytes]:
        for _ in range(8):  # 8 KB over 2 s
            time.sleep(0.25)
            yield b"1.2.3.4\n" * 125

    http_server.route("/slow", stream(slowly, length=8000))
    calls: list[int] = []
    fetch_list(http_server.url("/slow"), progress=lambda done, total: calls.append(done))
    assert calls[-1] == 8000
    assert 0 < calls[0] < 8000  # the page's bar moves before the end
    assert len(calls) <= 6


def test_progress_is_reported_in_steps_of_at_least_256_kib(http_server: LocalServer) -> None:
    http_server.route("/list", stream(lambda: lines(2 * MB), length=2 * MB))
    calls: list[tuple[int, int | None]] = []
    fetch_list(http_server.url("/list"), progress=lambda done, total: calls.append((done, total)))
    done = [d for d, _ in calls]
    assert calls[-1] == (2 * MB, 2 * MB)
    assert all(b - a >= 256 * 1024 for a, b in zip(done, done[1:-1], strict=False))
    assert len(calls) <= 9


@pytest.mark.parametrize(
    "url",
    [
        "",
        "   ",
        "ftp://example.com/list.txt",
        "http://",
        "https:///list.txt",
        "javascript:alert(1)",
        "file:///etc/passwd",
        "example.com/list.txt",
        "http://example.com/list.txt\nHost: evil",
        "http://exa mple.com/",
        "http://example.com:99999/",
        "http://user:secret@example.com/list.txt",
        "http://example.com/" + "a" * 2000,
    ],
)
def test_bad_urls_are_refused_before_any_request(url: str) -> None:
    with pytest.raises(FetchError) as info:
        clean_url(url)
    assert info.value.kind == "url"
    assert fetch_error(url).kind == "url"


def test_a_good_url_comes_back_trimmed() -> None:
    assert clean_url("  https://example.com/list.txt?x=1 \n") == "https://example.com/list.txt?x=1"
