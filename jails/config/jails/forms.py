"""Forms of the configuration tabs: a jail's settings, a filter, assigning a filter.

Each ``clean_<field>`` returns the exact text written to the ``.local`` file,
so nothing reaches fail2ban that did not pass a strict pattern here first
(fail2ban ``eval()``s time values) and ``inifile.clean_value`` (no newline or
``[section]`` injection).
"""

from __future__ import annotations

import glob
import ipaddress
import os
import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from bangui.fail2ban.inifile import IniError, clean_value
from bangui.fail2ban.validation import clean_count, clean_ip, clean_seconds

BACKENDS = ("auto", "pyinotify", "polling", "systemd", "gamin")
FILTER_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_SINGLE_UNIT_RE = re.compile(r"(\d{1,7})([smhdw])")
_FACTOR_RE = re.compile(r"\d{1,4}(?:\.\d{1,4})?")
_HOSTNAME_RE = re.compile(r"[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.?")
# fail2ban's tags that stand for the address (or a failure id) in a failregex.
_HOST_TAGS = ("<HOST>", "<ADDR>", "<IP4>", "<IP6>", "<DNS>", "<CIDR>", "<SUBNET>", "<F-ID>")
_TAG_RE = re.compile(r"</?F-[A-Za-z0-9_-]+>|<(?:HOST|ADDR|IP4|IP6|DNS|CIDR|SUBNET|SKIPLINES)>")
# Distribution filters refer to other keys of their [Definition] as <name> (sshd: <cmnfailre>).
_KEY_TAG_RE = re.compile(r"<[a-z_][a-z0-9_-]*>")
_INTERP_RE = re.compile(r"%\([^)\n]*\)s")


def ini_value(value: str, *, multiline: bool = False) -> str:
    if multiline:  # browsers send textarea lines as CRLF
        value = value.replace("\r\n", "\n")
    try:
        return clean_value(value, multiline=multiline)
    except IniError as exc:
        raise ValidationError(str(exc)) from None


def clean_time(value: str) -> str:
    """A fail2ban duration: ``-1``, seconds, ``10m``/``1h``/``1d``/``1w``, or ``1d 12h``.

    A single unit is kept as written (``1h``, as fail2ban's own files write it);
    anything else is written as plain seconds. Both pass a strict pattern, so
    what fail2ban later ``eval()``s is never the user's text.
    """
    seconds = clean_seconds(value)
    m = _SINGLE_UNIT_RE.fullmatch(value.strip().lower())
    return f"{int(m.group(1))}{m.group(2)}" if m else seconds


def same_time(a: str, b: str) -> bool:
    try:
        return clean_seconds(a) == clean_seconds(b)
    except ValidationError:
        return a.strip() == b.strip()


def _split(text: str) -> list[str]:
    return text.replace(",", " ").split()


def clean_ignore_entry(entry: str) -> str:
    """An IP address or network, as fail2ban's ignoreip takes it; host names refused.

    ``127.0.0.1/8`` (host bits set) is what fail2ban's own files use, so it is
    accepted as written; a network wider than /8 (IPv4) or /16 (IPv6) is not.
    """
    text = entry.strip()
    if "%" in text:
        raise ValidationError(
            f"“{text[:64]}” has a zone index (the part from %); leave the %… part out."
        )
    try:
        if "/" not in text:
            ipaddress.ip_address(text)  # not one: a host name, or garbage (below)
            return clean_ip(text)  # one: but not 0.0.0.0 or the broadcast address
        iface = ipaddress.ip_interface(text)
    except ValueError:
        if _HOSTNAME_RE.fullmatch(text) and any(c.isalpha() for c in text):
            raise ValidationError(
                f"“{text[:64]}” is a host name: only IP addresses and networks are accepted "
                "(a name would make fail2ban look it up in DNS, and DNS can be spoofed)."
            ) from None
        raise ValidationError(f"“{text[:64]}” is not an IP address or network.") from None
    prefix, limit = iface.network.prefixlen, 8 if iface.version == 4 else 16
    if prefix < limit:
        raise ValidationError(f"{text} is too wide; the widest network accepted is /{limit}.")
    return str(iface.ip) if prefix == iface.network.max_prefixlen else str(iface)


class JailSettingsForm(forms.Form):
    bantime = forms.CharField(
        label="Ban time", max_length=64,
        help_text="Seconds (600), or 10m, 1h, 1d, 1w; -1 bans for ever.",
    )  # fmt: skip
    findtime = forms.CharField(
        label="Find time", max_length=64,
        help_text="Failures within this window count towards max retry.",
    )  # fmt: skip
    maxretry = forms.CharField(label="Max retry", max_length=8, help_text="1 to 1000.")
    increment = forms.BooleanField(label="Increase the ban time for repeat offenders",
                                   required=False)  # fmt: skip
    factor = forms.CharField(label="bantime.factor", required=False, max_length=12,
                             help_text="A number, e.g. 1 or 2.")  # fmt: skip
    maxtime = forms.CharField(label="bantime.maxtime", required=False, max_length=64,
                              help_text="The longest ban, e.g. 1w.")  # fmt: skip
    rndtime = forms.CharField(label="bantime.rndtime", required=False, max_length=64,
                              help_text="Random extra time, e.g. 10m.")  # fmt: skip
    overalljails = forms.BooleanField(label="bantime.overalljails: count bans of all jails",
                                      required=False)  # fmt: skip
    logpath = forms.CharField(
        label="Log files", required=False, max_length=8000,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
        help_text="One absolute path per line; a glob (/var/log/app/*.log) must match a file. "
        "Leave empty for backend systemd.",
    )  # fmt: skip
    backend = forms.ChoiceField(label="Backend", choices=[(b, b) for b in BACKENDS])
    filter = forms.ChoiceField(label="Filter")
    ignoreip = forms.CharField(
        label="Never ban (ignoreip)", required=False, max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
        help_text="IP addresses or networks, one per line or separated by blanks. "
        "No host names.",
    )  # fmt: skip

    def __init__(
        self, *args: Any, filters: list[str], current_filter: str = "", **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["filter"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(f, f) for f in filters]
        if not current_filter:
            # A jail without a filter (BanGUI's own): offer "none" first, so that
            # saving another field does not quietly give it the first filter.
            field.choices = [("", "none: bans come only from BanGUI"), *field.choices]
            field.required = False

    def clean_bantime(self) -> str:
        return clean_time(ini_value(self.cleaned_data["bantime"]))

    def clean_findtime(self) -> str:
        value = clean_time(ini_value(self.cleaned_data["findtime"]))
        if value.startswith("-"):
            raise ValidationError("The find time must be positive.")
        return value

    def clean_maxretry(self) -> str:
        return clean_count(ini_value(self.cleaned_data["maxretry"]), minimum=1, maximum=1000)

    def clean_factor(self) -> str:
        value = ini_value(self.cleaned_data["factor"]).strip()
        if value and not _FACTOR_RE.fullmatch(value):
            raise ValidationError("The factor is a plain number such as 1, 2 or 1.5.")
        return value

    def clean_maxtime(self) -> str:
        value = ini_value(self.cleaned_data["maxtime"]).strip()
        return clean_time(value) if value else ""

    def clean_rndtime(self) -> str:
        value = ini_value(self.cleaned_data["rndtime"]).strip()
        return clean_time(value) if value else ""

    def clean_logpath(self) -> str:
        paths = [p.strip() for p in ini_value(self.cleaned_data["logpath"], multiline=True)
                 .splitlines() if p.strip()]  # fmt: skip
        for path in paths:
            if not path.startswith("/") or any(c.isspace() for c in path):
                raise ValidationError(f"“{path[:80]}” is not an absolute path without blanks.")
            if glob.has_magic(path):
                if not any(os.path.isfile(p) for p in glob.glob(path)):
                    raise ValidationError(f"No file matches “{path[:80]}”.")
            elif path == "/dev/null":
                continue  # watches nothing: BanGUI's own jails, bans come from outside
            elif not os.path.isfile(path):
                raise ValidationError(f"The log file “{path[:80]}” does not exist.")
        return "\n".join(paths)

    def clean_ignoreip(self) -> str:
        entries = _split(ini_value(self.cleaned_data["ignoreip"], multiline=True))
        return " ".join(clean_ignore_entry(e) for e in entries)

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        if data.get("backend") != "systemd" and "logpath" in data and not data["logpath"]:
            self.add_error("logpath", "A jail that reads files needs at least one log file.")
        return data

    def values(self) -> dict[str, str]:
        """The cleaned form as fail2ban keys and their text in the file."""
        d = self.cleaned_data
        values = {
            "bantime": d["bantime"],
            "findtime": d["findtime"],
            "maxretry": d["maxretry"],
            "bantime.increment": "true" if d["increment"] else "false",
            "logpath": d["logpath"],
            "backend": d["backend"],
            "ignoreip": d["ignoreip"],
            "bantime.overalljails": "true" if d["overalljails"] else "false",
        }
        if d["filter"]:  # empty: the jail has none, and keeps none
            values["filter"] = d["filter"]
        for key in ("factor", "maxtime", "rndtime"):
            if d[key]:
                values[f"bantime.{key}"] = d[key]
        return values


def _tag_group(m: re.Match[str]) -> str:
    tag = m[0]
    if tag.startswith("</"):
        return ")"
    return "(?:" if tag.startswith("<F-") else r"(?:\S+)"


def check_regex(line: str) -> None:
    """Compile one failregex line the way fail2ban would, as closely as Python allows.

    fail2ban expands ``<HOST>`` and friends into named groups and ``%(x)s``
    from its own files; here tags become plain groups and interpolations
    nothing, which is enough to catch a regex that cannot compile. fail2ban's
    test and reload stay the final word.
    """
    probe = _TAG_RE.sub(_tag_group, line)
    probe = _KEY_TAG_RE.sub("", _INTERP_RE.sub("", probe))
    try:
        re.compile(probe)
    except re.error as exc:
        raise ValidationError(f"“{line[:80]}” does not compile: {exc}.") from None


class FilterForm(forms.Form):
    name = forms.CharField(
        label="Name", max_length=64,
        help_text="Letters, digits, “.”, “_”, “-”; saved as filter.d/NAME.conf.",
    )  # fmt: skip
    failregex = forms.CharField(
        label="failregex", max_length=20_000,
        widget=forms.Textarea(attrs={"rows": 5, "spellcheck": "false"}),
        help_text="One regex per line; each needs <HOST> (or <ADDR>, <IP4>, <IP6>, <F-ID>…).",
    )  # fmt: skip
    ignoreregex = forms.CharField(
        label="ignoreregex", required=False, max_length=20_000,
        widget=forms.Textarea(attrs={"rows": 2, "spellcheck": "false"}),
        help_text="Lines that match one of these are never counted (one per line).",
    )  # fmt: skip
    datepattern = forms.CharField(
        label="datepattern", required=False, max_length=200,
        help_text="Optional; as in fail2ban's files, with %% for %: {^LN-BEG}%%Y-%%m-%%d. "
        "Empty: fail2ban detects the date.",
    )  # fmt: skip

    def __init__(self, *args: Any, existing: set[str], editing: bool = False,
                 **kwargs: Any) -> None:  # fmt: skip
        super().__init__(*args, **kwargs)
        self.existing = existing
        if editing:
            del self.fields["name"]

    def clean_name(self) -> str:
        name: str = self.cleaned_data["name"].strip()
        if not FILTER_NAME_RE.fullmatch(name) or ".." in name:
            raise ValidationError(
                "A filter name is 1–64 letters, digits, “.”, “_” or “-”, "
                "starting with a letter or digit."
            )
        if name.endswith((".conf", ".local")):
            raise ValidationError("Give the name without .conf or .local.")
        if name in self.existing:
            raise ValidationError(f"A filter named “{name}” exists already.")
        return name

    def _regexes(self, key: str, *, need_host: bool) -> str:
        lines = [ln.strip() for ln in ini_value(self.cleaned_data[key], multiline=True)
                 .splitlines() if ln.strip()]  # fmt: skip
        for line in lines:
            has_host = any(t in line for t in _HOST_TAGS) or _KEY_TAG_RE.search(line)
            if need_host and not has_host:
                raise ValidationError(
                    f"“{line[:80]}” has no <HOST> (or <ADDR>, <IP4>, <IP6>, <F-ID>): "
                    "fail2ban would not know whom to ban."
                )
            check_regex(line)
        return "\n".join(lines)

    def clean_failregex(self) -> str:
        value = self._regexes("failregex", need_host=True)
        if not value:
            raise ValidationError("At least one failregex is needed.")
        return value

    def clean_ignoreregex(self) -> str:
        return self._regexes("ignoreregex", need_host=False)

    def clean_datepattern(self) -> str:
        return ini_value(self.cleaned_data["datepattern"]).strip()


class AssignFilterForm(forms.Form):
    jail = forms.ChoiceField(label="Use this filter in jail")

    def __init__(self, *args: Any, jails: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["jail"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(j, j) for j in jails]
