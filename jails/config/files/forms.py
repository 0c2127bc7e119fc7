"""Forms and rules of the raw config file editor (jail.d/, filter.d/, action.d/).

A distribution ``.conf`` is never edited in place: an upgrade of the fail2ban
package would overwrite the edit, or stop upgrading the file. Those are
view-only, with an override (``.local``) offered instead. Files BanGUI
created itself carry ``CREATED_HEADER`` as their first line and stay editable.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from bangui.fail2ban.configfiles import MAX_FILE_BYTES, ConfigFileError, clean_name
from bangui.fail2ban.policy import WRITABLE_DIRS

CREATED_HEADER = "# Created by BanGUI"
# How BanGUI's own jail files begin (jail.d/manual.conf, jail.d/blocklist-import.conf).
OWN_JAIL_HEADER = b"# BanGUI's jail"
_SHA_RE = re.compile(r"[0-9a-f]{64}")
_SECTION_RE = re.compile(rb"^\[[^\]\r\n]+\][ \t]*$", re.M)


def digest(data: bytes | None) -> str:
    """SHA-256 of a file's bytes; "" for a file that does not exist."""
    return "" if data is None else hashlib.sha256(data).hexdigest()


def is_editable(subdir: str, name: str, data: bytes | None) -> bool:
    """A .local, a new file, or a .conf that BanGUI created; never an action file
    (actions are commands run as root: they are edited on the server)."""
    if subdir not in WRITABLE_DIRS and subdir != "":
        return False
    if name.endswith(".local") or data is None:
        return True
    return data.startswith(CREATED_HEADER.encode())


def as_text(data: bytes) -> str | None:
    """The file as text for the textarea; None when it is not UTF-8 (not editable safely)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def override_skeleton(conf: bytes) -> str:
    """The section headers of a .conf and no keys: the start of its .local override."""
    found = (m.group(0).decode("utf-8", "replace") for m in _SECTION_RE.finditer(conf))
    sections = dict.fromkeys(found)  # in file order, once each
    sections.pop("[INCLUDES]", None)  # the .conf's includes are read already
    return "".join(f"{s}\n\n" for s in sections) or "[Definition]\n\n"


class FileContentForm(forms.Form):
    """The text of one file, and the hash of the bytes it was opened with."""

    content = forms.CharField(
        label="Content",
        required=False,
        strip=False,  # leading blanks are continuation lines in fail2ban's INI
        widget=forms.Textarea(
            attrs={"rows": 28, "spellcheck": "false", "autocomplete": "off", "wrap": "off"}
        ),
    )
    # The SHA-256 of the file as the page showed it; "" for a new file. Hidden, so a bad
    # value (a damaged or forged page) is reported as the form's own error.
    opened_sha = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, name: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.file_name = name

    def clean_opened_sha(self) -> str:
        value: str = self.cleaned_data["opened_sha"]
        if value and not _SHA_RE.fullmatch(value):
            raise ValidationError("")  # said in clean(), where a person can see it
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if "opened_sha" in self.errors:
            del self.errors["opened_sha"]
            self.add_error(
                None,
                "This page's copy of the file is damaged (its checksum is not one); "
                "open the file again and make the change there.",
            )
        return data

    def clean_content(self) -> bytes:
        text: str = self.cleaned_data["content"]
        if "\x00" in text:
            raise ValidationError("The text contains a NUL byte; config files are plain text.")
        if "\ufffd" in text:
            raise ValidationError(
                "The text contains invalid UTF-8 (shown as “\ufffd”); fix or remove it."
            )
        # Browsers send textarea lines with CR LF; fail2ban's files use LF.
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        if text and not text.endswith("\n"):
            text += "\n"
        if self.file_name.endswith(".conf") and not text.startswith(CREATED_HEADER):
            # Keeps a BanGUI-made .conf recognisable as editable next time.
            text = f"{CREATED_HEADER}\n{text}"
        data = text.encode("utf-8")
        if len(data) > MAX_FILE_BYTES:
            raise ValidationError(
                f"The text is {len(data) // 1024} KB; a config file may have at most "
                f"{MAX_FILE_BYTES // 1024} KB."
            )
        return data


class NewFileForm(FileContentForm):
    """A file that does not exist yet: its directory and name, then its content."""

    subdir = forms.ChoiceField(label="Directory", choices=[(d, f"{d}/") for d in WRITABLE_DIRS])
    name = forms.CharField(
        label="File name",
        max_length=200,
        help_text="Letters, digits, “.”, “_” or “-”, ending in .local (an override) or "
        ".conf (a new file of BanGUI's).",
    )
    # Fields are cleaned in this order: the name decides the .conf header of the content.
    field_order = ["subdir", "name", "content", "opened_sha"]

    def clean_name(self) -> str:
        try:
            name = clean_name(self.cleaned_data["name"].strip())
        except ConfigFileError as exc:
            raise ValidationError(str(exc)) from None
        self.file_name = name
        return name
