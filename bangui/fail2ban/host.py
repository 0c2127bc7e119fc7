"""What BanGUI does to the fail2ban host besides socket commands, done directly or by the broker.

Every function takes the client the caller already holds. A ``BrokerClient``
means BanGUI runs unprivileged: the work is asked of the root broker, which
uses its own config dir, state dir and start command and ignores the caller's.
Any other client means BanGUI runs as fail2ban's user: the work is done here,
with the same library functions the broker uses. Either way the caller sees
the same results and errors.

Config files are read directly in both cases (``/etc/fail2ban`` is readable by
everyone on Debian); writing them, reloading, restarting, and reading what only
root may read (logs) go through here.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from bangui.broker.client import BrokerClient

from . import cli, configapply, configfiles, logtail, policy, regextest
from .client import Fail2banClient
from .configreader import configured_jails_forget
from .dbreader import BrokerDb, DbReader, LocalDb
from .restart import restart as local_restart


def via_broker(client: Fail2banClient) -> bool:
    return isinstance(client, BrokerClient)


def encode(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(data).decode("ascii")


def decode(text: object) -> bytes | None:
    if text is None:
        return None
    if not isinstance(text, str):
        raise ValueError("file content must be base64 text or null")
    return base64.b64decode(text.encode("ascii"), validate=True)


def apply_result(raw: dict[str, Any]) -> configapply.ApplyResult:
    fields = configapply.ApplyResult.__dataclass_fields__
    return configapply.ApplyResult(**{k: v for k, v in raw.items() if k in fields})


def reload(
    client: Fail2banClient, *, config_dir: str, jail: str | None = None, if_exists: bool = False
) -> str:
    """``fail2ban-client reload [--if-exists] [JAIL]``; its output."""
    if isinstance(client, BrokerClient):
        return str(client.call("reload", jail=jail, if_exists=if_exists))
    return cli.reload(
        config_dir=config_dir, socket_path=client.socket_path, jail=jail, if_exists=if_exists
    ).output


def create_missing(client: Fail2banClient, *, config_dir: str, files: dict[str, str]) -> list[str]:
    """Create config files (``jail.d/NAME.conf`` → text) that do not exist yet; never overwrite.

    BanGUI's own jails (manual, blocklist imports) are made this way. Returns the
    names written. Raises ``policy.PolicyRefused`` or ``OSError``.
    """
    try:
        if isinstance(client, BrokerClient):
            return [str(n) for n in client.call("create_missing", files=files)]
        return create_missing_local(Path(config_dir), files)
    finally:  # the broker wrote them in its own process: forget ours
        configured_jails_forget()


def create_missing_local(root: Path, files: dict[str, str]) -> list[str]:
    written = []
    for rel, text in files.items():
        policy.check_write(rel, text.encode(), config_dir=root)
        subdir, _, name = rel.rpartition("/")
        path = configfiles.resolve(root, subdir, name, for_write=True)
        path.parent.mkdir(exist_ok=True)
        try:
            # "x": never overwrite, even a file another process just wrote.
            with path.open("x") as fh:
                fh.write(text)
        except FileExistsError:
            continue
        written.append(rel)
    return written


def restart(client: Fail2banClient, *, command: str) -> None:
    """Stop fail2ban and start it again with the start command (the broker uses its own)."""
    if isinstance(client, BrokerClient):
        client.call("restart")
        return
    local_restart(client, command=command)


def config_test(
    client: Fail2banClient, *, config_dir: str, changes: dict[str, bytes | None]
) -> configapply.TestOutcome:
    """fail2ban's own check of the config with ``changes`` (relative path → bytes) on a copy."""
    if isinstance(client, BrokerClient):
        raw = client.call("config_test", changes={k: encode(v) for k, v in changes.items()})
        return configapply.TestOutcome(bool(raw["ok"]), str(raw["output"]), raw.get("jails"))
    root = Path(config_dir)
    refused = configapply.policy_refusal(
        root, {root / rel: data for rel, data in changes.items()}, client.socket_path
    )
    if refused is not None:
        return configapply.TestOutcome(False, str(refused))
    return configapply.config_test(root, {root / rel: data for rel, data in changes.items()})


def config_apply(
    client: Fail2banClient,
    *,
    config_dir: str,
    changes: dict[str, bytes | None],
    reload_jail: str | None,
    expect_running: list[str] | None,
    backup_dir: Path,
    lock_path: Path,
) -> tuple[configapply.ApplyResult, dict[str, bytes | None]]:
    """Test, write, reload, probe, roll back on failure; the result and the files before."""
    if isinstance(client, BrokerClient):
        try:
            raw = client.call(
                "config_apply",
                changes={k: encode(v) for k, v in changes.items()},
                reload_jail=reload_jail,
                expect_running=expect_running,
            )
        finally:  # written by the broker's process: forget what this one read
            configured_jails_forget()
        previous = {str(k): decode(v) for k, v in raw["previous"].items()}
        return apply_result(raw["result"]), previous
    root = Path(config_dir)
    previous = {rel: _read_or_none(root / rel) for rel in changes}
    try:
        result = configapply.apply_changes(
            root=root,
            socket_path=client.socket_path,
            changes={root / rel: data for rel, data in changes.items()},
            reload_jail=reload_jail,
            expect_running=expect_running,
            backup_dir=backup_dir,
            lock_path=lock_path,
        )
    except (configfiles.ConfigFileError, ValueError) as exc:
        result = configapply.ApplyResult(False, "write", str(exc))
    return result, previous


def config_rollback(
    client: Fail2banClient, *, config_dir: str, previous: dict[str, bytes | None]
) -> str:
    """Put ``previous`` back byte for byte and reload; fail2ban's output.

    Through the broker only files it may write are restored, and only to bytes that
    pass the write policy against what is there now (a rollback is a write too).
    """
    if isinstance(client, BrokerClient):
        files = {k: encode(v) for k, v in previous.items()}
        try:
            return str(client.call("config_rollback", files=files))
        finally:
            configured_jails_forget()
    root = Path(config_dir)
    configfiles.restore({root / rel: data for rel, data in previous.items()})
    return cli.reload(config_dir=config_dir, socket_path=client.socket_path).output


def _read_or_none(path: Path) -> bytes | None:
    try:
        return path.read_bytes() if path.is_file() else None
    except OSError:
        return None


def fail2ban_log(
    client: Fail2banClient, *, config_dir: str, count: int, q: str
) -> tuple[logtail.LogTarget, logtail.LogTail | None]:
    """Where fail2ban logs and the last ``count`` lines (containing ``q``) of that file.

    The file is the one fail2ban names (``get logtarget``) or its config does,
    never one from the caller; through the broker it is read as root.
    """
    if isinstance(client, BrokerClient):
        return logtail.log_from_json(client.call("fail2ban_log", count=count, q=q))
    return logtail.fail2ban_log(client, config_dir, count=count, q=q)


def log_lines(client: Fail2banClient, *, path: str, allow: list[str], count: int) -> str:
    """The last ``count`` lines of a log file for the regex tester.

    ``allow`` is the caller's list of log directories; the broker uses its own
    (/var/log, the jails' log directories, fail2ban's log directory).
    Raises ValueError (not an allowed file) or OSError.
    """
    if isinstance(client, BrokerClient):
        return str(client.call("log_lines", path=path, count=count))
    return regextest.tail_lines(regextest.allowed_log_path(path, allow), count)


def fail2ban_db(client: Fail2banClient | None, db_path: str | None) -> DbReader | None:
    """A reader of fail2ban's DB: through the broker, or the file ``db_path`` (None: no DB).

    Through the broker ``db_path`` only says whether fail2ban keeps a DB file;
    the broker reads the one fail2ban names.
    """
    if client is not None and isinstance(client, BrokerClient):
        return BrokerDb(client) if db_path != ":memory:" else None
    if not db_path or db_path == ":memory:":
        return None
    return LocalDb(db_path)
