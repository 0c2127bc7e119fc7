"""Configuration tabs: jails (effective settings, edit, activate), filters, actions.

Each view parses a form, calls one service and renders; an apply that failed
re-renders the page with fail2ban's answer next to the form.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from bangui.fail2ban import Fail2banError
from bangui.fail2ban.configured import config_dir, get_client
from bangui.fail2ban.configview import JailSettings, jail_settings
from bangui.web import jail_or_404
from jails.audit.services import actor_from
from jails.config.jails import services
from jails.config.jails.forms import (
    BACKENDS,
    FILTER_NAME_RE,
    AssignFilterForm,
    FilterForm,
    JailSettingsForm,
)
from jails.config.jails.selectors import (
    activation_precheck,
    conf_files,
    conf_source,
    filter_names,
    filter_values,
    jail_config,
    jail_filter_choices,
    jail_rows,
    local_text,
    running_jails,
)
from jails.config.services import Applied


def _tab(tab: str, **context: object) -> dict[str, object]:
    return {"nav": "config", "tab": tab, **context}


@require_GET
def config_jails(request: HttpRequest) -> HttpResponse:
    try:
        rows, online = jail_rows(config_dir=config_dir(), client=get_client())
    except Fail2banError as exc:
        return render(request, "jails/config/jails.html", _tab("jails", error=exc, rows=[]))
    return render(request, "jails/config/jails.html", _tab("jails", rows=rows, online=online))


def _settings_or_404(jail: str) -> JailSettings:
    try:
        settings = jail_config(config_dir(), jail)
    except Fail2banError as exc:
        raise Http404(f"fail2ban's config cannot be read: {exc}") from None
    if settings is None:
        raise Http404("No such jail in the configuration.")
    return settings


def _initial(s: JailSettings) -> dict[str, object]:
    opts = s.increment_opts
    return {
        "bantime": s.bantime, "findtime": s.findtime, "maxretry": s.maxretry,
        "increment": s.increment, "factor": opts.get("bantime.factor", ""),
        "maxtime": opts.get("bantime.maxtime", ""), "rndtime": opts.get("bantime.rndtime", ""),
        "overalljails": opts.get("bantime.overalljails", "").lower() == "true",
        "logpath": "\n".join(s.logpaths), "backend": s.backend_name,
        "filter": s.filter_name, "ignoreip": "\n".join(s.ignoreip),
    }  # fmt: skip


def _jail_page(
    request: HttpRequest, jail: str, *, form: JailSettingsForm | None = None,
    applied: Applied | None = None, precheck_shown: bool = False,
) -> HttpResponse:  # fmt: skip
    settings = _settings_or_404(jail)
    filters = jail_filter_choices(config_dir(), settings.filter_name)
    if form is None:
        form = JailSettingsForm(
            initial=_initial(settings), filters=filters, current_filter=settings.filter_name
        )
    running = running_jails(get_client())
    context = _tab(
        "jails",
        jail=jail, s=settings, form=form, applied=applied, backends=BACKENDS,
        running=None if running is None else jail in running,
        precheck=activation_precheck(config_dir(), settings),
        precheck_shown=precheck_shown,
        local=local_text(config_dir(), "jail.d", f"{jail}.local"),
    )  # fmt: skip
    return render(request, "jails/config/jail_edit.html", context)


def _after(request: HttpRequest, jail: str, applied: Applied | None, done: str) -> HttpResponse:
    """Success: a message and the page with the new values; failure: the page with the error."""
    if applied is None:
        messages.info(request, "Nothing changed: the values are what fail2ban reads already.")
        return redirect("config_jail", name=jail)
    if applied.ok:
        messages.success(request, done)
        return redirect("config_jail", name=jail)
    return _jail_page(request, jail, applied=applied)


@require_http_methods(["GET", "POST"])
def config_jail(request: HttpRequest, name: str) -> HttpResponse:
    jail = jail_or_404(name)
    if request.method != "POST":
        return _jail_page(request, jail)
    settings = _settings_or_404(jail)
    filters = jail_filter_choices(config_dir(), settings.filter_name)
    form = JailSettingsForm(request.POST, filters=filters, current_filter=settings.filter_name)
    if not form.is_valid():
        return _jail_page(request, jail, form=form)
    try:
        applied = services.jail_settings_save(
            actor=actor_from(request), jail=jail, values=form.values()
        )
    except services.ConfigRefused as exc:
        form.add_error(None, str(exc))
        return _jail_page(request, jail, form=form)
    if applied is not None and not applied.ok:
        return _jail_page(request, jail, form=form, applied=applied)
    return _after(
        request, jail, applied, f"Saved to jail.d/{jail}.local; fail2ban reloaded {jail}."
    )


@require_POST
def config_jail_persist_ignore(request: HttpRequest, name: str) -> HttpResponse:
    jail = jail_or_404(name)
    try:
        applied = services.jail_ignore_persist(
            actor=actor_from(request), client=get_client(), jail=jail
        )
    except services.ConfigRefused as exc:
        messages.error(request, str(exc))
        return redirect("config_jail", name=jail)
    return _after(request, jail, applied, f"The running ignore list is now in jail.d/{jail}.local.")


@require_POST
def config_jail_activate(request: HttpRequest, name: str) -> HttpResponse:
    jail = jail_or_404(name)
    if activation_precheck(config_dir(), _settings_or_404(jail)).errors:
        # The button is disabled then; a forged POST gets the list again.
        return _jail_page(request, jail, precheck_shown=True)
    try:
        applied = services.jail_enable(actor=actor_from(request), jail=jail, enabled=True)
    except services.ConfigRefused as exc:
        messages.error(request, str(exc))
        return redirect("config_jail", name=jail)
    return _after(request, jail, applied, f"Jail {jail} activated and started.")


@require_POST
def config_jail_deactivate(request: HttpRequest, name: str) -> HttpResponse:
    jail = jail_or_404(name)
    _settings_or_404(jail)
    if request.POST.get("confirmed") != "yes":
        context = {
            "nav": "config", "title": f"Deactivate jail {jail}?", "button": "Deactivate",
            "text": f"enabled = false is written to jail.d/{jail}.local and fail2ban stops the "
            "jail: its bans are lifted and its logs are no longer watched.",
            "post": request.POST, "cancel": reverse("config_jail", args=[jail]),
        }  # fmt: skip
        return render(request, "bangui/confirm.html", context)
    try:
        applied = services.jail_enable(actor=actor_from(request), jail=jail, enabled=False)
    except services.ConfigRefused as exc:
        messages.error(request, str(exc))
        return redirect("config_jail", name=jail)
    return _after(request, jail, applied, f"Jail {jail} deactivated; fail2ban stopped it.")


# -- filters and actions -------------------------------------------------------------


def _name_or_404(name: str) -> str:
    if not FILTER_NAME_RE.fullmatch(name) or ".." in name:
        raise Http404("No such file.")
    return name


@require_GET
def config_filters(request: HttpRequest) -> HttpResponse:
    # Filters in use first: the few that matter sit above ~90 distribution files.
    items = sorted(
        conf_files(config_dir(), "filter.d").values(), key=lambda f: (not f.used_by, f.name)
    )
    used = sum(1 for f in items if f.used_by)
    return render(request, "jails/config/filters.html", _tab("filters", items=items, used=used))


def _existing_filters() -> set[str]:
    return set(filter_names(config_dir()))


@require_http_methods(["GET", "POST"])
def config_filter_new(request: HttpRequest) -> HttpResponse:
    form = FilterForm(request.POST or None, existing=_existing_filters())
    applied = None
    if request.method == "POST" and form.is_valid():
        values = {k: form.cleaned_data[k] for k in services.FILTER_KEYS}
        name = form.cleaned_data["name"]
        try:
            applied = services.filter_create(actor=actor_from(request), name=name, values=values)
        except services.ConfigRefused as exc:
            form.add_error(None, str(exc))
        else:
            if applied.ok:
                messages.success(request, f"Filter {name} created as filter.d/{name}.conf.")
                return redirect("config_filter", name=name)
    context = _tab("filters", form=form, applied=applied)
    return render(request, "jails/config/filter_new.html", context)


def _filter_page(
    request: HttpRequest, name: str, *, form: FilterForm | None = None,
    assign: AssignFilterForm | None = None, applied: Applied | None = None,
) -> HttpResponse:  # fmt: skip
    source = conf_source(config_dir(), "filter.d", name)
    if source is None:
        raise Http404("No such filter.")
    if form is None:
        form = FilterForm(initial=filter_values(source), existing=set(), editing=True)
    if assign is None:
        assign = AssignFilterForm(jails=sorted(jail_settings(config_dir())))
    context = _tab(
        "filters", name=name, source=source, form=form, assign=assign, applied=applied,
        target=f"{name}.conf" if source.item.created_by_bangui else f"{name}.local",
    )  # fmt: skip
    return render(request, "jails/config/filter_detail.html", context)


def _filter_after(
    request: HttpRequest, name: str, applied: Applied | None, done: str, **forms: object
) -> HttpResponse:
    if applied is None:
        messages.info(request, "Nothing changed.")
    elif applied.ok:
        messages.success(request, done)
    else:
        return _filter_page(request, name, applied=applied, **forms)  # type: ignore[arg-type]
    return redirect("config_filter", name=name)


@require_http_methods(["GET", "POST"])
def config_filter(request: HttpRequest, name: str) -> HttpResponse:
    name = _name_or_404(name)
    if request.method != "POST":
        return _filter_page(request, name)
    form = FilterForm(request.POST, existing=set(), editing=True)
    if not form.is_valid():
        return _filter_page(request, name, form=form)
    values = {k: form.cleaned_data[k] for k in services.FILTER_KEYS}
    try:
        applied = services.filter_save(actor=actor_from(request), name=name, values=values)
    except services.ConfigRefused as exc:
        form.add_error(None, str(exc))
        return _filter_page(request, name, form=form)
    return _filter_after(request, name, applied, f"Filter {name} saved.", form=form)


@require_POST
def config_filter_assign(request: HttpRequest, name: str) -> HttpResponse:
    name = _name_or_404(name)
    assign = AssignFilterForm(request.POST, jails=sorted(jail_settings(config_dir())))
    if not assign.is_valid():
        return _filter_page(request, name, assign=assign)
    jail = assign.cleaned_data["jail"]
    try:
        applied = services.filter_assign(actor=actor_from(request), name=name, jail=jail)
    except services.ConfigRefused as exc:
        assign.add_error(None, str(exc))
        return _filter_page(request, name, assign=assign)
    done = f"Jail {jail} now uses filter {name}; fail2ban reloaded it."
    return _filter_after(request, name, applied, done, assign=assign)


@require_POST
def config_filter_delete(request: HttpRequest, name: str) -> HttpResponse:
    name = _name_or_404(name)
    try:
        applied = services.filter_delete(actor=actor_from(request), name=name)
    except services.ConfigRefused as exc:
        messages.error(request, str(exc))
        return redirect("config_filter", name=name)
    if not applied.ok:
        return _filter_page(request, name, applied=applied)
    messages.success(request, f"Filter {name} deleted.")
    return redirect("config_filters")


@require_GET
def config_actions(request: HttpRequest) -> HttpResponse:
    items = sorted(
        conf_files(config_dir(), "action.d").values(), key=lambda f: (not f.used_by, f.name)
    )
    used = sum(1 for f in items if f.used_by)
    return render(request, "jails/config/actions.html", _tab("actions", items=items, used=used))


@require_GET
def config_action(request: HttpRequest, name: str) -> HttpResponse:
    source = conf_source(config_dir(), "action.d", _name_or_404(name))
    if source is None:
        raise Http404("No such action.")
    context = _tab("actions", name=name, source=source)
    return render(request, "jails/config/action_detail.html", context)
