"""Configuration → Regex tester: fail2ban-regex on pasted lines or the end of a log file.

Nothing is written to fail2ban's config: typed regexes go to a filter file in
a private temp dir, so they are read exactly as a filter file in filter.d
would be (``%`` escaping, continuation lines), and the dir is removed after.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods
from django.views.decorators.vary import vary_on_headers

from bangui.fail2ban import Fail2banError, configfiles, host, regextest
from bangui.fail2ban.configreader import configured_jails
from bangui.fail2ban.configured import config_dir, get_client
from bangui.fail2ban.regextest import RegexResult, regex_test
from bangui.web import is_partial
from jails.config.regex.forms import RegexTestForm, regex_lines
from jails.config.services import config_root

# Shown at most per list: enough to judge a regex, small enough for the browser.
SHOWN_LINES = 2000


@dataclass(frozen=True)
class MarkedLine:
    """A matched line cut around its host, so the template can <mark> it with escaping."""

    before: str
    host: str
    after: str


def _timeout() -> float:
    return float(getattr(settings, "BANGUI_REGEX_TIMEOUT", 15))


def log_allowlist() -> list[str]:
    """/var/log, the directories of the jails' log paths, and fail2ban's own log dir."""
    return regextest.log_allowlist(get_client(), config_dir())


def _filters() -> list[str]:
    try:
        infos = configfiles.list_files(config_root(), "filter.d")
    except OSError:
        return []
    return [i.name for i in infos if not i.is_local]


def _filter_logs() -> dict[str, str]:
    """For each filter file ("sshd.conf"), the first log file of a jail that uses it."""
    try:
        jails = configured_jails(config_dir())
    except Fail2banError:
        return {}
    found: dict[str, str] = {}
    for jail in sorted(jails, key=lambda j: (not j.enabled, j.name)):
        name = jail.filter.split("[", 1)[0].strip()
        first = next((line.strip() for line in jail.logpath.splitlines() if line.strip()), "")
        if name and first and not first.startswith("%") and f"{name}.conf" not in found:
            found[f"{name}.conf"] = first.split()[0]
    return found


def _filter_file(folder: Path, failregex: str, ignoreregex: str) -> Path:
    """A one-off filter file holding the typed regexes (% doubled: fail2ban interpolates)."""

    def block(key: str, text: str) -> str:
        lines = [ln.replace("%", "%%") for ln in regex_lines(text)]
        return f"{key} = " + "\n    ".join(lines) + "\n"

    (folder / "filter.d").mkdir()
    path = folder / "filter.d" / "bangui-test.conf"
    body = "[Definition]\n" + block("failregex", failregex) + block("ignoreregex", ignoreregex)
    path.write_text(body, encoding="utf-8")
    return path


def _source_lines(data: dict[str, Any]) -> str:
    if data["source"] == "file":
        try:
            return host.log_lines(
                get_client(), path=str(data["log_file"]), allow=log_allowlist(),
                count=int(data["tail"]),
            )  # fmt: skip
        except ValidationError as exc:  # the broker's own list of log directories
            raise _FieldError("log_path", exc.messages[0]) from None
        except ValueError as exc:
            raise _FieldError("log_path", str(exc)) from None
        except OSError as exc:
            why = exc.strerror or exc
            raise _FieldError("log_path", f"The log file cannot be read: {why}") from None
    return str(data["lines"])


class _FieldError(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def run_test(data: dict[str, Any]) -> RegexResult:
    """Run fail2ban-regex for a cleaned form; _FieldError names the field to blame."""
    lines = _source_lines(data)
    ignores = regex_lines(data.get("ignoreregex") or "")
    with tempfile.TemporaryDirectory(prefix="bangui-filter-") as tmp:
        ignore: str | None = None
        if data.get("filter"):
            path = configfiles.resolve(config_root(), "filter.d", data["filter"], must_exist=True)
            if len(ignores) > 1:
                raise _FieldError("ignoreregex", "With a filter, give at most one ignoreregex.")
            ignore = ignores[0] if ignores else None
        else:
            path = _filter_file(Path(tmp), data["failregex"], data.get("ignoreregex") or "")
        return regex_test(
            lines=lines,
            filter_path=path,
            ignoreregex=ignore,
            datepattern=data.get("datepattern") or None,
            timeout=_timeout(),
        )


def mark(result: RegexResult) -> list[MarkedLine]:
    marked = []
    for m in result.matched[:SHOWN_LINES]:
        at = m.line.find(m.host) if m.host else -1
        if at < 0:
            marked.append(MarkedLine(m.line, "", ""))
        else:
            end = at + len(m.host)
            marked.append(MarkedLine(m.line[:at], m.host, m.line[end:]))
    return marked


@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def regex_tester(request: HttpRequest) -> HttpResponse:
    allow = log_allowlist()
    logs = _filter_logs()
    if request.method == "GET":
        # ?filter=sshd.conf (from a filter's page): that filter, and its jail's log file.
        chosen = request.GET.get("filter", "")
        initial = (
            {"filter": chosen, "log_path": logs[chosen], "source": "file"} if chosen in logs else {}
        )
        form = RegexTestForm(filters=_filters(), allow=allow, initial=initial, logs=logs)
        context: dict[str, object] = {"nav": "config", "tab": "regex", "form": form}
        return render(request, "jails/config/regex.html", context)
    form = RegexTestForm(request.POST, filters=_filters(), allow=allow, logs=logs)
    context = {"nav": "config", "tab": "regex", "form": form}
    if form.is_valid():
        field = "failregex"
        try:
            result = run_test(form.cleaned_data)
        except _FieldError as exc:
            result, field = RegexResult(False, str(exc)), exc.field
        except (configfiles.ConfigFileError, ValueError, FileNotFoundError) as exc:
            result = RegexResult(False, str(exc))
        if result.ok:
            context.update(result=result, marked=mark(result), shown=SHOWN_LINES)
        else:
            form.add_error(field, result.error)
    template = "jails/config/regex_body.html" if is_partial(request) else "jails/config/regex.html"
    return render(request, template, context)
