"""The history page's filter form (GET); the export takes the same fields."""

from __future__ import annotations

import ipaddress
import re
from datetime import datetime
from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from bangui.fail2ban.validation import clean_network
from bangui.web import ALL
from geo.worldmap import country_code
from jails.history.ranges import RANGES
from jails.history.selectors import DEFAULT_SORT, SORTS, IpQuery
from jails.models import BanRecord

PERIOD_CHOICES = [(ALL, "All time"), *((key, spec.label) for key, spec in RANGES.items())]
IP_MAX = 64
_PREFIX_RE = re.compile(r"[0-9a-f.:]+")


def parse_ip_query(text: str) -> IpQuery | None:
    """An address, a CIDR network or the start of an address, as typed in the IP filter."""
    text = text.strip().lower()
    if not text:
        return None
    if "/" in text:
        value = clean_network(text, min_prefix_v4=0, min_prefix_v6=0)
        return IpQuery("network" if "/" in value else "address", value)
    try:
        return IpQuery("address", str(ipaddress.ip_address(text)))
    except ValueError:
        pass
    if not _PREFIX_RE.fullmatch(text):
        raise ValidationError(
            f"“{text[:IP_MAX]}” is not an address, a network such as 203.0.113.0/24 "
            "or the start of an address such as 203.0.113.",
            code="ip",
        )
    return IpQuery("prefix", text)


class HistoryFilterForm(forms.Form):
    """Filters of the ban history; every field is optional and empty means "any"."""

    period = forms.ChoiceField(
        label="Time",
        required=False,
        choices=PERIOD_CHOICES,
        error_messages={
            "invalid_choice": "Choose the last 24 hours, 7, 30 or 365 days, or all time."
        },
    )
    jail = forms.ChoiceField(
        label="Jail",
        required=False,
        error_messages={"invalid_choice": "No ban in the history comes from a jail “%(value)s”."},
    )
    origin = forms.ChoiceField(
        label="Origin",
        required=False,
        choices=[(ALL, "Any origin"), *BanRecord.Origin.choices],
        error_messages={"invalid_choice": "Choose detected, manual, blocklist or any origin."},
    )
    country = forms.CharField(
        label="Country",
        required=False,
        max_length=60,
        widget=forms.TextInput(
            attrs={"placeholder": "DE or Germany", "autocomplete": "off", "spellcheck": "false"}
        ),
        error_messages={"max_length": "A country is a two-letter code or a name, such as DE."},
    )
    ip = forms.CharField(
        label="IP or network",
        required=False,
        max_length=IP_MAX,
        widget=forms.TextInput(
            attrs={
                "type": "search",
                "placeholder": "e.g. 203.0.113.0/24",
                "autocomplete": "off",
                "spellcheck": "false",
            }
        ),
        error_messages={"max_length": f"An IP filter has at most {IP_MAX} characters."},
    )
    sort = forms.ChoiceField(
        required=False,
        choices=[(key, key) for key in SORTS],
        widget=forms.HiddenInput,
        error_messages={"invalid_choice": "The table cannot be sorted by “%(value)s”."},
    )

    @property
    def jail_field(self) -> forms.ChoiceField:
        return cast(forms.ChoiceField, self.fields["jail"])

    def __init__(self, *args: Any, jails: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.jail_field.choices = [(ALL, "All jails"), *((j, j) for j in jails)]

    def clean_period(self) -> datetime | None:
        spec = RANGES.get(self.cleaned_data["period"])
        return None if spec is None else timezone.now() - spec.span

    def clean_jail(self) -> str | None:
        value: str = self.cleaned_data["jail"]
        return None if value in ("", ALL) else value

    def clean_origin(self) -> str | None:
        value: str = self.cleaned_data["origin"]
        return None if value in ("", ALL) else value

    def clean_country(self) -> str | None:
        value: str = self.cleaned_data["country"].strip()
        if not value:
            return None
        code = country_code(value)
        if code is None:
            raise ValidationError(
                f"“{value[:60]}” is not a country BanGUI knows; use its name or its two-letter "
                "code, such as Germany or DE."
            )
        return code

    def clean_ip(self) -> IpQuery | None:
        return parse_ip_query(self.cleaned_data["ip"])

    def clean_sort(self) -> str:
        return self.cleaned_data["sort"] or DEFAULT_SORT

    @property
    def sort_order(self) -> str:
        """The valid sort asked for, or the default."""
        return str(getattr(self, "cleaned_data", {}).get("sort") or DEFAULT_SORT)

    def filters(self) -> dict[str, Any]:
        """Keyword arguments for ``ban_record_list`` from the fields that are valid.

        Call after ``is_valid()``; a field with an error is left out (the page says so).
        """
        data = self.cleaned_data
        return {
            "since": data.get("period"),
            "jail": data.get("jail"),
            "origin": data.get("origin"),
            "country": data.get("country"),
            "ip": data.get("ip"),
            "sort": self.sort_order,
        }

    @property
    def active(self) -> bool:
        """Whether any valid filter narrows the list."""
        return any(v is not None for k, v in self.filters().items() if k != "sort")
