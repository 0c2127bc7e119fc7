"""The dashboard's controls (GET): range preset, origin, jail, sort and page.

A value that is not valid falls back to its default: the dashboard always
answers with something useful, a shared URL with a stale jail included.
"""

from __future__ import annotations

from typing import Any, cast

from django import forms

from bangui.web import ALL
from jails.dashboard.selectors import DEFAULT_RANGE
from jails.history.ranges import RANGES
from jails.history.selectors import DEFAULT_SORT, SORTS
from jails.models import BanRecord


class DashboardForm(forms.Form):
    range = forms.ChoiceField(
        label="Range",
        required=False,
        choices=[(key, key) for key in RANGES],
        widget=forms.RadioSelect,
    )
    origin = forms.ChoiceField(
        label="Origin",
        required=False,
        choices=[(ALL, "All origins"), *BanRecord.Origin.choices],
    )
    jail = forms.ChoiceField(label="Jail", required=False)
    sort = forms.ChoiceField(
        required=False, choices=[(k, k) for k in SORTS], widget=forms.HiddenInput
    )
    scale = forms.ChoiceField(
        label="Trend scale",
        required=False,
        choices=[("linear", "Linear"), ("log", "Log scale")],
        widget=forms.RadioSelect,
    )

    @property
    def jail_field(self) -> forms.ChoiceField:
        return cast(forms.ChoiceField, self.fields["jail"])

    def __init__(self, *args: Any, jails: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.jails = jails
        self.jail_field.choices = [(ALL, "All jails"), *((j, j) for j in jails)]

    def _value(self, name: str, default: str) -> str:
        self.is_valid()
        value = self.cleaned_data.get(name) if hasattr(self, "cleaned_data") else None
        return str(value) if value else default

    @property
    def range_key(self) -> str:
        return self._value("range", DEFAULT_RANGE)

    @property
    def origin_filter(self) -> str | None:
        value = self._value("origin", ALL)
        return None if value == ALL else value

    @property
    def jail_filter(self) -> str | None:
        value = self._value("jail", ALL)
        return None if value == ALL else value

    @property
    def sort_order(self) -> str:
        return self._value("sort", DEFAULT_SORT)

    @property
    def log_scale(self) -> bool:
        return self._value("scale", "linear") == "log"

    def normalized(self) -> DashboardForm:
        """An unbound copy showing the values in effect (bad ones replaced by defaults)."""
        return DashboardForm(
            initial={
                "range": self.range_key,
                "origin": self.origin_filter or ALL,
                "jail": self.jail_filter or ALL,
                "sort": self.sort_order,
                "scale": "log" if self.log_scale else "linear",
            },
            jails=self.jails,
        )
