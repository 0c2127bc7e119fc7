"""The audit log's filter form (GET)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from bangui.web import ALL
from jails.models import AuditEvent

RESULT_CHOICES = [(ALL, "Any result"), ("ok", "OK"), ("failed", "Failed")]
Q_MAX = 200
USER_MAX = 150


class AuditFilterForm(forms.Form):
    """Filters of the audit log; every field is optional and empty means "any"."""

    action = forms.ChoiceField(
        label="Action",
        required=False,
        choices=[(ALL, "All actions"), *AuditEvent.Action.choices],
        error_messages={"invalid_choice": "“%(value)s” is not an action BanGUI records."},
    )
    user = forms.CharField(
        label="User",
        required=False,
        max_length=USER_MAX,
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": "any user", "autocomplete": "off"}
        ),
        error_messages={"max_length": f"A user name has at most {USER_MAX} characters."},
    )
    result = forms.ChoiceField(
        label="Result",
        required=False,
        choices=RESULT_CHOICES,
        error_messages={"invalid_choice": "Choose OK, Failed or any result."},
    )
    q = forms.CharField(
        label="Search",
        required=False,
        max_length=Q_MAX,
        widget=forms.TextInput(
            attrs={
                "type": "search",
                "placeholder": "target, IP, message…",
                "autocomplete": "off",
                "spellcheck": "false",
            }
        ),
        error_messages={"max_length": f"The search text is too long (at most {Q_MAX} characters)."},
    )
    since = forms.DateField(
        label="From",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        input_formats=["%Y-%m-%d"],
        error_messages={"invalid": "Enter the start date as YYYY-MM-DD."},
    )
    until = forms.DateField(
        label="To",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        input_formats=["%Y-%m-%d"],
        error_messages={"invalid": "Enter the end date as YYYY-MM-DD."},
    )

    def clean_action(self) -> str | None:
        value: str = self.cleaned_data["action"]
        return None if value in ("", ALL) else value

    def clean_user(self) -> str | None:
        return self.cleaned_data["user"].strip() or None

    def clean_result(self) -> bool | None:
        value: str = self.cleaned_data["result"]
        return {"ok": True, "failed": False}.get(value)

    def clean_q(self) -> str | None:
        return self.cleaned_data["q"].strip() or None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        since: date | None = data.get("since")
        until: date | None = data.get("until")
        if since and until and since > until:
            self.add_error("until", ValidationError("The end date is before the start date."))
        return data

    def filters(self) -> dict[str, Any]:
        """Keyword arguments for ``audit_event_list`` from the fields that are valid.

        Call after ``is_valid()``; a field with an error is left out (the page says so).
        """
        data = self.cleaned_data
        return {
            "action": data.get("action"),
            "username": data.get("user"),
            "ok": data.get("result"),
            "q": data.get("q"),
            "since": data.get("since"),
            "until": data.get("until"),
        }

    @property
    def active(self) -> bool:
        """Whether any valid filter narrows the list."""
        return any(v is not None for v in self.filters().values())
