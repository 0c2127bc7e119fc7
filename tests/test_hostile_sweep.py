"""Every line of the hostile corpus into every field (and ``next``) of every POST form.

The forms are found the way a person finds them: every page is fetched and
its ``<form method="post">`` elements are read, one form per URL name. Each
hostile value goes into one field while the others keep what the page filled
in. After every answer, against the real fail2ban:

- no answer is a server error (≥ 500);
- an input that changed fail2ban's jails or bans, or a config file, was
  answered with a success message (then it was valid, and the sweep goes on
  from the new state); otherwise nothing changed;
- a refusal says so (an error, a warning or a confirmation question);
- fail2ban's log gains no ERROR line.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

from django.urls import Resolver404, resolve

from bangui.demo.lab import Fail2banLab
from blocklists.tests.httpserver import LocalServer
from tests.hostile import HOSTILE
from tests.test_every_url import _own_jails, _paths

SKIP = {"logout"}  # would end the session the sweep runs in
LAST = ("delete",)  # forms that remove what the others need
EXTRA_PAGES = ["/config/files/jail.d/manual.local/edit/", "/bans/unban-all/"]
MESSAGE_MARKERS = (
    'class="msg msg-',
    'class="error',
    "errorlist",
    "panel-bad",
    'role="alert"',
    "has-error",
    "banner-",
    "<h1>Confirm",
    "?</h1>",
)
BANS = {"alpha": ["198.51.100.10", "198.51.100.11"], "sshd": ["198.51.100.20"]}


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, object]] = []
        self.current: dict[str, str | None] | None = None
        self.textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form":
            self.current = {}
            self.forms.append({"method": (a.get("method") or "get").lower(),
                               "action": a.get("action"), "fields": self.current})  # fmt: skip
        elif self.current is not None and a.get("name") and tag in ("input", "select", "textarea"):
            name = str(a["name"])
            if tag == "input" and a.get("type") in ("checkbox", "radio") and "checked" not in a:
                self.current.setdefault(name, None)
            elif tag == "textarea":
                self.current.setdefault(name, "")
                self.textarea = name
            else:
                self.current.setdefault(name, a.get("value") or "")

    def handle_data(self, data: str) -> None:
        if self.current is not None and self.textarea:
            self.current[self.textarea] = (self.current[self.textarea] or "") + data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.current = None
        if tag == "textarea":
            self.textarea = None


def _post_forms(client) -> dict[str, tuple[str, dict[str, str]]]:  # type: ignore[no-untyped-def]
    """One POST form per URL name: its action and the values the page fills in."""
    found: dict[str, tuple[str, dict[str, str]]] = {}
    for path in [*_paths(), *EXTRA_PAGES]:
        response = client.get(path)
        if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
            continue
        parser = _Forms()
        parser.feed(response.content.decode())
        for form in parser.forms:
            action = str(form["action"] or path)
            try:
                match = resolve(action.split("?")[0])
            except Resolver404:
                continue
            name = match.url_name or ""
            if form["method"] != "post" or name in SKIP or match.app_name == "admin":
                continue
            fields = {k: v for k, v in form["fields"].items() if v is not None}  # type: ignore[attr-defined]
            fields.pop("csrfmiddlewaretoken", None)
            found.setdefault(name, (action, fields))
    return dict(sorted(found.items(), key=lambda kv: kv[0].endswith(LAST)))


def _state(lab: Fail2banLab) -> tuple[object, ...]:
    client = lab.client()
    banned = client.banned()
    digest = hashlib.sha256()
    for path in sorted(lab.conf_dir.rglob("*")):
        if path.is_file():
            digest.update(str(path).encode() + b"\0" + path.read_bytes())
    return (
        tuple(sorted(banned)),
        tuple(sorted((j, tuple(sorted(i))) for j, i in banned.items())),
        digest.hexdigest(),
    )


def _errors(lab: Fail2banLab) -> int:
    text = Path(lab.server_log).read_text(errors="replace")
    return sum(1 for line in text.splitlines() if " ERROR " in line)


def test_hostile_input_in_every_form_field_changes_nothing_and_says_why(  # type: ignore[no-untyped-def]
    config_admin_client, f2b_private
):
    client = config_admin_client
    client.raise_request_exception = False  # count every 500, not only the first
    with LocalServer() as server:
        _own_jails(client, f2b_private, server)
        forms = _post_forms(client)
    assert len(forms) >= 25, sorted(forms)
    for jail, ips in BANS.items():
        f2b_private.client().ban(jail, ips)
    problems: list[str] = []
    posts = 0
    for name, (action, defaults) in forms.items():
        for field in [*defaults, "next"]:
            for value in HOSTILE:
                before, errors = _state(f2b_private), _errors(f2b_private)
                response = client.post(action, {**defaults, field: value}, follow=True)
                posts += 1
                where = f"{name} {field}={value[:40]!r}"
                body = response.content.decode(errors="replace")
                if response.status_code >= 500:
                    problems.append(f"{response.status_code}: {where}")
                    continue
                if _errors(f2b_private) > errors:
                    problems.append(f"ERROR in fail2ban's log: {where}")
                if _state(f2b_private) != before:
                    if "msg-success" not in body:
                        problems.append(f"changed fail2ban or its config without success: {where}")
                    continue
                if response.status_code == 404 and name.endswith(LAST):
                    continue  # deleted by an earlier post
                if not any(m in body for m in MESSAGE_MARKERS):
                    problems.append(f"no message: {where} ({response.status_code})")
    print(f"hostile sweep: {posts} posts over {len(forms)} forms, {len(HOSTILE)} values")
    kinds = Counter(p.split("=", 1)[0] for p in problems)
    summary = "\n".join(f"{n:5} × {kind}" for kind, n in kinds.most_common())
    assert not problems, f"{len(problems)} problems:\n{summary}\nfirst:\n" + "\n".join(
        problems[:20]
    )
