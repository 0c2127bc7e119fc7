"""The broker's operations on fail2ban's config: test, apply, roll back, reload, restart.

The config dir, the backups, the apply lock and the start command are the
broker's own (``Context``); a caller names files relative to the config dir and
sends their bytes (base64). Every write passes ``policy.check_write`` inside
``configapply.apply_changes``, whatever the caller checked.
"""

from __future__ import annotations

import binascii
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bangui.fail2ban import cli, configapply, configfiles, host, logtail, policy, regextest
from bangui.fail2ban.restart import restart as local_restart
from bangui.fail2ban.validation import clean_jail

from .ops import Args, BadArgs, Context, op

MAX_FILES = 8  # one apply touches a handful of files (a jail's .local, a filter's)


def _files(a: Args, key: str) -> dict[str, bytes | None]:
    raw = a.raw.get(key)
    if not isinstance(raw, dict) or not 0 < len(raw) <= MAX_FILES:
        raise BadArgs(f"{key} must be an object of 1 to {MAX_FILES} files")
    out: dict[str, bytes | None] = {}
    for rel, data in raw.items():
        if not isinstance(rel, str) or len(rel) > 200:
            raise BadArgs("a file name must be a short string")
        if data is not None and (not isinstance(data, str) or len(data) > 2 * policy.MAX_BYTES):
            raise BadArgs(f"{rel[:80]}: content must be base64 text or null")
        try:
            out[rel] = host.decode(data)
        except (ValueError, binascii.Error):
            raise BadArgs(f"{rel[:80]}: content is not base64") from None
    return out


def _root(ctx: Context) -> Path:
    return Path(ctx.config_dir)


@op("config_test")
def _config_test(ctx: Context, raw: Any) -> dict[str, Any]:
    a = Args(raw, {"changes"})
    changes = _files(a, "changes")
    root = _root(ctx)
    paths = {
        root / configapply.relative_path(root, Path(rel)): data for rel, data in changes.items()
    }
    refused = configapply.policy_refusal(root, paths, ctx.fail2ban_socket)
    if refused is not None:
        return {"ok": False, "output": str(refused), "jails": None}
    return asdict(configapply.config_test(root, paths))


@op("config_apply")
def _config_apply(ctx: Context, raw: Any) -> dict[str, Any]:
    a = Args(raw, {"changes", "reload_jail", "expect_running"})
    changes = _files(a, "changes")
    jail = a.raw.get("reload_jail")
    if jail is not None:
        jail = clean_jail(a.text("reload_jail"))
    expect = a.raw.get("expect_running")
    if expect is not None:
        expect = [clean_jail(j) for j in a.texts("expect_running", limit=1000)]
    ctx.state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    # The broker's own direct client: ``host`` does the work here, not through a broker.
    result, previous = host.config_apply(
        ctx.client, config_dir=ctx.config_dir, changes=changes, reload_jail=jail,
        expect_running=expect, backup_dir=ctx.state_dir / "config-backups",
        lock_path=ctx.state_dir / "config-apply.lock",
    )  # fmt: skip
    return {"result": asdict(result), "previous": {k: host.encode(v) for k, v in previous.items()}}


@op("config_rollback")
def _config_rollback(ctx: Context, raw: Any) -> str:
    """Put files back (a rollback is a write: the policy applies against what is there now)."""
    a = Args(raw, {"files"})
    files = _files(a, "files")
    root = _root(ctx)
    for rel, data in files.items():
        path = root / configapply.relative_path(root, Path(rel))
        current = path.read_bytes() if path.is_file() else None
        policy.check_write(rel, data, config_dir=root, previous=current)
    configfiles.restore({root / rel: data for rel, data in files.items()})
    return cli.reload(config_dir=ctx.config_dir, socket_path=ctx.fail2ban_socket).output


@op("reload")
def _reload(ctx: Context, raw: Any) -> str:
    a = Args(raw, {"jail", "if_exists"})
    jail = a.raw.get("jail")
    if jail is not None:
        jail = clean_jail(a.text("jail"))
    if_exists = a.raw.get("if_exists", False)
    if not isinstance(if_exists, bool):
        raise BadArgs("if_exists must be true or false")
    return cli.reload(
        config_dir=ctx.config_dir, socket_path=ctx.fail2ban_socket, jail=jail, if_exists=if_exists
    ).output


@op("create_missing")
def _create_missing(ctx: Context, raw: Any) -> list[str]:
    a = Args(raw, {"files"})
    files = a.raw.get("files")
    if not isinstance(files, dict) or not 0 < len(files) <= MAX_FILES:
        raise BadArgs(f"files must be an object of 1 to {MAX_FILES} files")
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in files.items()):
        raise BadArgs("files maps names to text")
    return host.create_missing_local(_root(ctx), files)


@op("restart")
def _restart(ctx: Context, raw: Any) -> str:
    Args(raw, set())
    if not ctx.start_command:
        raise policy.PolicyRefused(
            "The broker has no start command (--start-command), so it cannot start fail2ban "
            "again after stopping it. Use Reload instead."
        )
    local_restart(ctx.client, command=ctx.start_command)
    return "restarted"


# -- logs (root may read them; the web user may not) ------------------------------------------

MAX_LOG_LINES = 5000


def _count(a: Args, key: str) -> int:
    value = a.raw.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_LOG_LINES:
        raise BadArgs(f"{key} must be a whole number from 1 to {MAX_LOG_LINES}")
    return value


@op("fail2ban_log")
def _fail2ban_log(ctx: Context, raw: Any) -> dict[str, object]:
    """The tail of the file fail2ban logs to: its own answer or its config, never the caller's."""
    a = Args(raw, {"count", "q"})
    target, tail = logtail.fail2ban_log(
        ctx.client, ctx.config_dir, count=_count(a, "count"), q=a.text("q", default="", limit=200)
    )
    return logtail.log_to_json(target, tail)


@op("log_lines")
def _log_lines(ctx: Context, raw: Any) -> str:
    """The last lines of a log file under the broker's own list of log directories."""
    a = Args(raw, {"path", "count"})
    allow = regextest.log_allowlist(ctx.client, ctx.config_dir)
    try:
        path = regextest.allowed_log_path(a.text("path", limit=4096), allow)
    except ValueError as exc:
        raise BadArgs(str(exc)) from None
    return regextest.tail_lines(path, _count(a, "count"))
