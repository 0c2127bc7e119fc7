"""Hostile input at the client boundary: a clear error, and nothing on the socket."""

from __future__ import annotations

import os
import pickle
import socket
import tempfile
import threading

import pytest
from django.core.exceptions import ValidationError

from bangui.fail2ban import Fail2banClient
from bangui.fail2ban.protocol import decode_reply, encode_request
from bangui.fail2ban.validation import clean_ip, clean_network, clean_seconds

HOSTILE_IPS = [
    "1.2.3.4; id",
    "not-an-ip",
    "10.0.0.0/33",
    "0.0.0.0/0",
    "::/0",
    "1.2.3.4\x00",
    "x" * 10_000,
    "$(reboot)",
    "",
    "0.0.0.0",
    "::",
    "255.255.255.255",
    "fe80::1%eth0",
    "2a00::1%$(id)",
    "2a00::1%a\n[Definition]\nx=y",
    "2a00::1%(logpath)s",
]
HOSTILE_JAILS = ["../x", "a/b", "sshd; rm -rf /", "", "-x", ".hidden", "j" * 10_000, "a\x00b"]
HOSTILE_TIMES = ["__import__('os')", "1+1", "abc", "1e9", "x" * 10_000, "10\x00", "-5", "9" * 30]


class RecordingSocket:
    """A real Unix socket that records every connection made to it."""

    def __init__(self) -> None:
        self.path = os.path.join(tempfile.mkdtemp(prefix="rec-"), "s")
        self.connections = 0
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(self.path)
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        self.sock.close()


@pytest.fixture
def recorder():
    rec = RecordingSocket()
    yield rec
    rec.close()


@pytest.mark.parametrize("bad", HOSTILE_IPS)
def test_it_rejects_hostile_ips_before_sending(recorder, bad):
    client = Fail2banClient(recorder.path, timeout=1)
    with pytest.raises(ValidationError):
        client.ban("alpha", ["192.0.2.1", bad])
    with pytest.raises(ValidationError):
        client.unban_everywhere([bad])
    with pytest.raises(ValidationError):
        client.add_ignore("alpha", [bad])
    assert recorder.connections == 0


@pytest.mark.parametrize("bad", HOSTILE_JAILS)
def test_it_rejects_hostile_jail_names_before_sending(recorder, bad):
    client = Fail2banClient(recorder.path, timeout=1)
    for call in (
        lambda: client.ban(bad, ["192.0.2.1"]),
        lambda: client.jail_status(bad),
        lambda: client.get(bad, "bantime"),
        lambda: client.set(bad, "bantime", "600"),
    ):
        with pytest.raises(ValidationError):
            call()
    assert recorder.connections == 0


@pytest.mark.parametrize("bad", HOSTILE_TIMES)
def test_it_rejects_hostile_time_values_before_sending(recorder, bad):
    client = Fail2banClient(recorder.path, timeout=1)
    with pytest.raises(ValidationError):
        client.set("alpha", "bantime", bad)
    assert recorder.connections == 0


def test_it_refuses_parameters_it_does_not_know(recorder):
    client = Fail2banClient(recorder.path, timeout=1)
    with pytest.raises(ValueError):
        client.set("alpha", "bantime.formula", "__import__('os')")
    with pytest.raises(ValueError):
        client.get("alpha", "action")
    assert recorder.connections == 0


def test_hostile_input_leaves_the_real_server_untouched(f2b):
    client = f2b.client()
    with pytest.raises(ValidationError):
        client.ban("alpha", ["1.2.3.4; id"])
    with pytest.raises(ValidationError):
        client.set("alpha", "bantime", "__import__('os')")
    assert client.banned()["alpha"] == []
    assert client.get("alpha", "bantime") == 600


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("600", "600"),
        ("-1", "-1"),
        ("10m", "600"),
        ("1h", "3600"),
        ("1d 12h", "129600"),
        (90, "90"),
    ],
)
def test_it_turns_durations_into_seconds(text, seconds):
    assert clean_seconds(text) == seconds


def test_it_normalises_networks():
    assert clean_network("192.0.2.0/24") == "192.0.2.0/24"
    assert clean_network("192.0.2.7/32") == "192.0.2.7"
    assert clean_network(" 2001:DB8::1 ") == "2001:db8::1"
    with pytest.raises(ValidationError, match="did you mean 192.0.2.0/24"):
        clean_network("192.0.2.7/24")


def test_it_only_sends_lists_of_str():
    with pytest.raises(TypeError):
        encode_request(["ok", 1])  # type: ignore[list-item]


def test_the_unpickler_refuses_code_in_replies():
    evil = pickle.dumps((0, os.system))
    with pytest.raises(pickle.UnpicklingError):
        decode_reply(evil)


def test_the_unpickler_turns_remote_exceptions_into_inert_standins():
    # A protocol-0 pickle of (1, fail2ban.exceptions.UnknownJailException("nojail")),
    # written by hand because that class is not importable here (nor should it be).
    data = b"(I1\ncfail2ban.exceptions\nUnknownJailException\n(Vnojail\ntRt."
    code, exc = decode_reply(data)
    assert code == 1
    assert exc.remote_class == "fail2ban.exceptions.UnknownJailException"
    assert exc.args == ("nojail",)


@pytest.mark.parametrize("value", [v for v in HOSTILE_IPS if "%" in v or v in ("0.0.0.0", "::")])
def test_every_address_cleaner_refuses_zone_ids_and_the_unspecified_address(value):
    from jails.config.jails.forms import clean_ignore_entry

    for cleaner in (clean_ip, clean_network, clean_ignore_entry):
        with pytest.raises(ValidationError):
            cleaner(value)


@pytest.mark.parametrize("hop", ["2a00::1%$(id)", "fe80::1%eth0", "1.2.3.4%x"])
def test_a_forwarded_address_with_a_zone_id_is_not_believed(settings, hop):
    import ipaddress

    from bangui.clientip import resolve_client_ip

    settings.BANGUI_TRUSTED_PROXIES = [ipaddress.ip_network("127.0.0.1/32")]
    meta = {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": hop}
    assert resolve_client_ip(meta) == "127.0.0.1"


def test_the_fast_ipv4_path_agrees_with_ipaddress_on_every_form() -> None:
    import ipaddress
    import random

    from bangui.fail2ban import validation

    rng = random.Random(16)
    parts = ["0", "00", "01", "1", "9", "10", "99", "100", "199", "249", "250", "255", "256",
             "300", "999", "-1", "+1", " 1", "1 ", "١", "0x1", "1e2", ""]  # fmt: skip
    samples = {".".join(rng.choice(parts) for _ in range(4)) for _ in range(5000)}
    samples |= {".".join(str(rng.randrange(256)) for _ in range(4)) for _ in range(5000)}
    samples |= {"1.2.3", "1.2.3.4.5", "1.2.3.4\n", "\n1.2.3.4", "1..2.3", "0.0.0.0",
                "255.255.255.255", "1.2.3.4%eth0"}  # fmt: skip
    for text in samples:
        fast = bool(validation._IPV4_RE.fullmatch(text.strip()))
        try:
            slow: str | None = str(ipaddress.IPv4Address(text.strip()))
        except ValueError:
            slow = None
        if fast:
            assert slow == text.strip(), text
        try:
            got: str | None = clean_network(text)
        except ValidationError:
            got = None
        expected = slow if slow not in (None, "0.0.0.0", "255.255.255.255") else None
        assert got == expected, text
