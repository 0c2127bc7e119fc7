"""Hostile requests to the broker, sent as the unprivileged web user (not a test module).

Run by ``test_privilege.py`` as ``python -m bangui.tests.broker_attack SOCKET CANARY JAIL``
under the ``bangui`` user. Prints one JSON object: how many requests were sent,
how many came back refused, and every one that did not (``accepted``), so the
test can judge them. Never imports Django.
"""

from __future__ import annotations

import sys

sys.modules["django"] = None  # type: ignore[assignment]

import base64  # noqa: E402
import json  # noqa: E402
import socket  # noqa: E402
from typing import Any  # noqa: E402

from bangui.broker import wire  # noqa: E402

CANARY = "/tmp/bangui-canary"


def hostile_values(canary: str) -> list[Any]:
    """The validation corpus's spirit, aimed at the broker: text, types and sizes."""
    texts = [
        "", " ", "\x00", "a\x00b", "\n", "\r\n", "x\n[DEFAULT]\nbantime = 1", "%(logpath)s",
        "%(__name__)s", "%", "`id`", f"$(touch {canary})", f"; touch {canary}",
        f"| touch {canary}", "&& reboot", f'dummy[actionban="touch {canary}"]',
        f'iptables-multiport[port="22; touch {canary}"]', "../../etc/passwd", "/etc/shadow",
        "/dev/zero", "file:///etc/passwd", "<script>alert(1)</script>", "' OR 1=1 --",
        "\u0430dmin", "ѕshd", "ｓｓｈｄ", "sshd\u200b", "\ufeffsshd", "x" * 10_000,
        "1.2.3.4; id", "1.2.3.4\n5.6.7.8", "0.0.0.0", "::", "255.255.255.255",
        "fe80::1%eth0", "2a00::1%$(id)", "2a00::1%(logpath)s", "10.0.0.0/33", "0.0.0.0/0",
        "::/0", "999.1.1.1", "1.2.3", "-1", "1e309", "nan", "0x10", "١٢٣", "--help", "-t",
        "reload", "stop", "unban --all", "alpha beta", "alpha;beta", "../alpha", ".alpha",
        "alpha/", "α", "sshd[mode=aggressive]",
    ]  # fmt: skip
    others: list[Any] = [None, True, False, 0, -1, 2**63, 1.5, [], {}, ["a"], {"a": 1}]
    return texts + others


def _send(path: str, payload: bytes) -> dict[str, Any] | None:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(30)
    try:
        sock.connect(path)
        sock.sendall(payload)
        sock.shutdown(socket.SHUT_WR)  # a frame cut short ends here, as a dropped peer's would
        try:
            return wire.read_frame(sock.makefile("rb"), wire.MAX_REPLY)
        except (EOFError, wire.WireError):
            return None
    finally:
        sock.close()


def requests(canary: str, jail: str) -> list[tuple[str, bytes]]:
    """(label, raw bytes) of every hostile request."""
    out: list[tuple[str, bytes]] = []

    def req(label: str, op: Any, args: Any, v: Any = 1) -> None:
        out.append((label, wire.encode_frame({"v": v, "op": op, "args": args})))

    # Frames that are not requests.
    out += [
        ("frame: too large", wire.HEADER.pack(wire.MAX_REQUEST + 1)),
        ("frame: 4 GiB", b"\xff\xff\xff\xff"),
        ("frame: cut short", wire.HEADER.pack(100) + b"{}"),
        ("frame: not json", wire.HEADER.pack(5) + b"hello"),
        ("frame: not utf-8", wire.HEADER.pack(2) + b"\xff\xfe"),
        ("frame: array", wire.HEADER.pack(2) + b"[]"),
        ("frame: number", wire.HEADER.pack(1) + b"1"),
        ("frame: pickle", wire.HEADER.pack(6) + b"\x80\x04N.\x00\x00"),
        ("frame: empty", wire.HEADER.pack(0)),
    ]
    for v in (0, 2, "1", None, -1, 1.0000001):
        req(f"version {v!r}", "ping", {}, v)
    for op in ("shell", "exec", "eval", "__class__", "reload_raw", "set_raw", "stop", "stop_server",
               "../ping", "PING", "ping ", "", None, 1, ["ping"], {"op": "ping"}, "config_write",
               "db_write", "unlink", "chmod", "subprocess", "system", "import"):  # fmt: skip
        req(f"unknown op {op!r}", op, {})
    # Every operation with arguments of the wrong shape.
    ops = ["jail_status", "jails_banning", "ban", "unban", "unban_everywhere", "get", "set",
           "add_ignore", "banned_ips", "banned_with_time", "stop_jail", "get_server",
           "config_test", "config_apply", "config_rollback", "reload", "create_missing",
           "fail2ban_log", "log_lines", "db_ban_times", "db_current_bans",
           "db_current_ban_count", "db_bans_written_since", "db_schema", "db_bans_chunk",
           "db_bans_of_ip"]  # fmt: skip
    for op in ops:
        req(f"{op}: args a list", op, [jail])
        req(f"{op}: unknown key", op, {"jail": jail, "command": "id"})
        req(f"{op}: args text", op, "jail=alpha")
    # Hostile values in every argument that takes one.
    for value in hostile_values(canary):
        label = repr(value)[:60]
        req(f"ban jail={label}", "ban", {"jail": value, "ips": ["203.0.113.9"]})
        req(f"ban ips=[{label}]", "ban", {"jail": jail, "ips": [value]})
        req(f"set maxretry={label}", "set", {"jail": jail, "name": "maxretry", "value": value})
        req(f"set name={label}", "set", {"jail": jail, "name": value, "value": "1"})
        req(f"get name={label}", "get", {"jail": jail, "name": value})
        req(f"log_lines path={label}", "log_lines", {"path": value, "count": 10})
        req(f"reload jail={label}", "reload", {"jail": value})
        # fail2ban's DB: fixed SELECTs with bound values. A harmless value (a jail name
        # that does not exist) reads nothing; labels "db read" may be accepted.
        scope = {"jail": jail, "now": 1, "max_bantime": 60, "q": ""}
        page = {"limit": 10, "before": "", "after": "", "offset": 0}
        req(f"db ban_times ips=[{label}]", "db_ban_times", {"jail": jail, "ips": [value]})
        req(f"db read ban_times jail={label}", "db_ban_times", {"jail": value, "ips": ["1.2.3.4"]})
        req(f"db read bans_of_ip ip={label}", "db_bans_of_ip", {"ip": value})
        req(f"db read current_bans q={label}", "db_current_bans",
            {"scope": {**scope, "q": value}, **page})  # fmt: skip
        req(f"db read current_bans before={label}", "db_current_bans",
            {"scope": scope, **page, "before": value})  # fmt: skip
        req(f"db current_bans limit={label}", "db_current_bans",
            {"scope": scope, **page, "limit": value})  # fmt: skip
        req(f"db read bans_chunk after_time={label}", "db_bans_chunk",
            {"jail": jail, "after_time": value, "after_rowid": 0, "limit": 10})  # fmt: skip
    for key in ("path", "db", "db_path", "dbfile", "sql", "table"):
        req(f"db_schema {key}=/etc/shadow", "db_schema", {key: "/etc/shadow"})
        req(f"db_bans_of_ip {key}", "db_bans_of_ip", {"ip": "1.2.3.4", key: "x"})
    req("db_bans_chunk: a million rows", "db_bans_chunk",
        {"jail": jail, "after_time": 0, "after_rowid": 0, "limit": 10**6})  # fmt: skip
    req("db_current_bans: offset 10**12", "db_current_bans",
        {"scope": {"jail": jail, "now": 1, "max_bantime": 60, "q": ""}, "limit": 10,
         "before": "", "after": "", "offset": 10**12})  # fmt: skip
    req("ban: 1,001 addresses", "ban", {"jail": jail, "ips": ["203.0.113.1"] * 1001})
    req("lookup: 10,001 addresses", "jails_banning", {"ips": ["203.0.113.1"] * 10_001})
    for name in ("actionban", "actionstart", "ignorecommand", "bantime.formula", "action",
                 "banaction", "logpath", "failregex", "addaction", "delaction", "dbfile",
                 "logtarget", "banip", "unbanip"):  # fmt: skip
        req(f"set {name}", "set", {"jail": jail, "name": name, "value": f"touch {canary}"})
    for name in ("dbfile", "socket", "pidfile", "logtarget x", "actionban"):
        req(f"get_server {name}", "get_server", {"name": name})
    # Config writes aimed at running a command as root, and at files outside the config.
    writes = {
        "action.d/evil.conf": f"[Definition]\nactionban = touch {canary}\n",
        "action.d/evil.local": f"[Definition]\nactionban = touch {canary}\n",
        "action.d/dummy.local": f"[Definition]\nactionban = touch {canary}\n",
        "action.d/evil.py": f"import os\nos.system('touch {canary}')\n",
        "filter.d/evil.py": "import os\n",
        "jail.d/evil.py": "import os\n",
        f"jail.d/{jail}.local": f"[{jail}]\nignorecommand = touch {canary}\n",
        "jail.d/a.local": f'[{jail}]\naction = dummy[actionban="touch {canary}"]\n',
        "jail.d/b.local": f'[{jail}]\naction = iptables-multiport[port="22; touch {canary}"]\n',
        "jail.d/c.local": f"[{jail}]\naction = iptables-multiport[port=22;touch]\n",
        "jail.d/d.local": f"[{jail}]\nport = 22; touch {canary}\n",
        "jail.d/e.local": f"[{jail}]\nport = $(touch {canary})\n",
        "jail.d/f.local": f"[{jail}]\nbantime.formula = __import__('os').system('id')\n",
        "jail.d/g.local": f"[{jail}]\naction = %(failregex)s\nfailregex = dummy[actionban=id]\n",
        "jail.d/h.local": f"[{jail}]\naction_ = dummy[actionban=id]\n",
        "jail.d/i.local": f"[{jail}]\nlogpath = /var/log/x; touch {canary}\n",
        "jail.d/j.local": f"[DEFAULT]\nignorecommand = touch {canary}\n",
        "jail.d/k.local": f"[{jail}]\nignorec\u043emmand = touch {canary}\n",  # Cyrillic o
        "jail.d/l.local": f"[{jail}]\nmaxretry = 3\nignorecommand\t= touch {canary}\n",
        "jail.d/m.local": f"[{jail}]\nmaxretry = 3\n\x00ignorecommand = id\n",
        "jail.d/n.local": "[INCLUDES]\nbefore = /etc/shadow\n",
        "jail.d/o.local": "[INCLUDES]\nafter = ../../../../etc/shadow\n",
        "jail.d/p.local": f"[{jail}]\naction = dummy\n  dummy[actionban=id]\n",
        "jail.d/q.local": f"[{jail}]\nfilter = sshd; touch {canary}\n",
        "jail.d/r.local": "[" + jail + "]\n" + "maxretry = 3\n" * 100_000,
        "jail.d/s.local": f"[{jail}]\nchain = INPUT`touch {canary}`\n",
        "jail.d/t.local": f"[{jail};id]\nenabled = true\n",
        "filter.d/u.local": f"[Definition]\nactionban = touch {canary}\n",
        "filter.d/v.local": f"[Init]\nignorecommand = touch {canary}\n",
        "filter.d/w.local": "[INCLUDES]\nbefore = ../action.d/dummy.conf\n",
        "fail2ban.local": "[Definition]\ndbfile = /etc/cron.d/bangui\n",
        "fail2ban.d/x.local": "[Definition]\nloglevel = DEBUG\n",
        "jail.conf": f"[{jail}]\nignorecommand = id\n",
        "paths-debian.conf": "[DEFAULT]\nsshd_log = /etc/shadow\n",
        "../etc/cron.d/x": "* * * * * root id\n",
        "/etc/cron.d/x": "* * * * * root id\n",
        "jail.d/../../x.local": "[x]\n",
        "jail.d/x.local\x00.txt": "[x]\n",
        "jail.d/linked.local": f"[{jail}]\nmaxretry = 4\n",  # a symlink the test planted
        "jail.d/sub/x.local": "[x]\n",
        "jail.d/.hidden.local": "[x]\n",
    }
    for rel, text in writes.items():
        data = base64.b64encode(text.encode()).decode()
        req(f"apply {rel!r}", "config_apply", {"changes": {rel: data}, "reload_jail": None})
        req(f"test {rel!r}", "config_test", {"changes": {rel: data}})
        req(f"rollback {rel!r}", "config_rollback", {"files": {rel: data}})
        req(f"create {rel!r}", "create_missing", {"files": {rel: text}})
    req("apply: not base64", "config_apply", {"changes": {"jail.d/x.local": "!!"}})
    req(
        "apply: nine files",
        "config_apply",
        {"changes": {f"jail.d/{i}.local": None for i in range(9)}},
    )
    req("apply: 2 MiB", "config_apply", {"changes": {"jail.d/x.local": "A" * (2 * 1024 * 1024)}})
    for path in ("/etc/shadow", "/etc/passwd", "/proc/self/environ", "/root/.bash_history",
                 "/var/log/../../etc/shadow", "/var/log", "/dev/zero", "/proc/1/maps"):  # fmt: skip
        req(f"log_lines {path}", "log_lines", {"path": path, "count": 10})
    req("log_lines: a billion lines", "log_lines", {"path": "/var/log/syslog", "count": 10**9})
    req("fail2ban_log: count 0", "fail2ban_log", {"count": 0, "q": ""})
    req("fail2ban_log: q huge", "fail2ban_log", {"count": 10, "q": "x" * 10_000})
    return out


def main() -> None:
    path, canary, jail = sys.argv[1], sys.argv[2], sys.argv[3]
    sent = refused = 0
    accepted: list[str] = []
    kinds: dict[str, int] = {}
    for label, payload in requests(canary, jail):
        sent += 1
        reply = _send(path, payload)
        if reply is not None and reply.get("ok") is True and isinstance(reply.get("result"), dict):
            # config_apply and config_test answer a refusal as a result that is not ok.
            result = reply["result"]
            inner = result.get("result", result)
            if isinstance(inner, dict) and inner.get("ok") is False:
                reply = {
                    "ok": False,
                    "error": {"kind": f"not applied ({inner.get('step', 'test')})"},
                }
        if reply is None or reply.get("ok") is False:
            refused += 1
            kind = "closed" if reply is None else str(reply.get("error", {}).get("kind"))
            kinds[kind] = kinds.get(kind, 0) + 1
        else:
            accepted.append(label)
    alive = _send(path, wire.encode_frame(wire.request("hello", {})))
    print(json.dumps({
        "sent": sent, "refused": refused, "accepted": accepted, "kinds": kinds,
        "alive": bool(alive and alive.get("ok")),
    }))  # fmt: skip


if __name__ == "__main__":
    main()
