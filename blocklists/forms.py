"""Forms of the blocklists page: a source, and the URL to preview."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import format_html

from bangui.fail2ban.validation import clean_seconds
from blocklists.listurl import FetchError, clean_url
from blocklists.models import BlocklistSource

WEEKDAYS = [
    (0, "Monday"), (1, "Tuesday"), (2, "Wednesday"), (3, "Thursday"),
    (4, "Friday"), (5, "Saturday"), (6, "Sunday"),
]  # fmt: skip
MIN_BANTIME = 600
# Letters and digits of any script (\w), spaces and . _ - ( ): the message's promise.
_NAME_RE = re.compile(r"[\w .()-]{1,100}")


def _url(value: str) -> str:
    try:
        return clean_url(value)
    except FetchError as exc:
        raise ValidationError(str(exc), code="url") from None


class SourceForm(forms.ModelForm):
    url = forms.CharField(
        label="URL",
        max_length=2000,
        widget=forms.URLInput(attrs={"placeholder": "https://lists.blocklist.de/lists/ssh.txt"}),
        help_text="A plain-text list, one address or network per line (# and ; comments).",
        error_messages={
            "required": "Enter the URL of the list, starting with https:// or http://."
        },
    )
    weekday = forms.TypedChoiceField(choices=WEEKDAYS, coerce=int, initial=0, label="Day (weekly)")
    bantime_text = forms.CharField(
        label="Ban time",
        required=False,
        max_length=32,
        help_text="Empty: the blocklist-import jail's 24 h. Otherwise like 12h, 7d or 1w "
        "(a separate jail is used per ban time).",
    )

    class Meta:
        model = BlocklistSource
        fields = ["name", "url", "enabled", "schedule", "run_at", "weekday"]
        labels = {"run_at": "At (local time)", "enabled": "Import on schedule"}
        widgets = {"run_at": forms.TimeInput(attrs={"type": "time"}, format="%H:%M")}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk and self.instance.bantime and not self.is_bound:
            self.initial["bantime_text"] = str(self.instance.bantime)
        self.fields["name"].widget.attrs["placeholder"] = "blocklist.de ssh"

    def clean_name(self) -> str:
        # Runs of blanks (newlines too) become one space; then exactly what the message says.
        name = " ".join(str(self.cleaned_data["name"]).split())
        if not _NAME_RE.fullmatch(name):
            raise ValidationError("Use letters, digits, spaces and . _ - ( ) only.")
        return name

    def clean_url(self) -> str:
        url = _url(self.cleaned_data["url"])
        same = BlocklistSource.objects.filter(url=url).exclude(pk=self.instance.pk).first()
        if same is not None:
            # Named, with a link: Django's own "Blocklist source with this Url already exists."
            # says neither which one nor where.
            raise ValidationError(
                format_html(
                    'This URL is already the source <a href="{}">{}</a>; change that one '
                    "instead, or use another URL.",
                    reverse("blocklist_edit", args=[same.pk]),
                    same.name,
                ),
                code="unique",
            )
        return url

    def clean_bantime_text(self) -> int | None:
        text = str(self.cleaned_data.get("bantime_text") or "").strip()
        if not text:
            return None
        seconds = int(clean_seconds(text))
        if seconds != -1 and seconds < MIN_BANTIME:
            raise ValidationError("A blocklist ban lasts at least 10 minutes (600 s), or -1.")
        if seconds == -1:
            raise ValidationError(
                "Permanent bans are not offered: an address dropped from the list would "
                "stay banned forever. Use a long ban time such as 4w."
            )
        return seconds

    def save(self, commit: bool = True) -> BlocklistSource:
        source: BlocklistSource = super().save(commit=False)
        source.bantime = self.cleaned_data.get("bantime_text")
        if commit:
            source.save()
        return source


class PreviewForm(forms.Form):
    url = forms.CharField(max_length=2000)

    def clean_url(self) -> str:
        return _url(self.cleaned_data["url"])
