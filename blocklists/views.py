"""The blocklists page: sources, preview, import now, live progress and the run log."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from bangui.web import is_partial
from blocklists import sources
from blocklists.forms import PreviewForm, SourceForm
from blocklists.models import BlocklistSource, ImportRun
from blocklists.preview import preview
from blocklists.selectors import active_runs, recent_runs, source_rows
from jails.audit.services import actor_from


def _page(request: HttpRequest, form: SourceForm, **extra: Any) -> HttpResponse:
    context = {
        "nav": "blocklists",
        "sources": source_rows(),
        "runs": recent_runs(),
        "active": active_runs(),
        "form": form,
        **extra,
    }
    return render(request, "blocklists/index.html", context, status=extra.pop("status", 200))


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    return _page(request, SourceForm())


@require_POST
@vary_on_headers("HX-Request")
def source_add(request: HttpRequest) -> HttpResponse:
    """Save a new source; "Preview" on the same form shows the list first and saves nothing."""
    form = SourceForm(request.POST)
    if "preview" in request.POST:
        return _preview(request, form)
    if not form.is_valid():
        return _page(request, form, status=400)
    source = sources.source_create(actor=actor_from(request), source=form.save(commit=False))
    messages.success(request, f"Added “{source.name}”. Import it now or wait for its schedule.")
    return redirect("blocklists")


def _preview(request: HttpRequest, form: SourceForm) -> HttpResponse:
    """Any URL can be previewed, also one that is a source already (saving it would not be)."""
    checked = PreviewForm(request.POST)
    url = checked.cleaned_data["url"] if checked.is_valid() else None
    result = preview(url, client_ip=actor_from(request).client_ip) if url else None
    url_error = "" if url else " ".join(str(e) for e in checked.errors.get("url", []))
    extra = {"preview": result, "url_error": url_error}
    if is_partial(request):
        return render(request, "blocklists/_preview.html", {"form": form, **extra})
    form.is_valid()  # the full page shows every field's error next to it
    return _page(request, form, **extra)


@require_http_methods(["GET", "POST"])
def source_edit(request: HttpRequest, pk: int) -> HttpResponse:
    source = get_object_or_404(BlocklistSource, pk=pk)
    form = SourceForm(request.POST or None, instance=source)
    if request.method == "POST" and form.is_valid():
        sources.source_update(actor=actor_from(request), source=form.save(commit=False))
        messages.success(request, f"Saved “{source.name}”.")
        return redirect("blocklists")
    status = 400 if request.method == "POST" else 200
    context = {"nav": "blocklists", "form": form, "source": source}
    return render(request, "blocklists/source_form.html", context, status=status)


@require_POST
def source_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """Forget a source; its bans stay and expire with their ban time, its runs stay listed."""
    name = sources.source_delete(
        actor=actor_from(request), source=get_object_or_404(BlocklistSource, pk=pk)
    )
    messages.success(
        request, f"Removed “{name}”. Its bans stay until their ban time ends; its runs stay listed."
    )
    return redirect("blocklists")


def _start(request: HttpRequest, chosen: list[BlocklistSource]) -> HttpResponse:
    outcome = sources.imports_start(actor=actor_from(request), sources=chosen)
    if outcome.busy:
        messages.warning(request, f"Already importing: {', '.join(outcome.busy)}.")
    if outcome.started:
        messages.success(
            request, f"Import started for {', '.join(outcome.started)}. Progress shows below."
        )
    elif not outcome.busy:
        messages.warning(request, "No enabled source to import.")
    return redirect("blocklists")


@require_POST
def source_import(request: HttpRequest, pk: int) -> HttpResponse:
    return _start(request, [get_object_or_404(BlocklistSource, pk=pk)])


@require_POST
def import_all(request: HttpRequest) -> HttpResponse:
    return _start(request, list(BlocklistSource.objects.filter(enabled=True).order_by("name")))


@require_GET
@vary_on_headers("HX-Request")
def runs_live(request: HttpRequest) -> HttpResponse:
    """The progress panel, polled each second while an import is queued or running.

    When the last one finishes, the whole page reloads to show its outcome.
    """
    active = active_runs()
    # The sources table's status badges follow along (out-of-band swaps).
    context = {"active": active, "oob": is_partial(request)}
    response = render(request, "blocklists/_active.html", context)
    if not active and is_partial(request):
        response["HX-Refresh"] = "true"
    return response


@require_GET
@vary_on_headers("HX-Request")
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(ImportRun, pk=pk)
    template = "blocklists/_run_body.html" if is_partial(request) else "blocklists/run.html"
    return render(request, template, {"nav": "blocklists", "run": run})
