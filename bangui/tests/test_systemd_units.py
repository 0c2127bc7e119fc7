"""contrib/systemd: the broker as boxed root, web and jobs as bangui; systemd-analyze agrees."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

UNITS = Path(__file__).resolve().parents[2] / "contrib" / "systemd"
NAMES = ["bangui-broker.service", "bangui-web.service", "bangui-jobs.service"]


def _keys(name: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in (UNITS / name).read_text().splitlines():
        if "=" in line and not line.startswith(("#", " ")):
            key, _, value = line.partition("=")
            found.setdefault(key.strip(), []).append(value.strip())
    return found


def test_web_and_jobs_run_unprivileged_and_reach_fail2ban_through_the_broker() -> None:
    for name in ("bangui-web.service", "bangui-jobs.service"):
        keys = _keys(name)
        assert keys["User"] == ["bangui"] and keys["Group"] == ["bangui"]
        assert "BANGUI_BROKER_SOCKET=/run/bangui/broker.sock" in keys["Environment"]
        assert keys["ProtectSystem"] == ["strict"] and keys["ProtectHome"] == ["true"]
        assert keys["PrivateTmp"] == ["true"] and keys["NoNewPrivileges"] == ["true"]
        assert keys["CapabilityBoundingSet"] == [""]


def test_the_broker_is_root_in_a_box() -> None:
    keys = _keys("bangui-broker.service")
    assert "User" not in keys
    assert keys["ProtectSystem"] == ["strict"] and keys["NoNewPrivileges"] == ["true"]
    writable = " ".join(keys["ReadWritePaths"]).split()
    assert "/etc/fail2ban/jail.d" in writable and "/etc/fail2ban/filter.d" in writable
    assert not any(p.rstrip("/") in ("/etc/fail2ban", "/etc", "/") for p in writable)
    assert "/etc/fail2ban/action.d" not in writable
    assert keys["RestrictAddressFamilies"] == ["AF_UNIX"]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd here")
def test_systemd_analyze_verifies_the_units(tmp_path: Path) -> None:
    # verify wants the programs to exist: point the units at stand-ins.
    venv = tmp_path / ".venv" / "bin"
    venv.mkdir(parents=True)
    for program in ("python", "gunicorn"):
        (venv / program).write_text("#!/bin/sh\n")
        (venv / program).chmod(0o755)
    for name in NAMES:
        text = (UNITS / name).read_text().replace("/opt/bangui", str(tmp_path))
        (tmp_path / name).write_text(text)
    out = subprocess.run(
        ["systemd-analyze", "verify", *NAMES], cwd=tmp_path, capture_output=True, text=True
    )
    assert out.returncode == 0 and not out.stderr.strip(), out.stderr
