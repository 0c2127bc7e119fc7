"""Download a blocklist over HTTP(S), defensively.

A blocklist URL is typed by an operator and served by a third party, so every
answer is treated as hostile: bounded in size (also after decompression),
bounded in time (also against servers that trickle), and rejected early when
it is plainly not a list of addresses (a login page, an archive).

The URL may also point inward: at a service on this host, in the local network
or at a cloud's metadata address (169.254.169.254), whose answer a preview
would show. Every connection resolves its host once, refuses internal
addresses (unless the host is on ``BANGUI_BLOCKLIST_ALLOW_HOSTS``) and connects
to exactly the addresses it checked; redirects are followed by hand, each hop
checked the same way, and proxy variables are ignored.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import re
import socket
import sys
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
import urllib3.exceptions
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.util.connection import allowed_gai_family

# The URL check and the error live apart so that forms can use them without
# loading requests (~5 MiB per process); they are part of this module's API.
from blocklists.listurl import MAX_URL_LENGTH, FetchError, clean_url

__all__ = ["MAX_URL_LENGTH", "USER_AGENT", "FetchError", "Fetched", "clean_url", "fetch_list"]

USER_AGENT = "BanGUI blocklist import"
CHUNK = 64 * 1024
# Progress is reported every 256 KiB, or every half second for a slow download.
PROGRESS_EVERY = 256 * 1024
PROGRESS_SECONDS = 0.5
SNIFF_BYTES = 64 * 1024
MAX_WAIT = 60.0
GZIP_MAGIC = b"\x1f\x8b"
MAX_REDIRECTS = 5
ALLOW_SETTING = "BANGUI_BLOCKLIST_ALLOW_HOSTS"
# DNS64 synthesises these for IPv4-only hosts on IPv6-only networks (RFC 6052).
_NAT64 = ipaddress.ip_network("64:ff9b::/96")

_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_ERRNO_TEXT = re.compile(r"\[Errno -?\d+\] ([^'\"()\]]+)")
_HTML_START = re.compile(rb"\s*<(?:!doctype|html)", re.IGNORECASE)


@dataclass
class Fetched:
    text: str
    sha256: str
    size: int
    status: int
    content_type: str
    attempts: int


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):g} MB"


def _too_large(url: str, max_bytes: int) -> FetchError:
    return FetchError(
        "too_large",
        f"The list at {url} is larger than the {_mb(max_bytes)} limit; "
        "use a smaller list or raise the limit.",
    )


def _status_error(url: str, response: requests.Response) -> FetchError:
    status = response.status_code
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = response.reason or ""
    retryable = status == 429 or 500 <= status <= 599
    advice = "try again later" if retryable else "check the URL"
    error = FetchError(
        "http",
        f"The server answered {status} {phrase} for {url}; {advice}.".replace("  ", " "),
        retryable=retryable,
    )
    retry_after = response.headers.get("Retry-After", "").strip()
    if retryable and retry_after.isdigit():
        error.retry_after = min(float(retry_after), MAX_WAIT)
    return error


class _Body:
    """Collects the body, gunzipping a ``.gz`` file on the fly, never beyond the cap."""

    def __init__(self, url: str, max_bytes: int) -> None:
        self.url = url
        self.max_bytes = max_bytes
        self.data = bytearray()
        self.gunzip: zlib._Decompress | None = None
        # Whether the body is a gzip file is decided on its first two bytes,
        # which a trickling server may send one at a time.
        self.head: bytes | None = b""

    def add(self, chunk: bytes) -> None:
        if self.head is not None:
            self.head += chunk
            if len(self.head) < len(GZIP_MAGIC):
                return
            chunk, self.head = self.head, None
            if chunk.startswith(GZIP_MAGIC):
                self.gunzip = zlib.decompressobj(16 + zlib.MAX_WBITS)
        if self.gunzip is None:
            self._keep(chunk)
            return
        pending = chunk
        while pending:
            room = self.max_bytes - len(self.data) + 1
            try:
                self._keep(self.gunzip.decompress(pending, room))
            except zlib.error:
                raise self._corrupt() from None
            pending = self.gunzip.unconsumed_tail
            if self.gunzip.eof:
                # Concatenated gzip members are one valid file (as `cat a.gz b.gz`).
                pending = self.gunzip.unused_data + pending
                if not pending.startswith(GZIP_MAGIC):
                    return
                self.gunzip = zlib.decompressobj(16 + zlib.MAX_WBITS)

    def finish(self) -> bytearray:
        if self.head:
            self._keep(self.head)
        if self.gunzip is not None and not self.gunzip.eof:
            raise self._corrupt()
        return self.data

    def _corrupt(self) -> FetchError:
        return FetchError("binary", f"{self.url} returned a truncated or corrupt gzip file.")

    def _keep(self, data: bytes) -> None:
        if len(self.data) + len(data) > self.max_bytes:
            raise _too_large(self.url, self.max_bytes)
        self.data += data


def _html(url: str) -> FetchError:
    message = f"{url} returned a web page (HTML), not a plain list of addresses; use the link"
    return FetchError("html", message + " to the raw text list.")


def _binary(url: str) -> FetchError:
    message = f"{url} returned binary data, not a text list of addresses; check the URL."
    return FetchError("binary", message)


def _sniff(url: str, head: bytes | bytearray) -> None:
    if _HTML_START.match(head):
        raise _html(url)
    if b"\x00" in head:
        raise _binary(url)


def _decode(url: str, data: bytearray) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    # Old lists in Latin-1 are text too; anything with control characters is not.
    if _CONTROL.search(data):
        raise _binary(url)
    return data.decode("latin-1")


# --- Internal addresses -------------------------------------------------------
#
# A URL is typed by an operator, but the host it names may resolve to this very
# machine, the local network or a cloud's metadata service, and a list server may
# redirect there. BanGUI would then show that service's answer in a preview.
# So the host is resolved once, when the connection is opened; every address it
# resolves to is checked; and the socket is connected to exactly those addresses.
# Letting urllib3 resolve the name again would open a window for DNS rebinding
# (a public address for the check, 127.0.0.1 for the connection).

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class _Refused(Exception):
    """Raised instead of connecting: the host resolves to an internal address.

    Deliberately not an ``OSError``: urllib3 and requests let it through
    unwrapped, so it reaches ``_get`` as itself and is never retried.
    """

    def __init__(self, host: str, address: str, what: str) -> None:
        super().__init__(f"{host} resolves to {address}, {what}")
        self.host = host
        self.address = address
        self.what = what


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address leads to, if it is one in disguise."""
    if ip.ipv4_mapped is not None:  # ::ffff:127.0.0.1 is 127.0.0.1
        return ip.ipv4_mapped
    if ip in _NAT64:  # 64:ff9b::a00:1 is 10.0.0.1 behind the NAT64 gateway
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip.sixtofour  # 2002:a00:1:: is 10.0.0.1 through a 6to4 relay


def _internal(ip: IPAddress) -> str | None:
    """What kind of internal address ``ip`` is ("a loopback address"); None for a public one."""
    if isinstance(ip, ipaddress.IPv6Address):
        ip = _embedded_ipv4(ip) or ip
    if ip.is_unspecified:
        return "an unspecified address"
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_multicast:
        return "a multicast address"
    if ip.is_reserved:
        return "a reserved address"
    if ip.is_private or (isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local):
        return "a private address"
    if not ip.is_global:  # shared address space 100.64.0.0/10 (carrier-grade NAT)
        return "a non-public address"
    return None


@dataclass(frozen=True)
class _AllowList:
    """``BANGUI_BLOCKLIST_ALLOW_HOSTS``: host names, IP addresses and networks."""

    names: frozenset[str]
    networks: tuple[IPNetwork, ...]

    @classmethod
    def from_settings(cls) -> _AllowList:
        names: set[str] = set()
        networks: list[IPNetwork] = []
        for entry in settings.BANGUI_BLOCKLIST_ALLOW_HOSTS:
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                names.add(entry.lower().rstrip("."))
        return cls(frozenset(names), tuple(networks))

    def allows(self, host: str, ip: IPAddress) -> bool:
        if host.lower().rstrip(".") in self.names:
            return True
        candidates: list[IPAddress] = [ip]
        if isinstance(ip, ipaddress.IPv6Address) and (embedded := _embedded_ipv4(ip)):
            candidates.append(embedded)
        return any(
            a.version == net.version and a in net for a in candidates for net in self.networks
        )


def _checked_socket(conn: HTTPConnection) -> socket.socket:
    """Resolve the host once, refuse internal addresses, connect to the checked ones.

    Replaces urllib3's ``HTTPConnection._new_conn`` (which resolves the name
    itself) and raises what it raises, so requests reports failures as usual.
    """
    host, port = conn.host, conn.port
    try:
        found = socket.getaddrinfo(host, port, allowed_gai_family(), socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise urllib3.exceptions.NameResolutionError(host, conn, exc) from exc
    allow = _AllowList.from_settings()
    # Every address must pass, not just the first: a name that resolves to a public
    # and an internal address is refused rather than half-trusted.
    for *_, sockaddr in found:
        ip = ipaddress.ip_address(sockaddr[0])
        what = _internal(ip)
        if what is not None and not allow.allows(host, ip):
            raise _Refused(host, str(ip), what)
    # Like urllib3's create_connection: each address in turn, the last error if all fail.
    error: OSError | None = None
    for family, socktype, proto, _name, sockaddr in found:
        sock = socket.socket(family, socktype, proto)
        try:
            for option in conn.socket_options or ():
                sock.setsockopt(*option)
            if conn.timeout is None or isinstance(conn.timeout, float | int):
                sock.settimeout(conn.timeout)
            if conn.source_address:
                sock.bind(conn.source_address)
            sock.connect(sockaddr)  # the checked address itself: no second lookup
        except OSError as exc:
            sock.close()
            error = exc
            continue
        sys.audit("http.client.connect", conn, host, port)
        return sock
    if isinstance(error, TimeoutError):
        message = f"Connection to {host} timed out. (connect timeout={conn.timeout})"
        raise urllib3.exceptions.ConnectTimeoutError(conn, message) from error
    message = f"Failed to establish a new connection: {error or 'no address'}"
    raise urllib3.exceptions.NewConnectionError(conn, message) from error


# The Host header, TLS SNI and the certificate's host name check all use
# ``conn.host``, the URL's host name, so overriding only how the socket is
# opened keeps them exactly as they were: an https list is still verified
# against its name, whichever checked address the socket went to.
class _CheckedHTTPConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        return _checked_socket(self)


class _CheckedHTTPSConnection(HTTPSConnection):
    def _new_conn(self) -> socket.socket:
        return _checked_socket(self)


class _CheckedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _CheckedHTTPConnection


class _CheckedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _CheckedHTTPSConnection


class _CheckedAdapter(HTTPAdapter):
    """requests' adapter, its connections opened by ``_checked_socket``.

    Only direct connections are checked: a proxy's would not be, which is one
    reason ``_session`` never uses one.
    """

    def init_poolmanager(
        self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any
    ) -> None:
        super().init_poolmanager(connections, maxsize, block, **pool_kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _CheckedHTTPPool,
            "https": _CheckedHTTPSPool,
        }


def _session() -> requests.Session:
    session = requests.Session()
    # Proxy variables (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY) are ignored: through a
    # proxy, the address checked would be the proxy's, and the proxy would
    # connect wherever the URL points. BanGUI always downloads directly.
    session.trust_env = False
    # trust_env also covers the CA bundle variables; those are still honoured.
    session.verify = (
        os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
    )
    adapter = _CheckedAdapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def _refusal(url: str, target: str, refused: _Refused) -> FetchError:
    where = (
        f"{url} resolves" if target == url else f"{url} redirects to {refused.host}, which resolves"
    )
    return FetchError(
        "internal",
        f"{where} to {refused.address}, {refused.what}: BanGUI does not download from "
        f"internal addresses. If this server is yours, add {refused.host} to "
        f"{ALLOW_SETTING}.",
    )


def _get(url: str, session: requests.Session, *, timeout: tuple[float, float]) -> requests.Response:
    """GET ``url``, following at most ``MAX_REDIRECTS`` redirects by hand.

    Each hop must pass ``clean_url`` and opens its own checked connection, so a
    list server cannot redirect BanGUI inward. Redirect bodies are never read.
    """
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate"}
    target = url
    for _hop in range(MAX_REDIRECTS + 1):
        try:
            response = session.get(
                target, headers=headers, timeout=timeout, stream=True, allow_redirects=False
            )
        except _Refused as exc:
            raise _refusal(url, target, exc) from None
        location = session.get_redirect_target(response)
        if location is None:
            return response
        response.close()
        try:
            target = clean_url(urljoin(target, location))
        except FetchError:
            # clean_url's message would quote the Location header: say it in our words.
            message = (
                f"{url} redirects to a URL that cannot be downloaded (only http:// and "
                "https:// URLs with a host name and no password are followed); check the URL."
            )
            raise FetchError("url", message) from None
    message = f"{url} redirects more than {MAX_REDIRECTS} times; check the URL."
    raise FetchError("http", message)


def _fetch_once(
    url: str,
    session: requests.Session,
    *,
    max_bytes: int,
    timeout: tuple[float, float],
    ends_at: float,
    deadline: float,
    progress: Callable[[int, int | None], None] | None,
) -> Fetched:
    with _get(url, session, timeout=timeout) as response:
        if response.status_code != 200:
            raise _status_error(url, response)
        content_type = response.headers.get("Content-Type", "")
        if content_type.split(";")[0].strip().lower() == "text/html":
            raise _html(url)
        length_header = response.headers.get("Content-Length", "")
        total = int(length_header) if length_header.isdigit() else None
        if total is not None and total > max_bytes:
            raise _too_large(url, max_bytes)
        body = _Body(url, max_bytes)
        sniffed = False
        reported, reported_at = 0, time.monotonic()
        while True:
            # read1 returns as soon as any bytes arrive, so the deadline check below
            # runs even against a server that sends one byte per second.
            chunk = response.raw.read1(CHUNK, decode_content=True)
            if not chunk:
                break
            if time.monotonic() > ends_at:
                message = f"Downloading {url} took longer than {deadline:g} s; try again later."
                raise FetchError("timeout", message)
            body.add(chunk)
            if not sniffed and len(body.data) >= SNIFF_BYTES:
                _sniff(url, body.data[:SNIFF_BYTES])
                sniffed = True
            received = response.raw.tell()
            if progress is not None and (
                received - reported >= PROGRESS_EVERY
                or time.monotonic() - reported_at >= PROGRESS_SECONDS
            ):
                progress(received, total)
                reported, reported_at = received, time.monotonic()
        data = body.finish()  # no bytes() copy: memory stays bounded by the cap, not twice it
        if not sniffed:
            _sniff(url, data[:SNIFF_BYTES])
        if progress is not None and response.raw.tell() != reported:
            progress(response.raw.tell(), total)
        return Fetched(
            text=_decode(url, data),
            sha256=hashlib.sha256(data).hexdigest(),
            size=len(data),
            status=response.status_code,
            content_type=content_type,
            attempts=1,
        )


def _translate(url: str, exc: Exception, read_timeout: float) -> FetchError:
    """Map the many exception types of requests and urllib3 to our few kinds."""
    host = urlsplit(url).hostname or url
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        message = f"Connecting to {host} timed out; check the URL and the network."
        return FetchError("timeout", message, retryable=True)
    if isinstance(exc, requests.exceptions.Timeout | urllib3.exceptions.ReadTimeoutError):
        message = f"{host} sent nothing for {read_timeout:.3g} s; try again later."
        return FetchError("timeout", message, retryable=True)
    if isinstance(exc, requests.exceptions.InvalidURL | requests.exceptions.InvalidSchema):
        return FetchError("url", f"{url} cannot be downloaded ({exc.__class__.__name__}).")
    if isinstance(exc, requests.exceptions.SSLError):
        # Retrying will not fix a certificate.
        message = f"The secure connection to {host} failed (TLS or certificate); check the URL."
        return FetchError("connection", message)
    if isinstance(exc, urllib3.exceptions.DecodeError | requests.exceptions.ContentDecodingError):
        return FetchError("binary", f"{url} sent a body that could not be decompressed.")
    # The OS's own words ("Connection refused") beat urllib3's nested reprs.
    errno_text = _ERRNO_TEXT.search(str(exc))
    reason = errno_text.group(1).strip() if errno_text else exc.__class__.__name__
    message = f"Could not download from {host} ({reason}); check the URL and the network."
    return FetchError("connection", message, retryable=True)


def fetch_list(
    url: str,
    *,
    max_bytes: int = 50 * 1024 * 1024,
    connect_timeout: float = 10.0,
    read_timeout: float = 30.0,
    deadline: float = 300.0,
    retries: int = 3,
    backoff: float = 1.0,
    progress: Callable[[int, int | None], None] | None = None,
    sleep: Callable[[float], object] = time.sleep,
) -> Fetched:
    """Download ``url`` as text, retrying 429, 5xx, timeouts and connection errors.

    ``deadline`` bounds the whole call, retries included. Raises ``FetchError``,
    also for a URL (or a redirect) that leads to an internal address.
    """
    url = clean_url(url)
    http = _session()
    ends_at = time.monotonic() + deadline
    try:
        for attempt in range(1, retries + 2):
            # A read never outlasts what is left of the deadline.
            left = max(0.1, min(read_timeout, ends_at - time.monotonic()))
            try:
                result = _fetch_once(
                    url,
                    http,
                    max_bytes=max_bytes,
                    timeout=(connect_timeout, left),
                    ends_at=ends_at,
                    deadline=deadline,
                    progress=progress,
                )
            except (requests.RequestException, urllib3.exceptions.HTTPError) as exc:
                error = _translate(url, exc, left)
                error.__cause__ = exc
            except FetchError as exc:
                error = exc
            else:
                result.attempts = attempt
                return result
            error.attempts = attempt
            if attempt > 1:
                error.args = (f"{error.message} ({attempt} attempts)",)
            wait = min(backoff * 2 ** (attempt - 1), MAX_WAIT)
            if error.retry_after is not None:
                wait = max(wait, error.retry_after)
            if not error.retryable or attempt > retries or time.monotonic() + wait > ends_at:
                raise error
            sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover
    finally:
        http.close()
