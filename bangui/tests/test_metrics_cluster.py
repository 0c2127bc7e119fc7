"""Job counters as the real job cluster records them (``manage.py qcluster``, forked workers)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import tempfile

import pytest

from bangui.tests.test_jobcluster import (
    ROOT,
    _enqueue,
    _env,
    _result,
    _wait_for,
    start_qcluster,
)


@pytest.fixture(scope="module")
def data_dir() -> str:
    path = tempfile.mkdtemp(prefix="bangui-jobstats-")
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=ROOT, env=_env(path), check=True, timeout=120,
    )  # fmt: skip
    return path


def test_the_cluster_counts_runs_failures_and_successes_per_job(data_dir, tmp_path):
    log = tmp_path / "qcluster.log"
    proc = start_qcluster(_env(data_dir), log)
    try:
        _wait_for(log, r"Q Cluster \S+ \[\S+\] running")
        ids = _enqueue(
            data_dir,
            ("one", "math.floor", 1.5, 60),
            ("two", "math.floor", 2.5, 60),
            ("bad", "math.sqrt", -1, 60),  # ValueError in the worker
            ("slow", "time.sleep", 30, 1),  # past its limit
        )
        for name in ids:
            _result(data_dir, ids[name])
        proc.send_signal(signal.SIGTERM)  # the monitor has recorded what it stored
        assert proc.wait(60) == 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
    db = sqlite3.connect(os.path.join(data_dir, "bangui.sqlite3"))
    try:
        rows = {
            name: (runs, failures, ok_at is not None)
            for name, runs, failures, ok_at in db.execute(
                "SELECT name, runs, failures, last_success_at FROM bangui_jobstat"
            )
        }
    finally:
        db.close()
    assert rows["math.floor"] == (2, 0, True)
    assert rows["math.sqrt"] == (1, 1, False)
    assert rows["time.sleep"] == (1, 1, False)
