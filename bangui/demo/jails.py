"""The demo's jails and the failure lines written for them.

Every line template below was checked with ``fail2ban-regex`` against the
filters of fail2ban 1.0.2 (Debian 12).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime

from bangui.demo.lab import LabJail

# -- the jails ------------------------------------------------------------------


@dataclass(frozen=True)
class DemoJail:
    """A lab jail plus the varied failure lines the generator writes for it.

    ``templates`` are ``str.format`` strings over the fields of
    :func:`line_fields`; every one of them is a failure for the jail's filter.
    ``weight`` is the jail's share of the attack traffic.
    """

    lab: LabJail
    templates: tuple[str, ...]
    weight: float

    @property
    def name(self) -> str:
        return self.lab.name

    @property
    def maxretry(self) -> int:
        return int(self.lab.options["maxretry"])


# sshd via syslog: "Nov 25 07:55:36 demo sshd[1234]: ...".
_SSHD = "{now:%b %d %H:%M:%S} demo sshd[{pid}]: "
# nginx error log, basic-auth failures: "2025/11/25 07:55:36 [error] 812#812: *5678 ...".
_NGINX = "{now:%Y/%m/%d %H:%M:%S} [error] 812#812: *{n} "
_NGINX_TAIL = (
    ', client: {ip}, server: demo.example.com, request: "{method} {path} HTTP/1.1", '
    'host: "demo.example.com"'
)
# postfix smtpd SASL failures via syslog (Debian's [postfix-sasl] jail uses mode=auth).
_POSTFIX = "{now:%b %d %H:%M:%S} demo postfix/{service}[{pid}]: warning: {rdns}[{ip}]: "

DEMO_JAILS: tuple[DemoJail, ...] = (
    DemoJail(
        LabJail(
            "sshd",
            filter="sshd",
            line=_SSHD.replace("{pid}", "{n}") + "Failed password for root from {ip} port 22 ssh2",
            options={
                "maxretry": "4",
                "findtime": "10m",
                "bantime": "10m",
                # Repeat offenders get longer bans: 10 m, 20 m, 40 m, ... up to a week.
                "bantime.increment": "true",
                "bantime.factor": "2",
                "bantime.maxtime": "1w",
            },
        ),
        templates=(
            _SSHD + "Failed password for invalid user {user} from {ip} port {port} ssh2",
            _SSHD + "Failed password for root from {ip} port {port} ssh2",
            _SSHD + "Invalid user {user} from {ip} port {port}",
            _SSHD + "error: maximum authentication attempts exceeded for root from {ip} "
            "port {port} ssh2 [preauth]",
        ),
        weight=0.6,
    ),
    DemoJail(
        LabJail(
            "nginx-http-auth",
            filter="nginx-http-auth",
            line=_NGINX + 'user "admin": password mismatch'
            ', client: {ip}, server: demo.example.com, request: "GET /admin/ HTTP/1.1", '
            'host: "demo.example.com"',
            options={"maxretry": "5", "findtime": "5m", "bantime": "30m"},
        ),
        templates=(
            _NGINX + 'user "{user}": password mismatch' + _NGINX_TAIL,
            _NGINX + 'user "{user}" was not found in "/etc/nginx/.htpasswd"' + _NGINX_TAIL,
        ),
        weight=0.25,
    ),
    DemoJail(
        LabJail(
            "postfix-sasl",
            filter="postfix[mode=auth]",
            line="{now:%b %d %H:%M:%S} demo postfix/smtpd[{n}]: warning: unknown[{ip}]: "
            "SASL LOGIN authentication failed: UGFzc3dvcmQ6",
            options={"maxretry": "3", "findtime": "1h", "bantime": "1h"},
        ),
        templates=(
            _POSTFIX + "SASL LOGIN authentication failed: UGFzc3dvcmQ6",
            _POSTFIX + "SASL LOGIN authentication failed: UGFzc3dvcmQ6, sasl_username={mailbox}",
            _POSTFIX + "SASL PLAIN authentication failed: authentication failure",
        ),
        weight=0.15,
    ),
)

SSH_USERS = (
    "admin", "ubuntu", "test", "oracle", "postgres", "git", "pi", "deploy",
    "user", "ftpuser", "guest", "support", "hadoop", "minecraft", "steam",
)  # fmt: skip
WEB_USERS = ("admin", "administrator", "root", "user", "test", "manager", "webmaster")
WEB_PATHS = ("/admin/", "/wp-login.php", "/login", "/private/", "/phpmyadmin/", "/grafana/")
MAILBOXES = ("info@example.com", "admin@example.com", "sales@example.com", "test@example.com")
SMTP_SERVICES = ("smtpd", "submission/smtpd", "smtps/smtpd")


def line_fields(rng: random.Random, ip: str, n: int) -> dict[str, object]:
    """The values a line template may use; ``rdns`` is how postfix names the client."""
    return {
        "now": datetime.now(),
        "ip": ip,
        "n": n,
        "pid": rng.randint(1000, 65000),
        "port": rng.randint(32768, 60999),
        "user": rng.choice(SSH_USERS),
        "path": rng.choice(WEB_PATHS),
        "method": rng.choice(("GET", "GET", "POST")),
        "mailbox": rng.choice(MAILBOXES),
        "service": rng.choice(SMTP_SERVICES),
        "rdns": "unknown",
    }


def render_line(jail: DemoJail, rng: random.Random, ip: str, n: int) -> str:
    fields = line_fields(rng, ip, n)
    if jail.name == "nginx-http-auth":
        fields["user"] = rng.choice(WEB_USERS)
    return rng.choice(jail.templates).format(**fields)
