"""Forms of the server-settings and fail2ban-log tabs; every value checked strictly."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.http import QueryDict

from bangui.fail2ban import server_settings as ss
from bangui.fail2ban.logtail import DEFAULT_LINES, LINE_COUNTS


def _checked(cleaner: Callable[[Any], Any], value: Any) -> Any:
    try:
        return cleaner(value)
    except ss.SettingError as exc:
        raise forms.ValidationError(str(exc)) from None


class ServerSettingsForm(forms.Form):
    loglevel = forms.ChoiceField(
        label="Log level",
        choices=[(lv, lv) for lv in ss.LOG_LEVELS],
        help_text="DEBUG is very verbose; use it only while looking for a problem.",
    )
    logtarget = forms.CharField(
        label="Log target",
        required=False,
        max_length=4096,
        help_text="STDOUT, STDERR, SYSLOG, SYSTEMD-JOURNAL, or a file in a log directory; "
        "empty keeps the current target.",
    )
    dbpurgeage = forms.CharField(
        label="Keep bans in fail2ban's database for",
        max_length=16,
        help_text="Seconds (86400) or one number with a unit: s, m, h, d, w (for example 7d).",
    )
    dbmaxmatches = forms.IntegerField(
        label="Log lines kept per ban (dbmaxmatches)",
        min_value=0,
        max_value=ss.MAX_DB_MATCHES,
        help_text=f"0 to {ss.MAX_DB_MATCHES}.",
    )

    def __init__(self, *args: Any, log_dirs: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.log_dirs = log_dirs
        self.fields["logtarget"].help_text = (
            "STDOUT, STDERR, SYSLOG, SYSTEMD-JOURNAL, or a file in "
            f"{' or '.join(log_dirs)}; empty keeps the current target."
        )

    def clean_loglevel(self) -> str:
        return str(_checked(ss.clean_loglevel, self.cleaned_data["loglevel"]))

    def clean_logtarget(self) -> str:
        value = self.cleaned_data["logtarget"].strip()
        if not value:
            return ""
        return str(_checked(lambda v: ss.clean_log_target(v, log_dirs=self.log_dirs), value))

    def clean_dbpurgeage(self) -> str:
        return str(_checked(ss.clean_purge_age, self.cleaned_data["dbpurgeage"]))


class LogViewForm(forms.Form):
    n = forms.TypedChoiceField(
        label="Lines",
        choices=[(n, str(n)) for n in LINE_COUNTS],
        coerce=int,
        required=False,
        empty_value=None,
    )
    q = forms.CharField(
        label="Only lines containing",
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )
    follow = forms.BooleanField(label="Refresh every 5 s", required=False)

    @classmethod
    def from_query(cls, query: QueryDict) -> LogViewForm:
        """Bound to the query, with the default line count selected when none is given."""
        data = query.copy()
        data.setdefault("n", str(DEFAULT_LINES))
        return cls(data)

    def values(self) -> tuple[int, str, bool]:
        """Lines, filter, auto-refresh; defaults for anything invalid (a GET never errors)."""
        if not self.is_valid():
            return DEFAULT_LINES, "", False
        data = self.cleaned_data
        return data["n"] or DEFAULT_LINES, data["q"].strip(), bool(data["follow"])
