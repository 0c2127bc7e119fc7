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

from bangui.fail2ban import cli, configapply, configfiles, host, policy
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
    if refused:
        return {"ok": False, "output": refused, "jails": None}
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
