"""Forms of the Users page and of a user's own account."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.validators import UnicodeUsernameValidator

from bangui.roles import Role

_ROLE_HELP = (
    "Viewer: sees everything, changes nothing. Operator: also bans, unbans, starts "
    "imports, stops and starts jails. Admin: also configuration, settings and users."
)


class _NewPassword(forms.Form):
    password = forms.CharField(
        label="Password",
        max_length=4096,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password_confirm = forms.CharField(
        label="Password again",
        max_length=4096,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("password") and data.get("password") != data.get("password_confirm"):
            self.add_error("password_confirm", "The two passwords differ; type both again.")
        return data


class UserNewForm(_NewPassword):
    field_order = ["username", "role", "password", "password_confirm"]
    username = forms.CharField(
        label="User name",
        max_length=150,
        validators=[UnicodeUsernameValidator()],
        help_text="Letters, digits and @ . + - _ only.",
    )
    role = forms.ChoiceField(label="Role", choices=Role.choices, help_text=_ROLE_HELP)


class UserEditForm(forms.Form):
    role = forms.ChoiceField(label="Role", choices=Role.choices, help_text=_ROLE_HELP)
    is_active = forms.BooleanField(
        label="Active", required=False, help_text="A deactivated user cannot log in."
    )


class PasswordResetForm(_NewPassword):
    pass


class OwnPasswordForm(_NewPassword):
    field_order = ["old_password", "password", "password_confirm"]
    old_password = forms.CharField(
        label="Current password",
        max_length=4096,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class TotpConfirmForm(forms.Form):
    code = forms.CharField(
        label="Code from the app",
        max_length=12,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

    def clean_code(self) -> str:
        code = "".join(str(self.cleaned_data["code"]).split())
        if not code.isascii() or not code.isdigit():
            raise forms.ValidationError("Enter the 6 digits the app shows.")
        return code
