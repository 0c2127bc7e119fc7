"""The Alerts page's forms: a channel, a rule."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django import forms
from django.core.validators import validate_email

from alerts.models import Channel, Rule
from bangui.fail2ban.validation import clean_jail


class ChannelForm(forms.ModelForm):
    """Name, kind, where to; the secret is written here once and never shown again."""

    secret = forms.CharField(
        required=False,
        max_length=2000,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        label="Secret",
        help_text=(
            "Webhook: the key that signs each body (X-BanGUI-Signature). Apprise: the whole "
            "URL, e.g. ntfy://ntfy.example.org/topic. Never shown again; leave empty to keep it."
        ),
    )

    class Meta:
        model = Channel
        fields = ["name", "kind", "target", "enabled"]
        labels = {"target": "Send to"}
        help_texts = {
            "target": "Email: addresses, separated by commas. Webhook: its http(s) URL. "
            "Apprise: leave empty (the URL goes in Secret)."
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind, target = data.get("kind"), (data.get("target") or "").strip()
        has_secret = bool(data.get("secret")) or bool(self.instance.pk and self.instance.secret)
        if kind == Channel.Kind.EMAIL:
            addresses = [a.strip() for a in target.split(",") if a.strip()]
            if not addresses:
                self.add_error("target", "Give at least one email address.")
            for address in addresses:
                try:
                    validate_email(address)
                except forms.ValidationError:
                    self.add_error("target", f"“{address[:80]}” is not an email address.")
            data["target"] = ", ".join(addresses)
        elif kind == Channel.Kind.WEBHOOK:
            parts = urlsplit(target)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                self.add_error("target", "Give the webhook's http:// or https:// URL.")
        elif kind == Channel.Kind.APPRISE:
            secret = data.get("secret") or ""
            if not has_secret:
                self.add_error("secret", "Put the apprise URL here, e.g. ntfy://host/topic.")
            elif secret and "://" not in secret:
                self.add_error(
                    "secret", "An apprise URL looks like scheme://…, e.g. ntfy://host/topic."
                )
        return data


class RuleForm(forms.ModelForm):
    """An event with its numbers and filters, the channels, and the quiet period."""

    class Meta:
        model = Rule
        fields = [
            "name",
            "event",
            "threshold",
            "window_minutes",
            "scope",
            "jail",
            "origin",
            "country",
            "channels",
            "quiet_minutes",
            "enabled",
        ]
        labels = {
            "threshold": "Threshold",
            "window_minutes": "Window (minutes)",
            "scope": "Count",
            "quiet_minutes": "Quiet period (minutes)",
            "jail": "Only jail",
            "origin": "Only origin",
            "country": "Only country",
        }
        help_texts = {
            "threshold": "Unreachable and history sync: seconds before alerting. "
            "GeoIP and repeat offenders: days. Ban spike: more than this many bans…",
            "window_minutes": "…within this many minutes (ban spike only).",
            "quiet_minutes": "After a message, what happens is gathered into one digest "
            "sent when this period is over.",
            "country": "Two letters, e.g. CN (ban spike only).",
        }
        widgets = {"channels": forms.CheckboxSelectMultiple}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        origin = self.fields["origin"]
        assert isinstance(origin, forms.CharField)
        self.fields["origin"] = forms.ChoiceField(
            label=origin.label,
            required=False,
            choices=[
                ("", "Any"),
                ("detected", "Detected"),
                ("manual", "Manual"),
                ("blocklist", "Blocklist"),
            ],
        )

    def clean_jail(self) -> str:
        jail: str = self.cleaned_data.get("jail") or ""
        return clean_jail(jail) if jail else ""

    def clean_country(self) -> str:
        country: str = (self.cleaned_data.get("country") or "").strip().upper()
        if country and not (len(country) == 2 and country.isalpha() and country.isascii()):
            raise forms.ValidationError("Two letters, such as CN or DE.")
        return country

    def clean_window_minutes(self) -> int:
        minutes: int = self.cleaned_data["window_minutes"]
        if minutes < 1:
            raise forms.ValidationError("At least one minute.")
        return minutes
