"""validate → write → reload → probe → rollback, against a private fail2ban-server."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bangui.demo.lab import Fail2banLab
from bangui.fail2ban import configapply
from bangui.fail2ban.configapply import apply_changes, config_test

JAILS = ["alpha", "beta", "sshd"]


@pytest.fixture(scope="module")
def lab() -> Iterator[Fail2banLab]:
    # A private server: these tests change its config and must not disturb the shared one.
    lab = Fail2banLab()
    lab.start()
    yield lab
    lab.cleanup()


@pytest.fixture
def f2b_private(lab: Fail2banLab) -> Iterator[Fail2banLab]:
    for p in (lab.conf_dir / "jail.d").iterdir():
        p.unlink()
    if not lab.running:
        lab.start()
    lab.reload()
    lab.wait_ready()
    yield lab


def _files(conf: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(conf)): p.read_bytes() for p in sorted(conf.rglob("*")) if p.is_file()
    }


def _apply(lab: Fail2banLab, text: str | None, **kw: object) -> configapply.ApplyResult:
    target = lab.conf_dir / "jail.d" / "bangui.local"
    changes = {target: None if text is None else text.encode()}
    return apply_changes(root=lab.conf_dir, socket_path=lab.socket_path, changes=changes, **kw)  # type: ignore[arg-type]


def test_config_test_accepts_a_good_change(f2b_private):
    out = config_test(f2b_private.conf_dir, {Path("jail.d/x.local"): b"[alpha]\nmaxretry = 9\n"})
    assert out.ok, out.output
    assert "configuration test is successful" in out.output
    assert out.jails == JAILS
    assert not (f2b_private.conf_dir / "jail.d" / "x.local").exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"[alpha\nmaxretry = 9\n", "File contains no section headers"),
        (b"[alpha]\nfilter = nosuch\n", "Unable to read the filter 'nosuch'"),
        (b"[alpha]\nlogpath = /nonexistent/x.log\n", "Have not found any log file for alpha jail"),
    ],
)
def test_config_test_reports_fail2bans_errors(f2b_private, content, message):
    out = config_test(f2b_private.conf_dir, {Path("jail.d/x.local"): content})
    assert not out.ok
    assert message in out.output
    assert "bangui-f2btest" not in out.output  # names the real dir, not the temp copy
    assert "fail2ban.jailreader" not in out.output  # log prefixes removed


def test_apply_changes_a_jail_setting(f2b_private, tmp_path):
    result = _apply(
        f2b_private, "[alpha]\nmaxretry = 7\n", reload_jail="alpha", backup_dir=tmp_path
    )
    assert result.ok, result
    assert result.step == "done"
    assert f2b_private.cli("get", "alpha", "maxretry").strip() == "7"
    assert result.jails_before == JAILS and result.jails_after == JAILS
    result = _apply(f2b_private, "[alpha]\nmaxretry = 4\n", reload_jail=None, backup_dir=tmp_path)
    assert result.ok, result
    assert f2b_private.cli("get", "alpha", "maxretry").strip() == "4"
    backups = list(tmp_path.rglob("bangui.local"))
    assert [b.read_text() for b in backups] == ["[alpha]\nmaxretry = 7\n"]


def test_a_broken_filter_writes_nothing(f2b_private):
    before = _files(f2b_private.conf_dir)
    result = _apply(f2b_private, "[alpha]\nfilter = nosuch\n", reload_jail="alpha")
    assert not result.ok and result.step == "test"
    assert "Unable to read the filter 'nosuch'" in result.output
    assert _files(f2b_private.conf_dir) == before
    assert f2b_private.client().jails() == JAILS


@pytest.mark.parametrize("jail", ["alpha", None])
def test_a_change_that_passes_the_test_but_breaks_the_reload_is_rolled_back(f2b_private, jail):
    # fail2ban-client -t does not compile regexes; the reload does, and a failed
    # reload drops the jail (or, for a full reload, every jail).
    (f2b_private.conf_dir / "jail.d" / "bangui.local").write_text("[alpha]\nmaxretry = 5\n")
    f2b_private.reload()
    before = _files(f2b_private.conf_dir)
    result = _apply(f2b_private, "[alpha]\nfailregex = (unclosed <HOST>\n", reload_jail=jail)
    assert not result.ok and result.step == "reload", result
    assert "Unable to compile regular expression" in result.message
    assert result.restored and result.recovered
    assert _files(f2b_private.conf_dir) == before
    assert f2b_private.client().jails() == JAILS
    assert f2b_private.cli("get", "alpha", "maxretry").strip() == "5"


def test_a_failed_probe_is_rolled_back(f2b_private):
    before = _files(f2b_private.conf_dir)
    result = _apply(
        f2b_private, "[alpha]\nmaxretry = 8\n", reload_jail="alpha", expect_running=["nonexistent"]
    )
    assert not result.ok and result.step == "probe"
    assert "nonexistent" in result.message
    assert result.restored and result.recovered
    assert _files(f2b_private.conf_dir) == before
    assert f2b_private.client().jails() == JAILS
    assert f2b_private.cli("get", "alpha", "maxretry").strip() == "3"


def test_fail2ban_down_changes_nothing(f2b_private):
    before = _files(f2b_private.conf_dir)
    f2b_private.stop()
    try:
        result = _apply(f2b_private, "[alpha]\nmaxretry = 8\n", reload_jail="alpha")
    finally:
        f2b_private.start()
    assert not result.ok
    assert "fail2ban is not running; nothing changed" in result.message
    assert _files(f2b_private.conf_dir) == before


def test_concurrent_applies_are_serialised(f2b_private, tmp_path):
    lock = tmp_path / "apply.lock"
    results: list[configapply.ApplyResult] = []
    started = threading.Event()

    def hold_lock() -> None:
        with configapply._exclusive(lock, 1):
            started.set()
            time.sleep(1.5)

    holder = threading.Thread(target=hold_lock)
    holder.start()
    started.wait(5)
    t0 = time.monotonic()
    results.append(_apply(f2b_private, "[alpha]\nmaxretry = 6\n", reload_jail="alpha",
                          lock_path=lock, lock_timeout=0.3))  # fmt: skip
    assert time.monotonic() - t0 < 1.2
    assert results[0].step == "lock"
    assert "another change is being applied; try again" in results[0].message
    waited = _apply(f2b_private, "[alpha]\nmaxretry = 6\n", reload_jail="alpha", lock_path=lock)
    holder.join()
    assert waited.ok, waited
    assert time.monotonic() - t0 >= 1.4  # it waited for the holder instead of failing

    threads = [
        threading.Thread(
            target=lambda n=n: results.append(
                _apply(
                    f2b_private, f"[alpha]\nmaxretry = {n}\n", reload_jail="alpha", lock_path=lock
                )
            )
        )
        for n in (10, 11)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.ok for r in results[1:]] == [True, True]
    assert f2b_private.cli("get", "alpha", "maxretry").strip() in ("10", "11")
