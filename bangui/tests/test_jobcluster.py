"""The job cluster as it runs in production: ``manage.py qcluster`` in a process of its own.

One process (django-q2's sentinel, pusher and monitor as threads) and its
forked workers: jobs run, a job past its time limit is stopped, a worker that
dies is replaced, and SIGTERM stops everything.
"""

from __future__ import annotations

import base64
import os
import pickle
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]

ENQUEUE = """
from django_q.tasks import async_task
for name, func, arg, timeout in {jobs!r}:
    print(name, async_task(func, arg, task_name=name, timeout=timeout))
"""


@pytest.fixture(scope="module")
def data_dir() -> str:
    path = tempfile.mkdtemp(prefix="bangui-cluster-")
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=ROOT, env=_env(path), check=True, timeout=120,
    )  # fmt: skip
    return path


def _env(data_dir: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BANGUI_", "DJANGO_"))}
    env.update({"BANGUI_DATA_DIR": data_dir, "DJANGO_SETTINGS_MODULE": "bangui.settings"})
    return env


def _enqueue(data_dir: str, *jobs: tuple[str, str, float, int]) -> dict[str, str]:
    out = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", ENQUEUE.format(jobs=list(jobs))],
        cwd=ROOT, env=_env(data_dir), check=True, timeout=60, capture_output=True, text=True,
    ).stdout  # fmt: skip
    return dict(line.split() for line in out.splitlines() if line.count(" ") == 1)


def db_row(
    data_dir: str, sql: str, args: tuple[object, ...], timeout: float = 30
) -> tuple[Any, ...]:
    """The first row ``sql`` finds in the data dir's database, waiting for it to be written."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        db = sqlite3.connect(os.path.join(data_dir, "bangui.sqlite3"), timeout=10)
        try:
            row = db.execute(sql, args).fetchone()
        finally:
            db.close()
        if row:
            return tuple(row)
        time.sleep(0.2)
    raise AssertionError(f"no row for {sql!r} {args} after {timeout} s")


def _result(data_dir: str, task_id: str, timeout: float = 30) -> tuple[bool, object]:
    """(success, result) of a finished task (django-q2 stores the result pickled)."""
    sql = "SELECT success, result FROM django_q_task WHERE id = ?"
    success, result = db_row(data_dir, sql, (task_id,), timeout)
    return bool(success), pickle.loads(base64.b64decode(result))  # noqa: S301 - our own DB


def start_qcluster(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """``manage.py qcluster`` in its own session, its output to ``log``."""
    with log.open("w") as out:
        return subprocess.Popen(
            [sys.executable, "manage.py", "qcluster"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip


def _children(pid: int) -> set[int]:
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[1]) == pid and fields[0] != "Z":
                found.add(int(entry))
    return found


def _wait_for(log: Path, pattern: str, timeout: float = 30) -> re.Match[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        match = re.search(pattern, log.read_text())
        if match:
            return match
        time.sleep(0.1)
    raise AssertionError(f"no {pattern!r} in the log after {timeout} s:\n{log.read_text()}")


def _worker_pid(log: Path, task_name: str) -> int:
    """The pid of the worker that runs ``task_name`` (django-q2 logs both by process name)."""
    name = _wait_for(log, rf"(Process-\w+) processing {task_name} ").group(1)
    return int(_wait_for(log, rf"{name} ready for work at (\d+)").group(1))


def test_the_cluster_runs_jobs_replaces_workers_and_stops(data_dir, tmp_path):
    log = tmp_path / "qcluster.log"
    proc = start_qcluster(_env(data_dir), log)
    try:
        _wait_for(log, r"Q Cluster \S+ \[\S+\] running")
        workers = settings.Q_CLUSTER["workers"]
        # One process for the cluster, one per worker: no sentinel, monitor or pusher process.
        first = _children(proc.pid)
        assert len(first) == workers
        assert re.search(rf"MainProcess monitoring at {proc.pid}\b", log.read_text())
        assert re.search(rf"MainProcess pushing tasks at {proc.pid}\b", log.read_text())

        ids = _enqueue(
            data_dir,
            ("floor", "math.floor", 2.5, 60),
            ("too-slow", "time.sleep", 60, 1),
            ("killed", "time.sleep", 60, 120),
        )
        assert _result(data_dir, ids["floor"]) == (True, 2)
        # A job past its limit is stopped by SIGALRM in its worker, which is then replaced.
        ok, text = _result(data_dir, ids["too-slow"])
        assert not ok
        assert "Task exceeded maximum timeout value (1 seconds)" in str(text)
        _wait_for(log, r"reincarnated worker \S+ after timeout")
        # A worker that dies in the middle of a job is replaced too.
        os.kill(_worker_pid(log, "killed"), signal.SIGKILL)
        _wait_for(log, r"reincarnated worker \S+ after death")
        assert len(_children(proc.pid)) == workers
        assert _children(proc.pid) != first
        after = _enqueue(data_dir, ("floor-again", "math.floor", 7.5, 60))
        assert _result(data_dir, after["floor-again"]) == (True, 7)

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0
        assert not _children(proc.pid)
        assert "has stopped" in log.read_text()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
