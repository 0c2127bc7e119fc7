"""Apply config-file changes: test a copy → write → reload → probe → roll back.

Measured on fail2ban 1.0.2 (see the tests): ``fail2ban-client -t`` accepts
configs that then fail on reload (a failregex that does not compile,
``bantime = abc``, ``backend = systemd`` without python3-systemd), and a
failed full reload leaves fail2ban with *no* jails, a failed ``reload JAIL``
without that jail, their bans lifted until a rollback. So the copy is also
tried on a throwaway fail2ban-server (``dryrun``): the jails the reload will
touch get every setting the live server would get, and a refusal stops the
apply before a byte is written. After the reload the running jails are
probed anyway, and on any failure the files are put back byte for byte and
fail2ban is reloaded again. ``reload JAIL`` cannot
bring back a jail it removed ("does not exist"), so jail reloads use
``--if-exists`` and the rollback ends with a full reload if still needed.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from . import cli, configfiles, dryrun, policy, server_settings
from .client import Fail2banClient
from .errors import Fail2banError, Fail2banUnavailable
from .validation import clean_jail

LOCK_TIMEOUT = 30.0
PROBE_ATTEMPTS = 4
PROBE_INTERVAL = 0.25


@dataclass(frozen=True)
class TestOutcome:
    ok: bool
    output: str
    # Jails the tested config would start (from ``-d``); None when the test failed.
    jails: list[str] | None = None


@dataclass
class ApplyResult:
    ok: bool
    step: str  # "policy" | "syntax" | "lock" | "test" | "write" | "reload" | "probe" | "done"
    message: str
    restored: bool = False
    output: str = ""
    jails_before: list[str] = field(default_factory=list)
    jails_after: list[str] = field(default_factory=list)
    # After a rollback: every jail that ran before runs again.
    recovered: bool = False


def relative_path(root: Path, path: Path) -> Path:
    """``path`` relative to root, checked to be an editable config file."""
    real_root = Path(os.path.realpath(root))
    if path.is_absolute():
        try:
            rel = Path(os.path.realpath(path.parent), path.name).relative_to(real_root)
        except ValueError:
            raise configfiles.ConfigFileError(f"{path} is not inside {root}.") from None
    else:
        rel = path
    subdir = str(rel.parent) if str(rel.parent) != "." else ""
    configfiles.resolve(real_root, subdir, rel.name, for_write=True)
    return rel


def _run_client(args: list[str], timeout: float) -> tuple[bool, str]:
    try:
        proc = subprocess.run(
            [cli._binary(), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:  # subprocess.run kills the child first
        return False, f"fail2ban-client did not finish in {timeout:g} s"
    return proc.returncode == 0, cli._clean(proc.stdout + proc.stderr)


def policy_refusal(
    root: Path, changes: dict[Path, bytes | None], socket_path: str
) -> policy.PolicyRefused | None:
    """Why BanGUI will not write ``changes`` (``policy.check_write``), or None."""
    dirs = list(server_settings.LOG_DIRS)
    if any(p.name == "fail2ban.local" for p in changes):
        with contextlib.suppress(Fail2banError):  # the current log's directory is allowed too
            dirs = server_settings.log_dirs(
                str(Fail2banClient(socket_path, timeout=3.0).get_server("logtarget") or "")
            )
    for path, data in changes.items():
        rel = relative_path(root, path)
        try:
            previous = path.read_bytes() if path.is_file() else None
        except OSError:
            previous = None
        try:
            policy.check_write(str(rel), data, config_dir=root, previous=previous, log_dirs=dirs)
        except policy.PolicyRefused as exc:
            return exc
    return None


def config_test(
    root: Path,
    changes: dict[Path, bytes | None],
    timeout: float = 30,
    *,
    reload_jails: list[str] | None = None,
) -> TestOutcome:
    """``fail2ban-client -t`` (and ``-d``) on a copy of ``root`` with the changes applied,
    then the settings of ``reload_jails`` (None: all) on a throwaway server."""
    rels = {relative_path(root, path): data for path, data in changes.items()}
    tmp = Path(tempfile.mkdtemp(prefix="bangui-f2btest-"))
    try:
        copy = tmp / "conf"
        shutil.copytree(root, copy, symlinks=True)
        for rel, data in rels.items():
            target = copy / rel
            target.unlink(missing_ok=True)  # never write through a copied link
            if data is not None:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
        ok, output = _run_client(["-c", str(copy), "-t"], timeout)
        jails: list[str] | None = None
        if ok:
            try:
                stream = cli.config_dump(str(copy), timeout)
            except (Fail2banError, OSError) as exc:
                ok, output = False, str(exc)
            else:
                jails = [str(cmd[1]) for cmd in stream if len(cmd) > 1 and cmd[0] == "add"]
                try:
                    refusal = dryrun.stream_check(stream, jails=reload_jails)
                except Fail2banError as exc:
                    ok, output, jails = False, str(exc), None
                else:
                    if refusal is not None:
                        ok, output, jails = False, str(refusal), None
        # Messages should name the real files, not the temp copy.
        return TestOutcome(ok, output.replace(str(copy), str(root)), jails)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def default_lock_path(root: Path) -> Path:
    digest = hashlib.sha256(os.path.realpath(root).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"bangui-apply-{digest}.lock"


@contextlib.contextmanager
def _exclusive(lock_path: Path, timeout: float) -> Iterator[bool]:
    """flock(LOCK_EX) polled until ``timeout``; yields whether it was acquired."""
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    yield False
                    return
                time.sleep(0.05)
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _missing(client: Fail2banClient, expected: set[str]) -> tuple[set[str], list[str]]:
    """Expected jails not running (after a few tries), and the running list."""
    running: list[str] = []
    missing = set(expected)
    for attempt in range(PROBE_ATTEMPTS):
        if attempt:
            time.sleep(PROBE_INTERVAL)
        try:
            if client.ping():
                running = client.jails()
                missing = expected - set(running)
            else:
                missing = set(expected) | {"(ping)"}
        except Fail2banError:
            running, missing = [], set(expected) | {"(fail2ban is not answering)"}
        if not missing:
            break
    return missing, running


def _not_running(exc: Fail2banError) -> bool:
    # cli.reload reports a stopped server as a command error ("Could not find server").
    return isinstance(exc, Fail2banUnavailable) or "Could not find server" in str(exc)


def apply_changes(
    *,
    root: Path,
    socket_path: str,
    changes: dict[Path, bytes | None],
    reload_jail: str | None,
    expect_running: list[str] | None = None,
    backup_dir: Path | None = None,
    lock_path: Path | None = None,
    timeout: float = 60,
    lock_timeout: float = LOCK_TIMEOUT,
) -> ApplyResult:
    """Write ``changes`` (path → bytes, None deletes) and reload; undo it all on failure."""
    jail = clean_jail(reload_jail) if reload_jail is not None else None
    targets = [root / relative_path(root, p) for p in changes]
    data = dict(zip(targets, changes.values(), strict=True))
    refused = policy_refusal(root, data, socket_path)
    if isinstance(refused, policy.PolicyUnreadable):
        # Not INI: fail2ban's own words on a throwaway copy help more than the parser's.
        tried = config_test(root, data)
        return ApplyResult(False, "syntax", str(refused), output="" if tried.ok else tried.output)
    if refused is not None:
        return ApplyResult(False, "policy", str(refused))
    with _exclusive(lock_path or default_lock_path(root), lock_timeout) as acquired:
        if not acquired:
            return ApplyResult(False, "lock", "another change is being applied; try again")
        outcome = config_test(
            root,
            dict(data),
            timeout=min(timeout, 30),
            reload_jails=None if jail is None else [jail],
        )
        if not outcome.ok:
            return ApplyResult(
                False, "test", "fail2ban rejected the configuration.", False, outcome.output
            )
        client = Fail2banClient(socket_path, timeout=5.0)
        try:
            before = client.jails()
        except Fail2banError:
            return ApplyResult(False, "reload", "fail2ban is not running; nothing changed.")
        if expect_running is not None:
            expected = set(expect_running)
        elif jail is None:
            expected = set(outcome.jails or [])
        else:
            expected = (set(before) - {jail}) | ({jail} & set(outcome.jails or []))
        try:
            snap = configfiles.snapshot(targets)
        except configfiles.ConfigFileError as exc:
            return ApplyResult(False, "write", str(exc), jails_before=before)
        try:
            for path in targets:
                if backup_dir is not None:
                    configfiles.backup(path, backup_dir, root=root)
            for path, content in data.items():
                if content is None:
                    configfiles.remove(path)
                else:
                    configfiles.write_atomic(path, content)
        except configfiles.ConfigFileError as exc:
            restored = _restore_quietly(snap)
            return ApplyResult(False, "write", str(exc), restored, jails_before=before)
        reload = _Reload(str(root), socket_path, jail, timeout)
        try:
            output = reload.run()
        except Fail2banError as exc:
            if _not_running(exc):
                restored = _restore_quietly(snap)
                return ApplyResult(
                    False,
                    "reload",
                    "fail2ban is not running; nothing changed.",
                    restored,
                    str(exc),
                    before,
                )
            return _rollback(client, snap, reload, "reload", str(exc), before)
        missing, running = _missing(client, expected)
        if missing:
            problem = f"after the reload these jails are not running: {', '.join(sorted(missing))}"
            return _rollback(client, snap, reload, "probe", problem, before, output)
        return ApplyResult(
            True, "done", "Applied; fail2ban reloaded.", False, output, before, running
        )


@dataclass(frozen=True)
class _Reload:
    """``reload --if-exists JAIL`` (creates a jail not yet running) or a full reload."""

    config_dir: str
    socket_path: str
    jail: str | None
    timeout: float

    def run(self, *, full: bool = False) -> str:
        jail = None if full else self.jail
        return cli.reload(
            config_dir=self.config_dir,
            socket_path=self.socket_path,
            jail=jail,
            if_exists=jail is not None,
            timeout=self.timeout,
        ).output


def _restore_quietly(snap: configfiles.Snapshot) -> bool:
    try:
        configfiles.restore(snap)
    except configfiles.ConfigFileError:
        return False
    return True


def _rollback(
    client: Fail2banClient,
    snap: configfiles.Snapshot,
    reload: _Reload,
    step: str,
    problem: str,
    before: list[str],
    output: str = "",
) -> ApplyResult:
    """Put the files back, reload the same way, and fully if jails are still missing."""
    restored = _restore_quietly(snap)
    notes = [output] if output else []
    missing: set[str] = set(before)
    running: list[str] = []
    for full in (False, True) if reload.jail is not None else (False,):
        try:
            notes.append(reload.run(full=full))
        except Fail2banError as exc:
            notes.append(str(exc))
        missing, running = _missing(client, set(before))
        if not missing:
            break
    recovered = restored and not missing
    if recovered:
        after = "the previous files were restored and fail2ban runs every jail again"
    else:
        after = "ROLLBACK INCOMPLETE: " + (
            "the previous files could not all be restored"
            if not restored
            else f"still not running: {', '.join(sorted(missing))}"
        )
    return ApplyResult(
        False,
        step,
        f"{problem}; {after}.",
        restored,
        "\n".join(n for n in notes if n),
        before,
        running,
        recovered,
    )
