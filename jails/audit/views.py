"""The audit log page: every change made through BanGUI, filtered and paged."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from bangui.pagecache import fragment
from bangui.web import is_partial, page_of
from jails.audit.forms import AuditFilterForm
from jails.audit.selectors import audit_event_list, audit_token
from jails.models import AuditEvent

PER_PAGE = 50
PARAM_KEY_MAX = 24
PARAM_VALUE_MAX = 48


@dataclass(frozen=True)
class Param:
    """One parameter of an event as shown: ``full`` is set only when ``value`` is cut short."""

    key: str
    value: str
    full: str = ""


@dataclass(frozen=True)
class AuditRow:
    event: AuditEvent
    params: list[Param]


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple):
        return ", ".join(_text(v) for v in value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def param_list(params: Any) -> list[Param]:
    """An event's parameters as short ``key=value`` pairs (lists joined, long values cut)."""
    if params in (None, "", {}, []):
        return []
    items = params.items() if isinstance(params, dict) else [("", params)]
    out = []
    for key, value in items:
        text = _text(value)
        short = _cut(text, PARAM_VALUE_MAX)
        full = text if short != text else ""
        out.append(Param(key=_cut(str(key), PARAM_KEY_MAX), value=short, full=full))
    return out


@require_GET
@vary_on_headers("HX-Request")
def audit_log(request: HttpRequest) -> HttpResponse:
    parts = ("audit-table", audit_token(), request.META.get("QUERY_STRING", ""))  # first
    form = AuditFilterForm(request.GET)
    form.is_valid()  # invalid fields are left out of the filters and reported on the page

    def table() -> str:
        paginator = Paginator(audit_event_list(**form.filters()), PER_PAGE)
        page, page_note = page_of(paginator, request.GET.get("page"))
        context = {
            "form": form,
            "page": page,
            "page_note": page_note,
            "page_range": list(paginator.get_elided_page_range(page.number, on_each_side=2)),
            "rows": [AuditRow(event=e, params=param_list(e.params)) for e in page.object_list],
            "filtered": form.active,
        }
        return render_to_string("jails/audit/_table.html", context, request)

    # The same for every viewer until an event is added (bangui.pagecache).
    html = fragment(parts, table)
    if is_partial(request):
        return HttpResponse(html)
    return render(request, "jails/audit/index.html", {"nav": "audit", "form": form, "table": html})
