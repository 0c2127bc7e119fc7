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


class _BanSampler(threading.Thread):
    """Reads fail2ban's jails and ban count every 0.25 s while an apply runs."""

    def __init__(self, lab: Fail2banLab) -> None:
        super().__init__(daemon=True)
        self.client = lab.client()
        self.stop = threading.Event()
        self.samples: list[tuple[tuple[str, ...], int]] = []

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                jails = tuple(self.client.jails())
                banned = sum(self.client.jail_status(j).currently_banned for j in jails)
            except Exception:  # noqa: BLE001 - a server that does not answer is a sample too
                jails, banned = (), -1
            self.samples.append((jails, banned))
            self.stop.wait(0.25)


REFUSED_AT_RELOAD = [
    # Each passes fail2ban-client -t and fails when the server evaluates it.
    ("jail.d/sshd.local", "[sshd]\nbantime = abc\n", "sshd", "name 'abc' is not defined"),
    ("jail.d/sshd.local", "[sshd]\nmaxretry = abc\n", "sshd", "int() argument"),
    ("jail.d/sshd.local", "[sshd]\nfindtime = 1.2.3\n", "sshd", "SyntaxError"),
    ("filter.d/bangui-lab.local", "[Definition]\nfailregex = ^(unclosed <HOST>\n", None,
     "Unable to compile regular expression"),
    ("filter.d/bangui-lab.local", "[Definition]\nfailregex = <script>alert(1)</script>\n",
     None, "No failure-id group"),
    ("jail.d/bangui.local", "[alpha]\nfailregex = (unclosed <HOST>\n", "alpha",
     "Unable to compile regular expression"),
]  # fmt: skip


@pytest.mark.parametrize(("rel", "text", "jail", "message"), REFUSED_AT_RELOAD)
def test_a_refused_edit_never_lifts_a_ban_or_stops_a_jail(f2b_private, rel, text, jail, message):
    client = f2b_private.client()
    for n, name in enumerate(JAILS):
        client.ban(name, [f"203.0.113.{10 * n + k}" for k in range(10)])
    before = _files(f2b_private.conf_dir)
    sampler = _BanSampler(f2b_private)
    sampler.start()
    try:
        time.sleep(0.3)
        result = apply_changes(
            root=f2b_private.conf_dir,
            socket_path=f2b_private.socket_path,
            changes={f2b_private.conf_dir / rel: text.encode()},
            reload_jail=jail,
        )
        time.sleep(0.3)
    finally:
        sampler.stop.set()
        sampler.join()
    assert not result.ok and result.step == "test", result
    assert message in result.output
    assert _files(f2b_private.conf_dir) == before
    assert len(sampler.samples) >= 3
    assert {jails for jails, _ in sampler.samples} == {tuple(JAILS)}
    assert min(banned for _, banned in sampler.samples) == 30


def test_a_write_that_could_run_a_command_is_refused_before_anything(f2b_private):
    before = _files(f2b_private.conf_dir)
    for text in ("[sshd]\nfindtime = 1h; id\n", '[sshd]\naction = dummy[actionban="touch /x"]\n'):
        result = _apply(f2b_private, text, reload_jail="sshd")
        assert not result.ok and result.step == "policy", result
        assert "command" in result.message
    assert _files(f2b_private.conf_dir) == before
    assert f2b_private.client().jails() == JAILS


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
