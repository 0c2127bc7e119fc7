"""Forms of the setup and login pages."""

from __future__ import annotations

import zoneinfo
from pathlib import Path
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.validators import UnicodeUsernameValidator

from bangui.broker.client import BrokerClient
from bangui.fail2ban import Fail2banClient, Fail2banError

_TIMEZONES = sorted(zoneinfo.available_timezones())


class SetupForm(forms.Form):
    token = forms.CharField(widget=forms.HiddenInput, max_length=200)
    username = forms.CharField(
        label="Admin user name",
        max_length=150,
        initial="admin",
        validators=[UnicodeUsernameValidator()],
        help_text="Letters, digits and @ . + - _ only.",
    )
    password = forms.CharField(
        label="Admin password", widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )
    password_confirm = forms.CharField(
        label="Confirm password", widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )
    fail2ban_socket = forms.CharField(
        label="fail2ban socket",
        max_length=107,
        help_text="The Unix socket fail2ban-server listens on.",
    )
    fail2ban_config_dir = forms.CharField(
        label="fail2ban config directory", max_length=255, help_text="Holds jail.conf and jail.d/."
    )
    timezone = forms.ChoiceField(
        label="Timezone", choices=[(tz, tz) for tz in _TIMEZONES], initial="UTC"
    )
    session_minutes = forms.IntegerField(
        label="Session length (minutes)", min_value=5, max_value=43200, initial=480
    )
    skip_fail2ban_check = forms.BooleanField(
        label="Save even if fail2ban does not answer now", required=False
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if settings.BANGUI_BROKER_SOCKET:
            # The broker holds fail2ban's socket; this field only documents where it is.
            field = self.fields["fail2ban_socket"]
            field.label = "fail2ban socket (held by BanGUI's root broker)"
            field.help_text = (
                "BanGUI runs unprivileged and reaches fail2ban through its root broker at "
                f"{settings.BANGUI_BROKER_SOCKET}, which uses its own --fail2ban-socket."
            )

    def clean_password(self) -> str:
        password: str = self.cleaned_data["password"]
        validate_password(password)
        return password

    def clean_fail2ban_config_dir(self) -> str:
        path = Path(self.cleaned_data["fail2ban_config_dir"].strip())
        if "\x00" in str(path) or not path.is_absolute():
            raise forms.ValidationError("Give an absolute path, such as /etc/fail2ban.")
        if not path.is_dir():
            raise forms.ValidationError(f"{path} is not a directory.")
        if not (path / "jail.conf").is_file() and not (path / "fail2ban.conf").is_file():
            raise forms.ValidationError(f"{path} has no jail.conf or fail2ban.conf.")
        return str(path)

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        if data.get("password") and data.get("password") != data.get("password_confirm"):
            self.add_error("password_confirm", "The two passwords differ; type both again.")
        sock = str(data.get("fail2ban_socket") or "").strip()
        if sock and not data.get("skip_fail2ban_check"):
            if "\x00" in sock or not sock.startswith("/"):
                self.add_error("fail2ban_socket", "Give the absolute path of the socket.")
            else:
                try:
                    # With a root broker, fail2ban is reached through it (its own socket).
                    broker = settings.BANGUI_BROKER_SOCKET
                    client = BrokerClient(broker, timeout=3.0) if broker else None
                    (client or Fail2banClient(sock, timeout=3.0)).ping()
                except Fail2banError as exc:
                    self.add_error(
                        "fail2ban_socket",
                        f"fail2ban did not answer: {exc}. Start fail2ban or fix the path, "
                        "or tick “Save even if fail2ban does not answer now”.",
                    )
        data["fail2ban_socket"] = sock
        return data


class LoginForm(forms.Form):
    """Password only while BanGUI has a single user; user name and password otherwise."""

    username = forms.CharField(max_length=150, required=False)
    password = forms.CharField(
        max_length=4096, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )

    def __init__(self, *args: Any, single_user: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.single_user = single_user
        if single_user:
            del self.fields["username"]
        else:
            self.fields["username"].required = True
            self.fields["username"].widget.attrs["autocomplete"] = "username"
        self.fields["password"].widget.attrs["autofocus"] = True


class CodeForm(forms.Form):
    """The second login step: a code from the authenticator app, or a recovery code."""

    code = forms.CharField(
        label="Code",
        max_length=32,
        help_text="The 6 digits your authenticator app shows, or one of your recovery codes.",
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )

    def clean_code(self) -> str:
        return "".join(str(self.cleaned_data["code"]).split())
