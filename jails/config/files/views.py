"""Configuration → Files: list, view, edit and create raw files in jail.d/, filter.d/, action.d/.

Every save goes through ``config_apply`` with a full reload (a raw edit can
touch any jail), so a bad file is tested by fail2ban first and rolled back byte
for byte if the reload or the probe fails.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from bangui.fail2ban import configfiles
from bangui.fail2ban.configfiles import EDITABLE_DIRS, ConfigFileError
from jails.audit.services import actor_from
from jails.config.files.forms import (
    OWN_JAIL_HEADER,
    FileContentForm,
    NewFileForm,
    as_text,
    digest,
    is_editable,
    override_skeleton,
)
from jails.config.services import config_apply, config_root

TEMPLATE_EDIT = "jails/config/file_edit.html"


@dataclass(frozen=True)
class ListedFile:
    info: configfiles.FileInfo
    modified: datetime


def _base(**extra: object) -> dict[str, object]:
    return {"nav": "config", "tab": "files", **extra}


def _read(subdir: str, name: str) -> tuple[Path, bytes | None]:
    """The checked path and its bytes (None if absent); ConfigFileError if refused."""
    path = configfiles.resolve(config_root(), subdir, name)
    if not path.exists() and not path.is_symlink():
        return path, None
    return path, configfiles.read_file(config_root(), subdir, name)


def _refused(request: HttpRequest, subdir: str, name: str, exc: Exception) -> HttpResponse:
    context = _base(subdir=subdir[:40], name=name[:120], error=str(exc))
    return render(request, "jails/config/file_refused.html", context, status=404)


@require_GET
def file_list(request: HttpRequest) -> HttpResponse:
    subdir = request.GET.get("dir", EDITABLE_DIRS[0])
    if subdir not in EDITABLE_DIRS:
        subdir = EDITABLE_DIRS[0]
    error = ""
    try:
        infos = configfiles.list_files(config_root(), subdir)
    except OSError as exc:  # an unreadable directory must not take the page down
        infos, error = [], f"{subdir} cannot be read: {exc.strerror or exc}"
    q = request.GET.get("q", "").strip()[:100]
    files = [
        ListedFile(i, datetime.fromtimestamp(i.mtime, tz=UTC))
        for i in infos
        if q.lower() in i.name.lower()
    ]
    form = NewFileForm(initial={"subdir": subdir})
    context = _base(dirs=EDITABLE_DIRS, subdir=subdir, files=files, error=error, form=form, q=q)
    return render(request, "jails/config/files.html", context)


@require_GET
def file_show(request: HttpRequest, subdir: str, name: str) -> HttpResponse:
    try:
        path, data = _read(subdir, name)
        if data is None:
            raise ConfigFileError(f"{subdir}/{name} does not exist.")
        stat = path.stat()
    except (ConfigFileError, OSError) as exc:
        return _refused(request, subdir, name, exc)
    stem = name.rpartition(".")[0]
    override = f"{stem}.local"
    context = _base(
        subdir=subdir,
        name=name,
        path=path,
        text=data.decode("utf-8", "replace"),
        size=stat.st_size,
        modified=datetime.fromtimestamp(stat.st_mtime, tz=UTC),
        editable=is_editable(subdir, name, data) and as_text(data) is not None,
        action_file=subdir == "action.d",
        utf8=as_text(data) is not None,
        own_jail=data.startswith(OWN_JAIL_HEADER),
        override=override if name.endswith(".conf") else "",
        override_exists=(path.parent / override).is_file(),
    )
    return render(request, "jails/config/file_show.html", context)


@require_http_methods(["GET", "POST"])
def file_edit(request: HttpRequest, subdir: str, name: str) -> HttpResponse:
    try:
        _, data = _read(subdir, name)
        if data is None:
            raise ConfigFileError(f"{subdir}/{name} does not exist.")
        configfiles.resolve(config_root(), subdir, name, for_write=True)
    except ConfigFileError as exc:
        return _refused(request, subdir, name, exc)
    show = reverse("config_file_show", args=[subdir, name])
    text = as_text(data)
    if text is None:
        messages.error(request, f"{name} is not UTF-8 text; BanGUI does not edit it.")
        return redirect(show)
    if subdir == "action.d":
        messages.error(
            request, "Actions run commands as root: they are edited on the server, not in BanGUI."
        )
        return redirect(show)
    if not is_editable(subdir, name, data):
        messages.error(request, f"{name} is a distribution file: create a .local override.")
        return redirect(show)
    if request.method == "GET":
        form = FileContentForm(name=name, initial={"content": text, "opened_sha": digest(data)})
        return render(request, TEMPLATE_EDIT, _base(form=form, subdir=subdir, name=name))
    return _save(request, FileContentForm(request.POST, name=name), subdir, name, new=False)


@require_http_methods(["GET", "POST"])
def file_new(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = NewFileForm(request.POST)
        if not form.is_valid():
            return render(request, TEMPLATE_EDIT, _base(form=form, new=True))
        subdir, name = form.cleaned_data["subdir"], form.cleaned_data["name"]
        return _save(request, form, subdir, name, new=True)
    subdir = request.GET.get("subdir", EDITABLE_DIRS[0])
    name = request.GET.get("name", "")
    initial = {"subdir": subdir, "name": name, "content": "", "opened_sha": ""}
    if subdir in EDITABLE_DIRS and name.endswith(".local"):
        try:
            path, data = _read(subdir, name)
            if data is not None:  # it exists already: edit it instead
                return redirect("config_file_edit", subdir, name)
            conf = path.with_suffix(".conf")
            if conf.is_file() and not conf.is_symlink():
                initial["content"] = override_skeleton(conf.read_bytes())
        except (ConfigFileError, OSError):
            pass  # the form's own validation reports a bad name on save
    form = NewFileForm(initial=initial)
    return render(request, TEMPLATE_EDIT, _base(form=form, new=True, subdir=subdir, name=name))


def _save(
    request: HttpRequest, form: FileContentForm, subdir: str, name: str, *, new: bool
) -> HttpResponse:
    """Check for edits made meanwhile, then validate → write → reload → probe (or roll back)."""
    context = _base(form=form, subdir=subdir, name=name, new=new)
    if not form.is_valid():
        return render(request, TEMPLATE_EDIT, context)
    try:
        configfiles.resolve(config_root(), subdir, name, for_write=True)
        _, current = _read(subdir, name)
    except ConfigFileError as exc:
        form.add_error(None, str(exc))
        return render(request, TEMPLATE_EDIT, context)
    if not is_editable(subdir, name, current):  # e.g. "new" file named like a distribution .conf
        form.add_error(None, f"{name} is a distribution file; save your text as a .local.")
        return render(request, TEMPLATE_EDIT, context)
    if digest(current) != form.cleaned_data["opened_sha"]:
        return _conflict(request, form, context, current)
    data: bytes = form.cleaned_data["content"]
    rel = f"{subdir}/{name}"
    if data == current:
        messages.info(request, f"{rel} is unchanged; nothing was applied.")
        return redirect("config_file_show", subdir, name)
    applied = config_apply(
        actor=actor_from(request),
        what=f"{'create' if new else 'edit'} {rel}",
        changes={rel: data},
        reload_jail=None,  # full reload: a raw edit can affect any jail
    )
    if applied.ok:
        messages.success(request, f"Saved {rel}; fail2ban tested and reloaded it.")
        return redirect("config_file_show", subdir, name)
    context["failure"] = applied.result
    return render(request, TEMPLATE_EDIT, context)


def _conflict(
    request: HttpRequest, form: FileContentForm, context: dict[str, object], current: bytes | None
) -> HttpResponse:
    """Someone changed the file since it was opened: show both, save only on a second click."""
    data: QueryDict = request.POST.copy()
    data["opened_sha"] = digest(current)
    again = type(form)(data, name=getattr(form, "file_name", ""))
    again.is_valid()
    if current is None:
        message = "The file was removed outside BanGUI since you opened it."
    elif context.get("new"):
        message = "A file of this name was created outside BanGUI meanwhile."
    else:
        message = "Edited outside BanGUI since you opened it."
    again.add_error(None, f"{message} Compare it with your text; save again to replace it.")
    context.update(form=again, conflict=True, current=(current or b"").decode("utf-8", "replace"))
    return render(request, TEMPLATE_EDIT, context)
