"""The privilege split, proved as the real unprivileged ``bangui`` user (issue 17).

fail2ban runs as root in a private lab whose config dir is readable by everyone
(as /etc/fail2ban is) and whose socket, database and logs are root's only.
The root broker allows the ``bangui`` user; everything here that plays the web
runs as that user through ``setpriv``. ``scripts/test`` creates the user.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bangui.broker.client import wait_ready
from bangui.demo.lab import Fail2banLab

ROOT = Path(__file__).resolve().parents[2]
USER = "bangui"


def _user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(USER)
    except KeyError:
        message = f"no {USER} user: scripts/test creates it (useradd --system {USER})"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


@functools.cache
def _readable_code() -> str:
    """A copy of the bangui package anyone can read: the checkout may sit in a private dir.

    What runs as the web user here needs only the standard library (the broker's
    client, the fail2ban library), so the system Python runs it.
    """
    dest = Path(tempfile.mkdtemp(prefix="bg-code-"))
    shutil.copytree(ROOT / "bangui", dest / "bangui", ignore=shutil.ignore_patterns("__pycache__"))
    for path in [dest, *dest.rglob("*")]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    return str(dest)


def as_user(user: str, *args: str, env: dict[str, str] | None = None, timeout: float = 300):  # type: ignore[no-untyped-def]
    """Run ``python3 ARGS`` as ``user`` (no groups, no capabilities)."""
    base = {"PATH": "/usr/bin:/bin", "PYTHONPATH": _readable_code(), "HOME": "/tmp",
            "LANG": "C.UTF-8"}  # fmt: skip
    gid = pwd.getpwnam(user).pw_gid
    return subprocess.run(
        ["setpriv", f"--reuid={user}", f"--regid={gid}", "--clear-groups",
         "/usr/bin/python3", *args],
        cwd="/", env={**base, **(env or {})}, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def _share_config(lab: Fail2banLab) -> None:
    """Config readable by everyone (like /etc/fail2ban); run dir and logs stay root's."""
    os.chmod(lab.base, 0o755)
    for path in [lab.conf_dir, *lab.conf_dir.rglob("*")]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    os.chmod(lab.run_dir, 0o700)
    os.chmod(lab.log_dir, 0o750)


def _fingerprint(lab: Fail2banLab) -> str:
    digest = hashlib.sha256()
    for path in sorted(lab.conf_dir.rglob("*")):
        digest.update(str(path).encode())
        if path.is_symlink():
            digest.update(os.readlink(path).encode())
        elif path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


@dataclass
class Broker:
    lab: Fail2banLab
    socket: str
    log: Path
    proc: subprocess.Popen[bytes]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


def start_broker(lab: Fail2banLab, *, allow: str = USER) -> Broker:
    run = Path(tempfile.mkdtemp(prefix="bgb-", dir="/tmp"))
    os.chmod(run, 0o755)  # the socket itself is 0660 root:bangui
    sock, log = str(run / "b.sock"), run / "broker.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "bangui.broker", "--socket", sock, "--fail2ban-socket",
         lab.socket_path, "--config-dir", str(lab.conf_dir), "--allow-user", allow,
         "--group", allow, "--state-dir", str(run / "state")],
        env={**os.environ, "PYTHONPATH": str(ROOT)}, stderr=log.open("wb"),
    )  # fmt: skip
    wait_ready(sock)
    return Broker(lab, sock, log, proc)


@pytest.fixture(scope="module")
def split() -> Iterator[Broker]:
    _user()
    lab = Fail2banLab()
    lab.start()
    _share_config(lab)
    broker = start_broker(lab)
    yield broker
    broker.stop()
    lab.cleanup()


def test_the_web_user_cannot_touch_fail2ban_itself(split: Broker) -> None:
    lab = split.lab
    probe = (
        "import socket, sqlite3, sys\n"
        "def tried(f):\n"
        "    try: f(); return 'allowed'\n"
        "    except PermissionError: return 'EACCES'\n"
        "    except Exception as e: return type(e).__name__\n"
        "s = socket.socket(socket.AF_UNIX)\n"
        f"print(tried(lambda: s.connect({lab.socket_path!r})))\n"
        f"print(tried(lambda: open({lab.db_path!r}, 'rb')))\n"
        f"print(tried(lambda: open({str(lab.conf_dir / 'jail.d' / 'x.local')!r}, 'w')))\n"
        f"print(tried(lambda: open({str(lab.conf_dir / 'jail.conf')!r}, 'a')))\n"
        f"print(tried(lambda: open({lab.server_log!r}, 'rb')))\n"
        f"print(tried(lambda: open({str(lab.conf_dir / 'jail.conf')!r}, 'rb').read()))\n"
    )
    out = as_user(USER, "-c", probe)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["EACCES", "EACCES", "EACCES", "EACCES", "EACCES", "allowed"]


def test_the_web_user_works_through_the_broker(split: Broker) -> None:
    lab = split.lab
    script = (
        "import sys; sys.modules['django'] = None\n"
        "from bangui.broker.client import BrokerClient\n"
        "from bangui.fail2ban import host\n"
        f"c = BrokerClient({split.socket!r})\n"
        "assert c.ban('alpha', ['203.0.113.50']) == 1\n"
        "assert '203.0.113.50' in c.banned_ips('alpha')\n"
        "r, _ = host.config_apply(c, config_dir='', changes={'jail.d/alpha.local': "
        "b'[alpha]\\nmaxretry = 6\\n'}, reload_jail='alpha', expect_running=None, "
        "backup_dir=None, lock_path=None)\n"
        "assert r.ok, r\n"
        "assert c.get('alpha', 'maxretry') == 6\n"
        "t, tail = host.fail2ban_log(c, config_dir='', count=50, q='')\n"
        "assert tail is not None and tail.lines, tail\n"
        "assert c.unban('alpha', ['203.0.113.50']) == 1\n"
        "print('ok')\n"
    )
    out = as_user(USER, "-c", script)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr
    assert lab.client().get("alpha", "maxretry") == 6
    assert (lab.conf_dir / "jail.d" / "alpha.local").stat().st_uid == 0  # written by root


def test_three_hundred_hostile_requests_run_nothing_and_change_nothing(split: Broker) -> None:
    lab = split.lab
    canary = Path(tempfile.mkdtemp(prefix="bgc-")) / "pwned"
    os.chmod(canary.parent, 0o777)
    # A link the attacker would like written through (planted as root).
    (lab.conf_dir / "jail.d" / "linked.local").symlink_to("/etc/cron.d/bangui-test")
    client = lab.client()
    client.ban("alpha", ["203.0.113.7", "203.0.113.8"])
    before = (_fingerprint(lab), client.jails(), client.banned())
    log_before = Path(lab.server_log).read_text()
    out = as_user(USER, "-m", "bangui.tests.broker_attack", split.socket, str(canary), "alpha")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    print(f"\nhostile broker requests: {report['sent']} sent, {report['refused']} refused, "
          f"by kind {report['kinds']}")  # fmt: skip
    assert report["sent"] >= 300 and report["alive"]
    # Only harmless requests may succeed: a reload of the whole config (jail=None), and
    # reading where fail2ban's database is.
    # Reads of fail2ban's DB with a harmless value (a jail that does not exist) may answer.
    accepted = {label for label in report["accepted"] if not label.startswith("db read ")}
    assert accepted <= {"reload jail=None", "get_server dbfile"}, sorted(accepted)
    # Anything an injected action or ignorecommand would have run, it would run on a ban.
    for jail in client.jails():
        client.ban(jail, ["198.51.100.77"])
    time.sleep(1.0)
    assert not canary.exists()
    assert not Path("/etc/cron.d/bangui-test").exists()
    for jail in client.jails():
        client.unban(jail, ["198.51.100.77"])
    assert (_fingerprint(lab), client.jails(), client.banned()) == before
    new_log = Path(lab.server_log).read_text()[len(log_before) :]
    assert "pwned" not in new_log and "actionban" not in new_log
    assert split.proc.poll() is None


def test_a_user_the_broker_does_not_accept_is_refused_and_logged(split: Broker) -> None:
    script = (
        "import sys; sys.modules['django'] = None\n"
        "from bangui.broker.client import BrokerClient, BrokerUnavailable\n"
        f"try: BrokerClient({split.socket!r}).jails()\n"
        "except BrokerUnavailable as e: print('refused:', e)\n"
    )
    os.chmod(split.socket, 0o666)  # let the connect itself through: the broker must refuse
    try:
        out = as_user("nobody", "-c", script)
    finally:
        os.chmod(split.socket, 0o660)
    assert "refused:" in out.stdout and "may not use the BanGUI broker" in out.stdout, out
    nobody = pwd.getpwnam("nobody").pw_uid
    assert "refused a connection from pid=" in split.log.read_text()
    assert f"uid={nobody}" in split.log.read_text()
