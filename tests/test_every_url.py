"""Every page answers without a server error: each named URL, with BanGUI's own jails present.

The URL list comes from the resolver, so a new page is crawled without anyone
adding it here. Arguments take several values each (a running jail, BanGUI's
``manual`` and ``blocklist-import`` jails, a name that is no jail), so the
pages of BanGUI's own jails are crawled after a manual ban and an import.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

from django.contrib import admin
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from bangui.demo.lab import Fail2banLab
from blocklists.models import BlocklistSource
from blocklists.services import import_run, runs_queue
from blocklists.tests.httpserver import LocalServer, respond
from jails.audit.services import Actor

SAMPLES: dict[str, tuple[str, ...]] = {
    "name": ("sshd", "alpha", "manual", "blocklist-import", "no-such-jail", "iptables"),
    "subdir": ("jail.d", "filter.d", "action.d"),
    "pk": ("1", "999999"),
    "ip": ("203.0.113.7", "2001:db8::1", "203.0.113.0/24", "not-an-ip"),
}
FILE_NAMES = ("manual.conf", "blocklist-import.conf", "sshd.conf", "nothing.conf")


def _patterns(resolvers: list[URLPattern | URLResolver], prefix: str = "") -> Iterator[str]:
    for entry in resolvers:
        if isinstance(entry, URLResolver):
            if entry.app_name == "admin":
                continue  # crawled below from the registered models
            yield from _patterns(entry.url_patterns, prefix + str(entry.pattern))
        elif entry.name:
            yield entry.name


def _paths() -> Iterator[str]:
    for name in sorted(set(_patterns(get_resolver().url_patterns))):
        pattern = get_resolver().reverse_dict.getlist(name)[0][0][0][1]
        params = sorted(pattern)
        choices = [FILE_NAMES if p == "name" and "subdir" in params else SAMPLES[p] for p in params]
        for values in itertools.product(*choices):
            yield reverse(name, kwargs=dict(zip(params, values, strict=True)))
    yield reverse("admin:index")
    for model in admin.site._registry:
        meta = model._meta
        yield reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")


def _own_jails(client, lab: Fail2banLab, server: LocalServer) -> None:  # type: ignore[no-untyped-def]
    """A manual ban and a blocklist import: BanGUI's own jails now exist and hold bans."""
    answer = client.post("/bans/new/", {"jail": "manual", "ips": "203.0.113.7", "confirm": "on"})
    assert answer.status_code == 200
    server.route("/list.txt", respond("198.51.100.0/24\n8.8.4.4\n"))
    source = BlocklistSource.objects.create(name="crawl list", url=server.url("/list.txt"))
    (run,) = runs_queue([source], actor=Actor.system("test"), trigger="manual")
    assert import_run(run).status == "ok"
    assert {"manual", "blocklist-import"} <= set(lab.client().jails())


def test_every_page_answers_without_a_server_error(config_admin_client, f2b_private) -> None:  # type: ignore[no-untyped-def]
    with LocalServer() as server:
        _own_jails(config_admin_client, f2b_private, server)
    config_admin_client.raise_request_exception = False  # count every 500, not only the first
    failed = []
    paths = list(_paths())
    for path in paths:
        for query in ("", "?page=2&q=x&range=7d"):
            response = config_admin_client.get(path + query)
            if response.status_code >= 500:
                failed.append(f"{response.status_code} GET {path}{query}")
    assert len(paths) > 100
    assert not failed, "\n".join(failed)
