"""Web helpers every app's views share: htmx partials, safe redirects, page numbers, 404s.

One copy of each, so a fix (``require_https`` on a redirect, a page number
that is not a number) reaches every page at once.
"""

from __future__ import annotations

from typing import TypeVar
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.paginator import Page, Paginator
from django.http import Http404, HttpRequest
from django.urls import Resolver404, resolve
from django.utils.http import url_has_allowed_host_and_scheme
from django_htmx.middleware import HtmxDetails

from bangui.fail2ban.validation import clean_jail
from bangui.subpath import within

T = TypeVar("T")

# What a "choose anything" option of a filter is called in query strings (?jail=all).
ALL = "all"
# A page number shown back in a note is cut to this many characters.
_SHOWN_MAX = 20
# Longer digit strings are no page number anybody meant (int() refuses 4,300 digits).
_DIGITS_MAX = 100


def is_partial(request: HttpRequest) -> bool:
    """An htmx request for a fragment (not a boosted link, not a back/forward restore).

    Views that answer differently must send ``Vary: HX-Request`` (``vary_on_headers``).
    """
    htmx = getattr(request, "htmx", None)
    if not isinstance(htmx, HtmxDetails):
        return False
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def safe_next(request: HttpRequest) -> str | None:
    """The ``next`` of the request (POST, then GET) if it is a page of this site, else None.

    Only paths ("/jails/?q=x"): ``redirect()`` would take a bare word as a URL
    name and fail, and another host or scheme is an open redirect. The path must
    be one of BanGUI's pages, or the user lands on a 404 that drops the message.
    Under a sub-path (BANGUI_URL_PREFIX) the path carries the prefix, like every link.
    """
    target = request.POST.get("next") or request.GET.get("next") or ""
    if (
        target.startswith("/")
        and not target.startswith(("//", "/\\"))
        and url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    ):
        page = within(request, urlsplit(target).path)
        if page is None:
            return None
        try:
            resolve(page)
        except Resolver404:
            return None
        return target
    return None


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def page_number(raw: str | None, *, last: int | None = None) -> tuple[int, str]:
    """The page a ``?page=`` value asks for, and a note when another one is shown instead.

    Anything but ASCII digits (and 0, and absurdly long numbers) gives the first page;
    beyond ``last``, the last one.
    """
    if raw in (None, ""):
        return 1, ""
    text = str(raw)
    shown = _cut(text, _SHOWN_MAX)
    if not text.isascii() or not text.isdigit() or len(text) > _DIGITS_MAX:
        return 1, f"There is no page “{shown}”; showing the first page."
    number = int(text[:10])
    if number < 1:
        return 1, f"There is no page {shown}; showing the first page."
    if last is not None and number > last:
        return last, f"There is no page {shown}; showing the last page ({last})."
    return number, ""


def page_of(paginator: Paginator[T], raw: str | None) -> tuple[Page[T], str]:
    """The requested page of ``paginator``, or the nearest one with a note saying so."""
    number, note = page_number(raw, last=paginator.num_pages)
    return paginator.page(number), note


def jail_or_404(name: str) -> str:
    """A jail name from a URL, or 404 when it cannot be one."""
    try:
        return clean_jail(name)
    except ValidationError:
        raise Http404("No such jail.") from None
