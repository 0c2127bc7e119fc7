"""The startup guard with real gunicorn and qcluster processes on a file database."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = str(Path(sys.executable).parent / "gunicorn")


@pytest.fixture(scope="module")
def data_dir() -> str:
    path = tempfile.mkdtemp(prefix="bangui-guard-")
    for command in ("migrate", "collectstatic"):  # gunicorn refuses to start without both
        subprocess.run(
            [sys.executable, "manage.py", command, "--noinput", "-v0"],
            cwd=ROOT,
            env=_env(path),
            check=True,
            timeout=120,
        )
    return path


def _env(data_dir: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BANGUI_", "DJANGO_"))}
    env.update(
        {
            "BANGUI_DATA_DIR": data_dir,
            "BANGUI_STATIC_ROOT": os.path.join(data_dir, "static"),
            "DJANGO_SETTINGS_MODULE": "bangui.settings",
        }
    )
    env.update(extra)
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _gunicorn(data_dir: str, port: int, *args: str, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [GUNICORN, "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}", *args, "bangui.wsgi"],
        cwd=ROOT,
        env=_env(data_dir, **env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def _wait_live(port: int, proc: subprocess.Popen[str], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"gunicorn exited: {proc.stdout.read() if proc.stdout else ''}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/live", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("gunicorn did not come up")


def _stop(proc: subprocess.Popen[str], sig: int = signal.SIGTERM) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, sig)
    proc.wait(30)


def _exits_with(proc: subprocess.Popen[str], timeout: float = 60) -> str:
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _stop(proc, signal.SIGKILL)
        raise AssertionError("expected the process to refuse to start") from None
    assert proc.returncode != 0
    return out


@pytest.mark.parametrize("value", ["not-an-ip,10.0.0.0/33", "10.0.0.0/33", "1.2.3.4;x"])
def test_a_bad_trusted_proxies_value_is_named_by_bangui(data_dir, value):
    out = _exits_with(_gunicorn(data_dir, _free_port(), BANGUI_TRUSTED_PROXIES=value))
    assert "BanGUI cannot start: BANGUI_TRUSTED_PROXIES=" in out
    assert "is not an IP address or network" in out
    assert "forwarded_allow_ips" not in out


def test_gunicorn_refuses_to_start_without_the_collected_static_files(tmp_path):
    empty = tmp_path / "data"
    empty.mkdir(mode=0o700)
    env = _env(str(empty))
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=ROOT, env=env, check=True, timeout=120,
    )  # fmt: skip
    out = _exits_with(_gunicorn(str(empty), _free_port()))
    assert "The static files have not been collected" in out
    assert "manage.py collectstatic --noinput" in out


def test_gunicorn_with_two_workers_refuses_to_start(data_dir):
    out = _exits_with(_gunicorn(data_dir, _free_port(), "-w", "2"))
    assert "BanGUI refuses to start" in out
    assert "gunicorn is configured with 2 workers; BanGUI needs exactly 1." in out
    assert "--workers 1" in out


def test_gunicorn_without_the_config_file_refuses_to_start(data_dir):
    proc = subprocess.Popen(
        [GUNICORN, "-c", "/dev/null", "--bind", f"127.0.0.1:{_free_port()}", "bangui.wsgi"],
        cwd=ROOT,
        env=_env(data_dir),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    assert "without BanGUI's gunicorn.conf.py" in _exits_with(proc)


def test_a_second_web_instance_refuses_and_a_killed_one_restarts(data_dir):
    port = _free_port()
    first = _gunicorn(data_dir, port)
    try:
        _wait_live(port, first)
        second = _gunicorn(data_dir, _free_port())
        out = _exits_with(second)
        assert "Another BanGUI web instance is running on this database" in out
        # A crash: no chance to release the lock.
        _stop(first, signal.SIGKILL)
        again = _gunicorn(data_dir, port)
        try:
            _wait_live(port, again)
        finally:
            _stop(again)
    finally:
        _stop(first, signal.SIGKILL)


def test_a_second_scheduler_refuses(data_dir):
    def qcluster() -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "manage.py", "qcluster"],
            cwd=ROOT,
            env=_env(data_dir),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )

    first = qcluster()
    try:
        deadline = time.monotonic() + 30
        import sqlite3

        db = sqlite3.connect(os.path.join(data_dir, "bangui.sqlite3"), timeout=10)
        while time.monotonic() < deadline:
            assert first.poll() is None, first.stdout.read() if first.stdout else ""
            row = db.execute(
                "SELECT pid FROM bangui_instancelock WHERE name='scheduler'"
            ).fetchone()
            if row:
                break
            time.sleep(0.1)
        db.close()
        out = _exits_with(qcluster())
        assert "Another BanGUI job scheduler (manage.py qcluster) is running" in out
    finally:
        # SIGTERM to the main process only: django-q2's stop deadlocks if its
        # sentinel is killed by the same signal (it waits on a shared Event).
        first.send_signal(signal.SIGTERM)
        try:
            first.wait(30)
        finally:
            _stop(first, signal.SIGKILL)
