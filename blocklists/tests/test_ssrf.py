"""Blocklist downloads never reach internal addresses unless the operator allows them.

A "list" URL typed into the Blocklists page, or a redirect from a list server,
could otherwise make BanGUI fetch a service on this host, in the local network
or a cloud's metadata address, and show its answer in the preview. The servers
here are real, on loopback: 127.0.0.1 and a second one on 127.0.0.2.
"""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from blocklists.fetch import FetchError, fetch_list
from blocklists.preview import preview
from blocklists.tests.httpserver import LocalServer, respond

LIST = "192.0.2.1\n198.51.100.7\n"
# Shaped like list lines, so a preview would show it under "Invalid lines".
SECRET = "aws_secret_access_key=wJalrXUtnFEMI-K7MDENG-bPxRfiCY-SECRET"
ADVICE = "If this server is yours, add"


@pytest.fixture
def no_allow_list(settings) -> None:  # type: ignore[no-untyped-def]
    """The default of a real install: nothing internal is allowed."""
    settings.BANGUI_BLOCKLIST_ALLOW_HOSTS = []


@pytest.fixture
def allow(settings) -> Callable[..., None]:  # type: ignore[no-untyped-def]
    def allow(*hosts: str) -> None:
        settings.BANGUI_BLOCKLIST_ALLOW_HOSTS = list(hosts)

    return allow


@pytest.fixture
def secret_server() -> Iterator[LocalServer]:
    """An internal service on 127.0.0.1 that must never be read."""
    with LocalServer() as server:
        server.route("/secret", respond(SECRET + "\n"))
        yield server


@pytest.fixture
def internal_server() -> Iterator[LocalServer]:
    """An internal service on 127.0.0.2, next to an allowed list server on 127.0.0.1."""
    with LocalServer("127.0.0.2") as server:
        server.route("/secret", respond(SECRET + "\n"))
        yield server


def redirect(location: str, status: int = 302) -> Callable[[BaseHTTPRequestHandler], None]:
    # The body would be shown if it were ever read.
    return respond(SECRET, status=status, headers={"Location": location})


def refused(url: str, **kwargs: object) -> FetchError:
    with pytest.raises(FetchError) as info:
        fetch_list(url, retries=0, connect_timeout=2, **kwargs)  # type: ignore[arg-type]
    error = info.value
    assert SECRET not in str(error)
    return error


def assert_never_read(server: LocalServer) -> None:
    assert sum(server.hits.values()) == 0


# --- Internal addresses are refused ------------------------------------------------


def test_it_refuses_a_url_that_resolves_to_loopback(
    no_allow_list: None, secret_server: LocalServer
) -> None:
    url = secret_server.url("/secret")
    error = refused(url)
    assert error.kind == "internal"
    assert str(error) == (
        f"{url} resolves to 127.0.0.1, a loopback address: BanGUI does not download from "
        f"internal addresses. {ADVICE} 127.0.0.1 to BANGUI_BLOCKLIST_ALLOW_HOSTS."
    )
    assert_never_read(secret_server)


def test_it_refuses_a_host_name_that_resolves_to_loopback(
    no_allow_list: None, secret_server: LocalServer
) -> None:
    error = refused(secret_server.url("/secret", host="localhost"))
    assert error.kind == "internal"
    assert "a loopback address" in str(error)
    assert f"{ADVICE} localhost to BANGUI_BLOCKLIST_ALLOW_HOSTS" in str(error)
    assert_never_read(secret_server)


@pytest.mark.parametrize(
    ("host", "what"),
    [
        ("169.254.169.254", "a link-local address"),  # cloud metadata
        ("10.0.0.1", "a private address"),
        ("192.168.1.1", "a private address"),
        ("100.64.0.1", "a non-public address"),
        ("224.0.0.1", "a multicast address"),
        ("240.0.0.1", "a reserved address"),
        ("0.0.0.0", "an unspecified address"),  # noqa: S104 - the address under test
        ("[::1]", "a loopback address"),
        ("[::]", "an unspecified address"),
        ("[::ffff:127.0.0.1]", "a loopback address"),
        ("[::ffff:169.254.169.254]", "a link-local address"),
        ("[fe80::1]", "a link-local address"),
        ("[fd00::1]", "a private address"),
    ],
)
def test_it_refuses_internal_address_literals(
    host: str, what: str, no_allow_list: None, secret_server: LocalServer
) -> None:
    # On the secret server's port: 0.0.0.0 and ::ffff:127.0.0.1 would reach it.
    error = refused(secret_server.url("/secret", host=host))
    assert error.kind == "internal"
    assert f"{what}: BanGUI does not download from internal addresses" in str(error)
    assert_never_read(secret_server)


def test_the_allow_list_of_the_tests_does_not_allow_other_internal_addresses(
    secret_server: LocalServer,
) -> None:
    # conftest.py allows 127.0.0.1 only (by address: also "localhost", which resolves to it).
    assert refused(secret_server.url("/x", host="10.0.0.1")).kind == "internal"
    assert refused(secret_server.url("/x", host="127.0.0.2")).kind == "internal"
    assert refused(secret_server.url("/x", host="[::1]")).kind == "internal"


def test_the_preview_refuses_it_and_shows_nothing_of_the_answer(
    no_allow_list: None, secret_server: LocalServer
) -> None:
    result = preview(secret_server.url("/secret"))
    assert "a loopback address" in result.error and ADVICE in result.error
    assert (result.lines, result.invalid_samples, result.first) == (0, [], [])
    assert SECRET not in repr(result)
    assert_never_read(secret_server)


@pytest.mark.django_db
@pytest.mark.parametrize("htmx", [True, False])
def test_the_preview_button_shows_the_refusal_and_not_the_secret(  # type: ignore[no-untyped-def]
    admin_client, no_allow_list: None, secret_server: LocalServer, htmx: bool
) -> None:
    data = {
        "name": "internal",
        "url": secret_server.url("/secret"),
        "schedule": "daily",
        "run_at": "03:17",
        "weekday": "0",
        "preview": "1",
    }
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    response = admin_client.post("/blocklists/add/", data, **headers)
    body = response.content.decode()
    assert response.status_code == 200
    assert "resolves to 127.0.0.1, a loopback address" in body
    assert "BANGUI_BLOCKLIST_ALLOW_HOSTS" in body
    assert SECRET not in body and "aws_secret" not in body
    assert_never_read(secret_server)


@pytest.mark.django_db
def test_an_import_from_the_command_line_is_refused_too(  # type: ignore[no-untyped-def]
    configured, no_allow_list: None, secret_server: LocalServer, capsys
) -> None:
    with pytest.raises(CommandError):
        call_command("import_blocklist", "--url", secret_server.url("/secret"), "--dry-run")
    out = capsys.readouterr()
    assert "a loopback address" in out.out
    assert SECRET not in out.out + out.err
    assert_never_read(secret_server)


# --- Redirects are checked hop by hop ----------------------------------------------


def test_a_redirect_from_an_allowed_host_to_an_internal_address_is_refused_at_the_hop(
    allow: Callable[..., None], http_server: LocalServer, internal_server: LocalServer
) -> None:
    allow("127.0.0.1")
    http_server.route("/list.txt", redirect(internal_server.url("/secret")))
    url = http_server.url("/list.txt")
    error = refused(url)
    assert error.kind == "internal"
    assert str(error).startswith(
        f"{url} redirects to 127.0.0.2, which resolves to 127.0.0.2, a loopback address: "
    )
    assert f"{ADVICE} 127.0.0.2 to BANGUI_BLOCKLIST_ALLOW_HOSTS" in str(error)
    assert http_server.hits["/list.txt"] == 1
    assert_never_read(internal_server)


@pytest.mark.parametrize(
    "location",
    ["http://169.254.169.254/latest/meta-data/", "http://[::1]:{port}/secret", "//10.1.1.1/"],
)
def test_a_redirect_to_the_metadata_address_or_another_internal_one_is_refused(
    location: str, allow: Callable[..., None], http_server: LocalServer
) -> None:
    allow("127.0.0.1")
    http_server.route("/secret", respond(SECRET))
    http_server.route("/list.txt", redirect(location.format(port=http_server.port)))
    assert refused(http_server.url("/list.txt")).kind == "internal"
    assert http_server.hits["/secret"] == 0


def test_redirects_within_allowed_hosts_are_followed_up_to_five_hops(
    http_server: LocalServer, internal_server: LocalServer, allow: Callable[..., None]
) -> None:
    allow("127.0.0.0/8")
    internal_server.route("/list.txt", respond(LIST))
    for hop in range(1, 5):
        http_server.route(f"/{hop}", redirect(f"/{hop + 1}", status=301 + hop % 2))
    http_server.route("/5", redirect(internal_server.url("/list.txt"), status=307))
    assert fetch_list(http_server.url("/1")).text == LIST


def test_a_sixth_redirect_is_refused(http_server: LocalServer) -> None:
    for hop in range(1, 7):
        http_server.route(f"/{hop}", redirect(f"/{hop + 1}"))
    http_server.route("/7", respond(LIST))
    url = http_server.url("/1")
    error = refused(url)
    assert str(error) == f"{url} redirects more than 5 times; check the URL."
    assert http_server.hits["/7"] == 0


@pytest.mark.parametrize(
    "location", ["file:///etc/passwd", "gopher://127.0.0.1:6379/_INFO", "http://u:p@x.test/"]
)
def test_a_redirect_to_a_url_clean_url_refuses_is_refused(
    location: str, http_server: LocalServer
) -> None:
    http_server.route("/list.txt", redirect(location))
    error = refused(http_server.url("/list.txt"))
    assert error.kind == "url" and "redirects to a URL that cannot be downloaded" in str(error)
    assert location not in str(error)


# --- The allow-list -------------------------------------------------------------------


def test_an_allowed_address_is_downloaded_from(
    allow: Callable[..., None], http_server: LocalServer
) -> None:
    allow("127.0.0.1")
    http_server.route("/list.txt", respond(LIST))
    assert fetch_list(http_server.url("/list.txt")).text == LIST


def test_an_allowed_host_name_is_downloaded_from(
    allow: Callable[..., None], http_server: LocalServer
) -> None:
    allow("localhost")
    http_server.route("/list.txt", respond(LIST))
    assert fetch_list(http_server.url("/list.txt", host="LocalHost")).text == LIST
    # The name is allowed, not the address it resolves to.
    assert refused(http_server.url("/list.txt")).kind == "internal"


def test_an_allowed_network_covers_every_address_in_it(
    allow: Callable[..., None], http_server: LocalServer, internal_server: LocalServer
) -> None:
    allow("127.0.0.0/8")
    http_server.route("/list.txt", respond(LIST))
    internal_server.route("/list.txt", respond(LIST))
    assert fetch_list(http_server.url("/list.txt")).text == LIST
    assert fetch_list(internal_server.url("/list.txt")).text == LIST
    assert fetch_list(http_server.url("/list.txt", host="localhost")).text == LIST
    # ::ffff:127.0.0.1 is 127.0.0.1: the IPv4 network covers it.
    assert fetch_list(http_server.url("/list.txt", host="[::ffff:127.0.0.1]")).text == LIST


def test_an_entry_for_another_host_allows_nothing_else(
    allow: Callable[..., None], secret_server: LocalServer
) -> None:
    allow("127.0.0.2", "10.0.0.0/8", "lists.example.org", "::1")
    assert refused(secret_server.url("/secret")).kind == "internal"
    assert_never_read(secret_server)


# --- One DNS answer, and it is the one connected to -------------------------------------


@pytest.fixture
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> Callable[[str, list[list[str]]], list[str]]:
    """Scripted answers for made-up names (one list of addresses per lookup)."""
    real = socket.getaddrinfo

    def install(name: str, answers: list[list[str]]) -> list[str]:
        asked: list[str] = []

        def getaddrinfo(host, port, *args, **kwargs):  # type: ignore[no-untyped-def]
            if host != name:
                return real(host, port, *args, **kwargs)
            asked.append(host)
            addresses = answers[min(len(asked), len(answers)) - 1]
            return [
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))
                for address in addresses
            ]

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
        return asked

    return install


def test_it_connects_to_the_address_it_checked_not_a_second_dns_answer(
    fake_dns: Callable[[str, list[list[str]]], list[str]],
    allow: Callable[..., None],
    http_server: LocalServer,
) -> None:
    # DNS rebinding: an allowed address for the check, then an internal one
    # (nothing listens there on this port; a second lookup would fail to connect).
    allow("127.0.0.1")
    asked = fake_dns("rebind.test", [["127.0.0.1"], ["127.0.0.2"]])
    http_server.route("/list.txt", respond(LIST))
    result = fetch_list(http_server.url("/list.txt", host="rebind.test"), retries=0)
    assert result.text == LIST
    assert asked == ["rebind.test"]


def test_a_name_with_one_internal_address_among_public_ones_is_refused(
    fake_dns: Callable[[str, list[list[str]]], list[str]], no_allow_list: None
) -> None:
    fake_dns("mixed.test", [["93.184.215.14", "127.0.0.1"]])
    error = refused("http://mixed.test/list.txt")
    assert "mixed.test/list.txt resolves to 127.0.0.1, a loopback address" in str(error)


# --- No proxy --------------------------------------------------------------------------


def test_proxy_variables_are_ignored(
    monkeypatch: pytest.MonkeyPatch, http_server: LocalServer
) -> None:
    with LocalServer() as proxy:
        for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
            monkeypatch.setenv(name, proxy.url(""))
        for name in ("NO_PROXY", "no_proxy"):
            monkeypatch.delenv(name, raising=False)
        http_server.route("/list.txt", respond(LIST))
        assert fetch_list(http_server.url("/list.txt")).text == LIST
        assert_never_read(proxy)


# --- HTTPS: the name for TLS, the checked address for the socket ----------------------------


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CA and a certificate for "localhost" only, signed by it."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    d = tmp_path_factory.mktemp("tls")
    key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _openssl("req", "-x509", *key, "-keyout", f"{d}/ca.key", "-out", f"{d}/ca.pem",
             "-subj", "/CN=BanGUI test CA", "-days", "2",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign")  # fmt: skip
    _openssl("req", *key, "-keyout", f"{d}/leaf.key", "-out", f"{d}/leaf.csr",
             "-subj", "/CN=localhost")  # fmt: skip
    (d / "leaf.ext").write_text(
        "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\n"
        "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
    )
    _openssl("x509", "-req", "-in", f"{d}/leaf.csr", "-CA", f"{d}/ca.pem",
             "-CAkey", f"{d}/ca.key", "-CAcreateserial", "-out", f"{d}/leaf.pem",
             "-days", "2", "-extfile", f"{d}/leaf.ext")  # fmt: skip
    return d


def test_https_checks_the_host_name_while_connecting_to_the_checked_address(
    certificates: Path, monkeypatch: pytest.MonkeyPatch, allow: Callable[..., None]
) -> None:
    allow("localhost", "127.0.0.1")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(certificates / "ca.pem"))
    names: list[str | None] = []
    hosts: list[str | None] = []
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(certificates / "leaf.pem", certificates / "leaf.key")
    tls.sni_callback = lambda _sock, name, _ctx: names.append(name)

    def handler(h: BaseHTTPRequestHandler) -> None:
        hosts.append(h.headers.get("Host"))
        respond(LIST)(h)

    with LocalServer(tls=tls) as server:
        server.route("/list.txt", handler)
        assert fetch_list(server.url("/list.txt", host="localhost")).text == LIST
        assert names == ["localhost"]
        assert hosts == [f"localhost:{server.port}"]
        # The certificate is for "localhost": by address, the name check still fails.
        error = refused(server.url("/list.txt"))
        assert error.kind == "connection" and "certificate" in str(error)
        assert hosts == [f"localhost:{server.port}"]
