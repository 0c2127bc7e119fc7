"""Edit fail2ban's INI files line by line, keeping every other byte as it was.

fail2ban reads its files with Python's ``ConfigParser`` (basic ``%``
interpolation, ``;`` inline comments after whitespace, indented continuation
lines). A ``configparser`` round trip would drop comments and reorder keys, so
this module only rewrites the lines of the options it is asked to change. The
line rules below follow ``ConfigParser._read`` in Python 3.11.
"""

from __future__ import annotations

import configparser
import re
from dataclasses import dataclass, field

CONTINUATION_INDENT = " " * 10

_SECTION_RE = re.compile(r"\[(?P<header>.+)\]")
_OPTION_RE = re.compile(r"(?P<key>.*?)\s*[=:]\s*(?P<value>.*)$")
_KEY_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,63}")
_SECTION_NAME_RE = re.compile(r"[^\[\]\r\n\x00;#]{1,100}")
# A ``%`` that is neither ``%%`` nor ``%(name)s`` makes fail2ban's reader fail.
_PERCENT_OK_RE = re.compile(r"%%|%\([^)\n]*\)s")
# ConfigParser cuts a value at ``;`` that follows whitespace (an inline comment).
_INLINE_COMMENT_RE = re.compile(r"\s;")


class IniError(ValueError):
    """An edit refused; the text is for the user."""


@dataclass
class _Option:
    key: str
    start: int
    end: int  # exclusive line index
    indent: int


@dataclass
class _Section:
    name: str
    start: int  # header line, or -1 for the lines before the first header
    options: list[_Option] = field(default_factory=list)


def _logical(line: str) -> str:
    """The line as ConfigParser sees it: comments removed, stripped."""
    body = line.rstrip("\r\n")
    if body.strip().startswith(("#", ";")):
        return ""
    m = _INLINE_COMMENT_RE.search(body)
    if m:
        body = body[: m.start()]
    return body.strip()


def _scan(lines: list[str]) -> list[_Section]:
    sections = [_Section("", -1)]
    opt: _Option | None = None
    for i, line in enumerate(lines):
        value = _logical(line)
        if not value:  # blank and comment lines do not end a value
            continue
        indent = len(line) - len(line.lstrip(" \t"))
        if opt is not None and indent > opt.indent:
            opt.end = i + 1
            continue
        opt = None
        header = _SECTION_RE.match(value)
        if header:
            sections.append(_Section(header.group("header"), i))
            continue
        m = _OPTION_RE.match(value)
        if m and sections[-1].start >= 0:
            opt = _Option(m.group("key").strip(), i, i + 1, indent)
            sections[-1].options.append(opt)
    return sections


def clean_key(key: str) -> str:
    if not isinstance(key, str) or not _KEY_RE.fullmatch(key):
        raise IniError(f"“{str(key)[:40]}” is not an option name (letters, digits, “_ . -”).")
    return key


def clean_section(name: str) -> str:
    if not isinstance(name, str) or not _SECTION_NAME_RE.fullmatch(name) or name != name.strip():
        raise IniError(f"“{str(name)[:40]}” is not a section name.")
    return name


def clean_value(value: str, *, multiline: bool = False) -> str:
    """Refuse what would break or escape the option line; return the value unchanged."""
    if not isinstance(value, str):
        raise IniError("A value must be text.")
    if "\x00" in value or "\r" in value:
        raise IniError("A value must not contain NUL or carriage-return characters.")
    if "\n" in value and not multiline:
        raise IniError("This value must be a single line.")
    if "%" in _PERCENT_OK_RE.sub("", value):
        raise IniError("A “%” must be written as “%%” (fail2ban expands “%(name)s”).")
    for line in value.split("\n"):
        if _INLINE_COMMENT_RE.search(line):
            raise IniError("“ ;” starts a comment in fail2ban's files; the rest would be lost.")
        if multiline and line.strip().startswith(("#", ";")):
            raise IniError(f"The line “{line.strip()[:40]}” would be read as a comment.")
    return value


def _format(prefix: str, value: str) -> list[str]:
    """``key = first`` plus indented continuation lines; the indent stops injection."""
    first, *rest = value.split("\n")
    head = f"{prefix}{first.strip()}".rstrip() if first.strip() else prefix.rstrip()
    out = [head + "\n"]
    out.extend(f"{CONTINUATION_INDENT}{line.strip()}\n" for line in rest if line.strip())
    return out


def set_options(text: str, section: str, values: dict[str, str | None]) -> str:
    """Set (or with None remove) options of one section; other lines stay byte-identical."""
    clean_section(section)
    for key, value in values.items():
        clean_key(key)
        if value is not None:
            clean_value(value, multiline=True)
    lines = text.splitlines(keepends=True)
    for key, value in values.items():
        lines = _set_one(lines, section, key, value)
    return "".join(lines)


def _set_one(lines: list[str], section: str, key: str, value: str | None) -> list[str]:
    sections = [s for s in _scan(lines) if s.start >= 0 and s.name == section]
    if not sections:
        if value is None:
            return lines
        out = list(lines)
        if out and not out[-1].endswith("\n"):
            out[-1] += "\n"
        if out and out[-1].strip():
            out.append("\n")
        return [*out, f"[{section}]\n", *_format(f"{key} = ", value)]
    # ConfigParser matches option names in lower case (optionxform).
    matches = [o for s in sections for o in s.options if o.key.lower() == key.lower()]
    if matches:
        first = matches[0]
        line = lines[first.start]
        m = re.match(r"\s*.*?\s*[=:][ \t]*", line)
        prefix = m.group(0) if m else f"{key} = "
        new = _format(prefix, value) if value is not None else []
        out = list(lines)
        # Remove later duplicates first so the earlier indices stay valid.
        for dup in reversed(matches[1:]):
            del out[dup.start : dup.end]
        out[first.start : first.end] = new
        return out
    if value is None:
        return lines
    last = sections[-1]
    at = last.options[-1].end if last.options else last.start + 1
    out = list(lines)
    if not out[at - 1].endswith("\n"):
        out[at - 1] += "\n"
    out[at:at] = _format(f"{key} = ", value)
    return out


def get_options(text: str, section: str) -> dict[str, str]:
    """The options of one section as fail2ban would read them (raw, keys in lower case)."""
    parser = configparser.RawConfigParser(
        inline_comment_prefixes=(";",), strict=False, default_section="\x00none"
    )
    try:
        parser.read_string(text)
    except configparser.Error as exc:
        raise IniError(str(exc)) from None
    if not parser.has_section(section):
        return {}
    return dict(parser.items(section, raw=True))
