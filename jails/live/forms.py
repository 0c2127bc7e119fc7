"""Forms of the jails area: bans, unbans, ignore-list entries, filters."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from bangui.fail2ban.db import Keyset
from bangui.fail2ban.validation import clean_jail, clean_network
from jails.live.iplist import ParsedList, parse_ip_list


class BanForm(forms.Form):
    ips = forms.CharField(
        label="IP addresses",
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false", "autocomplete": "off"}),
        help_text="One or many: IPv4 or IPv6, separated by lines, blanks or commas. "
        "Networks in CIDR form (203.0.113.0/24) where the jail's actions can block them.",
        max_length=1_000_000,
    )
    jail = forms.ChoiceField(label="Jail")
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, jails: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        jail_field = self.fields["jail"]
        assert isinstance(jail_field, forms.ChoiceField)
        jail_field.choices = [(j, j) for j in jails]
        self.parsed: ParsedList | None = None

    def clean_ips(self) -> str:
        text: str = self.cleaned_data["ips"]
        if "\x00" in text:
            raise ValidationError("The list contains a NUL byte.")
        self.parsed = parse_ip_list(text)
        if not self.parsed.valid:
            if len(self.parsed.invalid) == 1:
                raise ValidationError(self.parsed.invalid[0][1])
            raise ValidationError("None of the entries can be banned; the list below says why.")
        return text

    def clean_jail(self) -> str:
        return clean_jail(self.cleaned_data["jail"])


class EntryForm(forms.Form):
    """One IP address or network (unban, ignore list)."""

    entry = forms.CharField(max_length=64)

    def clean_entry(self) -> str:
        return clean_network(self.cleaned_data["entry"])


class IgnoreAddForm(forms.Form):
    entries = forms.CharField(
        label="Add to the ignore list",
        max_length=10_000,
        help_text="IP addresses or networks, separated by blanks or commas. Host names are "
        "not accepted: they make fail2ban look up DNS for every failure and can be spoofed.",
    )

    def clean_entries(self) -> list[str]:
        parsed = parse_ip_list(self.cleaned_data["entries"])
        if parsed.invalid:
            bad = "; ".join(f"{e}: {why}" for e, why in parsed.invalid[:5])
            raise ValidationError(f"Nothing was added. {bad}")
        return parsed.valid


class JailFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=64)
    sort = forms.ChoiceField(
        required=False,
        choices=[
            (k, k)
            for k in (
                "name",
                "-name",
                "banned",
                "-banned",
                "failed",
                "-failed",
                "total_banned",
                "-total_banned",
                "total_failed",
                "-total_failed",
            )
        ],
    )


class BanSearchForm(forms.Form):
    q = forms.CharField(required=False, max_length=64)
    page = forms.IntegerField(required=False, min_value=1)
    # Where the linked page starts (``bangui.fail2ban.db.Keyset``); a stale or
    # garbled one is dropped, not an error: the page then starts at ``page``.
    before = forms.CharField(required=False, max_length=64)
    after = forms.CharField(required=False, max_length=64)

    def clean_before(self) -> str:
        return _keyset(self.cleaned_data["before"])

    def clean_after(self) -> str:
        return _keyset(self.cleaned_data["after"])


def _keyset(text: str) -> str:
    return text if Keyset.parse(text) is not None else ""
