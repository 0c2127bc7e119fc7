"""The root broker against the real fail2ban: same answers as the direct client, clear errors."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError

from bangui.broker import wire
from bangui.broker.client import BrokerClient, BrokerUnavailable, wait_ready
from bangui.broker.server import BrokerServer, Policy, Settings, serve
from bangui.demo.lab import Fail2banLab
from bangui.fail2ban import host
from bangui.fail2ban.errors import Fail2banCommandError, Fail2banUnavailable
from bangui.fail2ban.policy import PolicyRefused

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def broker(f2b: Fail2banLab) -> Iterator[BrokerServer]:
    """A broker in this process, for the shared test fail2ban."""
    run = Path(tempfile.mkdtemp(prefix="bgb-", dir="/tmp"))
    server = serve(
        str(run / "b.sock"), Settings(f2b.socket_path, str(f2b.conf_dir)), Policy(), None
    )
    yield server
    server.shutdown()
    server.server_close()


def _raw(path: str, payload: bytes) -> dict[str, object]:
    """Send bytes as they are and read one reply frame."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(5)
    sock.connect(path)
    try:
        sock.sendall(payload)
        return wire.read_frame(sock.makefile("rb"), wire.MAX_REPLY)
    finally:
        sock.close()


def test_it_answers_as_the_direct_client_does(broker, f2b) -> None:  # type: ignore[no-untyped-def]
    direct, via = f2b.client(), BrokerClient(broker.path, persistent=True)
    try:
        assert via.ping() is True
        assert via.version() == direct.version()
        assert via.jails() == direct.jails()
        assert via.ban("alpha", ["203.0.113.5", "198.51.100.0/24"]) == 2
        assert via.banned_ips("alpha") == direct.banned_ips("alpha")
        assert via.jail_status("alpha") == direct.jail_status("alpha")
        assert via.jail_status("alpha", flavour="basic") == direct.jail_status(
            "alpha", flavour="basic"
        )
        assert via.banned() == direct.banned()
        assert via.jails_banning(["203.0.113.5"]) == {"203.0.113.5": ["alpha"]}
        assert len(via.banned_with_time("alpha")) == 2
        via.set("alpha", "maxretry", 7)
        assert via.get("alpha", "maxretry") == direct.get("alpha", "maxretry") == 7
        via.add_ignore("alpha", ["192.0.2.10"])
        assert "192.0.2.10" in via.get("alpha", "ignoreip")
        assert via.unban("alpha", ["203.0.113.5"]) == 1
        assert via.get_server("dbpurgeage") == direct.get_server("dbpurgeage")
        assert via.unban_all() == 1
    finally:
        via.close()


def test_fail2ban_errors_come_back_as_the_same_errors(broker, f2b) -> None:  # type: ignore[no-untyped-def]
    via = BrokerClient(broker.path)
    with pytest.raises(Fail2banCommandError) as err:
        via.jail_status("nosuchjail")
    assert err.value.unknown_jail
    with pytest.raises(ValidationError):
        via.ban("alpha", ["1.2.3.4; id"])
    with pytest.raises(ValidationError):  # the broker checks again, whatever the caller did
        via.call("ban", jail="alpha", ips=["1.2.3.4; id"])
    with pytest.raises(ValidationError):
        via.call("set", jail="alpha", name="actionban", value="touch /tmp/x")
    f2b.stop()
    try:
        with pytest.raises(Fail2banUnavailable) as down:
            via.ping()
        assert not isinstance(down.value, BrokerUnavailable)  # the broker itself is up
        assert via.call("hello") == {"broker": "bangui", "protocol": 1}
    finally:
        f2b.start()


def test_a_missing_broker_is_its_own_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(BrokerUnavailable, match="broker: not running"):
        BrokerClient(str(tmp_path / "none.sock")).ping()


@pytest.mark.parametrize(
    ("payload", "kind"),
    [
        (wire.encode_frame({"v": 1, "op": "shell", "args": {}}), wire.UNKNOWN_OP),
        (wire.encode_frame({"v": 2, "op": "ping", "args": {}}), wire.INVALID),
        (wire.encode_frame({"v": 1, "op": "ban", "args": {"jail": "alpha"}}), wire.INVALID),
        (wire.encode_frame({"v": 1, "op": "ping", "args": {"x": 1}}), wire.INVALID),
        (wire.HEADER.pack(5) + b"nope!", wire.INVALID),
        (wire.HEADER.pack(wire.MAX_REQUEST + 1), wire.INVALID),
        (wire.HEADER.pack(2) + b"[]", wire.INVALID),
    ],
)
def test_it_refuses_malformed_requests(broker, payload, kind) -> None:  # type: ignore[no-untyped-def]
    reply = _raw(broker.path, payload)
    assert reply["ok"] is False and reply["error"]["kind"] == kind  # type: ignore[index]
    assert BrokerClient(broker.path).ping() is True  # and keeps serving


def test_the_broker_process_runs_without_django(f2b, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = str(Path(tempfile.mkdtemp(prefix="bgb-", dir="/tmp")) / "b.sock")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "bangui.broker", "--socket", path,
         "--fail2ban-socket", f2b.socket_path, "--config-dir", str(f2b.conf_dir)],
        env=env, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        wait_ready(path)
        assert os.stat(path).st_mode & 0o777 == 0o660
        assert BrokerClient(path).jails() == f2b.client().jails()
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert "listening on" in err and not os.path.exists(path)


# -- config operations ----------------------------------------------------------------------


@pytest.fixture
def private_broker(f2b_private: Fail2banLab, tmp_path: Path) -> Iterator[BrokerServer]:
    run = Path(tempfile.mkdtemp(prefix="bgb-", dir="/tmp"))
    settings = Settings(
        f2b_private.socket_path, str(f2b_private.conf_dir), state_dir=tmp_path / "state"
    )
    server = serve(str(run / "b.sock"), settings, Policy(), None)
    yield server
    server.shutdown()
    server.server_close()


def test_config_changes_go_through_the_broker_with_its_policy(private_broker, f2b_private):  # type: ignore[no-untyped-def]
    via, conf = BrokerClient(private_broker.path), f2b_private.conf_dir
    # The caller's config dir is ignored: the broker uses its own.
    result, previous = host.config_apply(
        via, config_dir="/nonexistent", changes={"jail.d/alpha.local": b"[alpha]\nmaxretry = 9\n"},
        reload_jail="alpha", expect_running=None, backup_dir=Path("/x"), lock_path=Path("/x"),
    )  # fmt: skip
    assert result.ok, result
    assert previous == {"jail.d/alpha.local": None}
    assert f2b_private.client().get("alpha", "maxretry") == 9
    before = (conf / "jail.d" / "alpha.local").read_bytes()
    refused, _ = host.config_apply(
        via, config_dir="/x", changes={"jail.d/alpha.local": b"[alpha]\nignorecommand = id\n"},
        reload_jail="alpha", expect_running=None, backup_dir=Path("/x"), lock_path=Path("/x"),
    )  # fmt: skip
    assert refused.step == "policy" and "runs a command" in refused.message
    assert (conf / "jail.d" / "alpha.local").read_bytes() == before
    with pytest.raises(PolicyRefused):
        via.call("create_missing", files={"action.d/x.conf": "[Definition]\nactionban = id\n"})
    assert not (conf / "action.d" / "x.conf").exists()
    assert host.create_missing(via, config_dir="/x", files={"jail.d/mine.conf": "[mine]\n"}) == [
        "jail.d/mine.conf"
    ]
    assert host.create_missing(via, config_dir="/x", files={"jail.d/mine.conf": "[other]\n"}) == []
    host.reload(via, config_dir="/x", jail="alpha")
    host.config_rollback(via, config_dir="/x", previous={"jail.d/alpha.local": None})
    assert not (conf / "jail.d" / "alpha.local").exists()
    assert f2b_private.client().get("alpha", "maxretry") == 3
    with pytest.raises(PolicyRefused):  # a rollback is a write: the same policy
        host.config_rollback(
            via, config_dir="/x", previous={"jail.d/alpha.local": b"[alpha]\nignorecommand = id\n"}
        )
    outside = via.call("config_apply", changes={"../../etc/x": None}, reload_jail=None)
    assert outside["result"]["ok"] is False and "not inside" in outside["result"]["message"]
    with pytest.raises(PolicyRefused, match="start command"):
        host.restart(via, command="/bin/true")  # the broker's own command, and it has none


def test_logs_are_read_by_the_broker_within_its_own_log_dirs(private_broker, f2b_private):  # type: ignore[no-untyped-def]
    via = BrokerClient(private_broker.path)
    target, tail = host.fail2ban_log(via, config_dir="/x", count=100, q="")
    assert target.target == f2b_private.client().get_server("logtarget")
    assert tail is not None and tail.error == "" and tail.lines
    log = f2b_private.log_path("alpha")
    log.write_text("one\ntwo\nthree\n")
    assert host.log_lines(via, path=str(log), allow=[], count=2) == "two\nthree\n"
    for bad in (
        "/etc/shadow",
        "/etc/passwd",
        str(log) + "/../../../../etc/shadow",
        "/proc/1/environ",
    ):
        with pytest.raises(ValidationError):
            host.log_lines(via, path=bad, allow=["/"], count=10)  # the caller's list is ignored
    with pytest.raises(ValidationError):
        via.call("log_lines", path=str(log), count=10**9)
