"""The ban history: the archive filtered and paged, and every ban of one address."""

from __future__ import annotations

import time
from collections.abc import Hashable
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from bangui.fail2ban import Fail2banError
from bangui.fail2ban.configured import config_dir, db_path, get_client
from bangui.fail2ban.validation import clean_network
from bangui.pagecache import fragment
from bangui.web import is_partial
from geo.selectors import geo_annotate, geo_lookup
from jails.history.forms import HistoryFilterForm
from jails.history.map import history_map
from jails.history.selectors import (
    REPEAT_BANS,
    archive_token,
    ban_record_list,
    history_jails,
    history_page,
    ip_banned_now,
    ip_history,
    purge_age_warning,
    sync_state,
)
from jails.models import BanRecord

# The direction a column sorts in on its first click.
_FIRST_SORT = {"time": "-time", "ip": "ip", "jail": "jail", "bancount": "-bancount"}


@dataclass(frozen=True)
class SortHead:
    """A sortable column heading: where its link leads and how it is sorted now."""

    next: str
    aria: str = ""
    arrow: str = ""


def sort_heads(sort: str) -> dict[str, SortHead]:
    """Clicking the sorted column reverses it; another column starts in its usual direction."""
    heads = {}
    for column, first in _FIRST_SORT.items():
        if sort.lstrip("-") != column:
            heads[column] = SortHead(next=first)
        elif sort.startswith("-"):
            heads[column] = SortHead(next=column, aria="descending", arrow=" ↓")
        else:
            heads[column] = SortHead(next=f"-{column}", aria="ascending", arrow=" ↑")
    return heads


def filtered_records(form: HistoryFilterForm) -> QuerySet[BanRecord]:
    """The records for a bound form: invalid fields are left out and stay reported.

    An IP filter that cannot be narrowed down (a huge IPv6 network) becomes a
    field error too, and the rest of the filters still apply.
    """
    form.is_valid()
    try:
        return ban_record_list(**form.filters())
    except ValidationError as exc:
        form.add_error("ip", exc)
        return ban_record_list(**form.filters())


def _table_key(
    request: HttpRequest, form: HistoryFilterForm, token: tuple[int, int]
) -> tuple[Hashable, ...]:
    """What the table shows follows from the archive and the query; a period ("last 7
    days") also moves with the clock, so such a table is rendered again each minute."""
    minute = int(time.time() // 60) if form.filters().get("since") else None
    return ("history-table", token, request.META.get("QUERY_STRING", ""), minute)


@require_GET
@vary_on_headers("HX-Request")
def history(request: HttpRequest) -> HttpResponse:
    token = archive_token()  # first: what is rendered is never older than the key
    form = HistoryFilterForm(request.GET, jails=history_jails(token))
    records = filtered_records(form)  # validates the form (no query yet)

    def table() -> str:
        page = history_page(records, request.GET.get("page"))
        geo_annotate(page.records, stored="country_code")  # one batch lookup for the page
        context = {
            "form": form,
            "page": page,
            "sort": form.sort_order,
            "heads": sort_heads(form.sort_order),
            "filtered": form.active,
            "repeat_bans": REPEAT_BANS,
        }
        return render_to_string("jails/history/_table.html", context, request)

    # The same for every viewer until the archive changes (bangui.pagecache).
    html = fragment(_table_key(request, form, token), table)
    if is_partial(request):
        return HttpResponse(html)
    context: dict[str, object] = {"nav": "history", "form": form, "table": html}
    minutes = settings.BANGUI_HISTORY_SYNC_MINUTES
    context["purge_warning"] = purge_age_warning(client=get_client(), sync_minutes=minutes)
    context["sync"] = sync_state()
    context["sync_every"] = "minute" if minutes == 1 else f"{minutes} minutes"
    if context["purge_warning"]:
        context["config_dir"] = config_dir()
    # The map opens with the page when a country is chosen (a click on it) or asked for.
    if form.filters().get("country") or request.GET.get("map"):
        context["hmap"] = history_map(form.filters(), request.GET.dict())
    context["map_query"] = request.GET.urlencode()
    return render(request, "jails/history/index.html", context)


@require_GET
def history_map_part(request: HttpRequest) -> HttpResponse:
    """The History page's map, fetched when its panel is opened or the filters change."""
    form = HistoryFilterForm(request.GET, jails=history_jails())
    filtered_records(form)  # validates; a bad field is left out as on the page
    context = {"hmap": history_map(form.filters(), request.GET.dict())}
    return render(request, "jails/history/_map.html", context)


@require_GET
def history_ip(request: HttpRequest, ip: str) -> HttpResponse:
    try:
        ip = clean_network(ip)
    except ValidationError:
        raise Http404("Not an IP address or network.") from None
    context: dict[str, object] = {
        "nav": "history",
        "ip": ip,
        "geo": geo_lookup(ip),
        "hist": ip_history(ip),
        "repeat_bans": REPEAT_BANS,
    }
    c = get_client()
    try:
        context["bans"] = ip_banned_now(client=c, ip=ip, db_path=db_path(c))
    except Fail2banError as exc:
        context["now_error"] = f"fail2ban is unreachable: {exc}"
    return render(request, "jails/history/ip.html", context)
