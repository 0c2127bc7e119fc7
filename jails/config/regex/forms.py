"""The regex tester's form: what to test (regexes or a filter file) and on which lines."""

from __future__ import annotations

import json
import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from bangui.fail2ban.regextest import allowed_log_path

MAX_LINES = 5000
MAX_PASTE_BYTES = 1024 * 1024
# In a filter file a blank followed by ";" starts a comment, so fail2ban would
# never see the rest of such a regex; the tester writes the regexes to a file.
_INLINE_COMMENT_RE = re.compile(r"\s;")


def regex_lines(text: str) -> list[str]:
    """The non-blank lines of a regex textarea, one regex each."""
    return [ln.strip() for ln in text.splitlines() if ln.strip()]


def _check_regexes(text: str, what: str) -> None:
    if "\x00" in text:
        raise ValidationError(f"The {what} contains a NUL byte.")
    for line in regex_lines(text):
        if _INLINE_COMMENT_RE.search(line):
            raise ValidationError(
                f"“{line[:80]}”: a blank before “;” starts a comment in fail2ban's files; "
                "write [ ]; or \\s; instead."
            )


class RegexTestForm(forms.Form):
    filter = forms.ChoiceField(
        label="…or a whole filter",
        required=False,
        help_text="A filter from filter.d, read with its .local and includes.",
    )
    failregex = forms.CharField(
        label="failregex",
        required=False,
        max_length=20_000,
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false", "autocomplete": "off"}),
        help_text="One regex a line; each needs <HOST> (or another failure-id group).",
    )
    ignoreregex = forms.CharField(
        label="ignoreregex",
        required=False,
        max_length=20_000,
        widget=forms.Textarea(attrs={"rows": 2, "spellcheck": "false", "autocomplete": "off"}),
        help_text="Optional, one a line: lines that match are never counted as failures.",
    )
    datepattern = forms.CharField(
        label="Date pattern",
        required=False,
        max_length=200,
        help_text="Optional, e.g. %Y-%m-%d %H:%M:%S; by default fail2ban detects the date.",
    )
    source = forms.ChoiceField(
        label="Lines to test",
        choices=[("paste", "Pasted lines"), ("file", "The end of a log file")],
        initial="paste",
        widget=forms.RadioSelect,
    )
    lines = forms.CharField(
        label="Log lines",
        required=False,
        strip=False,
        max_length=MAX_PASTE_BYTES,
        widget=forms.Textarea(attrs={"rows": 10, "spellcheck": "false", "wrap": "off"}),
        help_text=f"Up to {MAX_LINES} lines (1 MB).",
    )
    log_path = forms.CharField(label="Log file", required=False, max_length=4096)
    tail = forms.IntegerField(
        label="Last lines", min_value=1, max_value=MAX_LINES, initial=500, required=False
    )

    def __init__(
        self,
        *args: Any,
        filters: list[str],
        allow: list[str],
        logs: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["filter"]
        assert isinstance(field, forms.ChoiceField)
        # Choosing a filter fills in the log file of a jail that uses it (bangui.js).
        field.widget.attrs["data-logpaths"] = json.dumps(logs or {})
        # The path the page filled in itself: a change of filter may replace it.
        chosen = self["filter"].value()
        field.widget.attrs["data-filled"] = (logs or {}).get(str(chosen or ""), "")
        field.choices = [("", "— none: use the regexes typed below —")] + [
            (f, f.rpartition(".")[0]) for f in filters
        ]
        self.allow = allow
        self.fields["log_path"].help_text = (
            "Only files under " + ", ".join(allow) + " (links are followed, then checked)."
        )

    def clean_failregex(self) -> str:
        text: str = self.cleaned_data["failregex"]
        _check_regexes(text, "failregex")
        return text

    def clean_ignoreregex(self) -> str:
        text: str = self.cleaned_data["ignoreregex"]
        _check_regexes(text, "ignoreregex")
        return text

    def clean_datepattern(self) -> str:
        text: str = self.cleaned_data["datepattern"]
        if "\x00" in text or "\n" in text or "\r" in text:
            raise ValidationError("The date pattern must be one line.")
        return text

    def clean_lines(self) -> str:
        text: str = self.cleaned_data["lines"]
        if "\x00" in text:
            raise ValidationError("The lines contain a NUL byte.")
        if len(text.encode("utf-8")) > MAX_PASTE_BYTES:
            raise ValidationError("At most 1 MB of lines can be tested at once.")
        if len(text.splitlines()) > MAX_LINES:
            raise ValidationError(f"At most {MAX_LINES} lines can be tested at once.")
        return text

    def clean(self) -> dict[str, object] | None:
        data = super().clean() or {}
        typed = regex_lines(data.get("failregex") or "")
        if data.get("filter") and typed:
            self.add_error("failregex", "Choose a filter or type a failregex, not both.")
        elif not data.get("filter") and not typed and "failregex" not in self.errors:
            self.add_error("failregex", "Type a failregex or choose a filter.")
        if data.get("source") == "file":
            self._clean_log_path(data)
        elif not (data.get("lines") or "").strip() and "lines" not in self.errors:
            self.add_error("lines", "Paste the log lines to test.")
        return data

    def _clean_log_path(self, data: dict[str, object]) -> None:
        path = str(data.get("log_path") or "").strip()
        if not path:
            self.add_error("log_path", "Give the path of a log file.")
            return
        try:
            data["log_file"] = allowed_log_path(path, self.allow)
        except ValueError as exc:
            self.add_error("log_path", str(exc))
            return
        if not data.get("tail"):
            data["tail"] = 500
