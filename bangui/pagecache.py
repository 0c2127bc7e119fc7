"""Answering for data that has not changed: data versions, shared fragments, ETags.

Rendering a page's archive part (aggregates, charts, 50-100 table rows) is most of
its cost, and it is the same for every viewer until the data behind it changes
(issue 16). So:

- **versions**: ``version_bump(name)`` in the same transaction as each write (the
  history sync, unban marks, the purge; in whatever process runs them);
  ``jails.history.selectors.archive_token`` reads it with the newest row's id;
- **fragments**: ``fragment(key, render)`` keeps rendered HTML under a key built
  from those versions, read *before* the data, so a cached fragment is never older
  than its key says. Shared by all users: only HTML without anything of the
  viewer in it (no CSRF token, no user name, nothing that depends on the role)
  goes in. One thread renders a missing key; the others wait for its result
  rather than rendering the same thing at once (a stampede after every sync);
- **ETags** for htmx polls: ``conditional(request, parts, respond)`` answers 304
  from the versions alone, before anything is rendered. The tag names the user
  and role too, and responses say ``Cache-Control: private`` and ``Vary: Cookie``,
  so no cache between BanGUI and the browser hands one user's answer to another.

Fragments also expire after ``FRAGMENT_SECONDS``, so a change made behind
BanGUI's back (a restore, a hand edit in the admin) shows within a minute.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections.abc import Callable, Hashable

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpRequest, HttpResponse, HttpResponseNotModified
from django.utils import timezone
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.http import parse_etags, quote_etag
from django.utils.safestring import SafeString, mark_safe

from bangui.models import DataVersion
from bangui.roles import user_role

ARCHIVE = "archive"
FRAGMENT_SECONDS = 60
# Another process (a restart, a new release with other markup) never confirms a tag of the
# last one.
_PROCESS = secrets.token_hex(4)
# One lock per key would need cleaning up; 64 stripes make two keys share one rarely.
_STRIPES = tuple(threading.Lock() for _ in range(64))


def version_bump(name: str) -> None:
    """Data ``name`` changed: what was cached or tagged under its old version is stale.

    Call it inside the writing transaction, so no reader sees the new data with the
    old version.
    """
    now = timezone.now()
    if DataVersion.objects.filter(name=name).update(value=F("value") + 1, changed_at=now):
        return
    try:
        with transaction.atomic():
            DataVersion.objects.create(name=name, value=1, changed_at=now)
    except IntegrityError:  # another process made the row first
        DataVersion.objects.filter(name=name).update(value=F("value") + 1, changed_at=now)


def _digest(parts: tuple[Hashable, ...]) -> str:
    return hashlib.blake2b(repr(parts).encode(), digest_size=16).hexdigest()


def fragment(
    key: tuple[Hashable, ...], render: Callable[[], str], *, seconds: int = FRAGMENT_SECONDS
) -> SafeString:
    """The HTML ``render()`` makes, kept under ``key`` (data versions, query, time zone)."""
    cache_key = f"bangui:fragment:{_digest((timezone.get_current_timezone_name(), *key))}"
    html: str | None = cache.get(cache_key)
    if html is None:
        with _STRIPES[hash(cache_key) % len(_STRIPES)]:
            html = cache.get(cache_key)  # rendered by the thread that held the lock
            if html is None:
                html = str(render())
                cache.set(cache_key, html, seconds)
    return mark_safe(html)  # noqa: S308 - rendered by our templates, autoescaped there


def etag(request: HttpRequest, parts: tuple[Hashable, ...]) -> str:
    """A strong ETag for what ``parts`` describe, as this user with this role sees it."""
    user = request.user
    viewer = (user.pk, user_role(user)) if user.is_authenticated else (None, "")
    zone = timezone.get_current_timezone_name()
    return quote_etag(_digest((_PROCESS, viewer, zone, request.path, *parts)))


def conditional(
    request: HttpRequest, parts: tuple[Hashable, ...], respond: Callable[[], HttpResponse]
) -> HttpResponse:
    """``respond()``, or a 304 when the client sent this answer's tag in If-None-Match."""
    tag = etag(request, parts)
    sent = parse_etags(request.headers.get("If-None-Match", ""))
    fresh = tag in sent or sent == ["*"]
    response: HttpResponse = HttpResponseNotModified() if fresh else respond()
    if response.status_code in (200, 304):
        response["ETag"] = tag
        # The browser keeps the answer and asks again each time; nobody else keeps it.
        patch_cache_control(response, private=True, no_cache=True)
        patch_vary_headers(response, ("Cookie",))
    return response
