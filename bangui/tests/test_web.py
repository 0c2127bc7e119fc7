"""The shared web helpers: safe redirects, page numbers, jail names from URLs."""

from __future__ import annotations

import pytest
from django.http import Http404
from django.test import RequestFactory

from bangui.web import jail_or_404, page_number, safe_next

rf = RequestFactory()


@pytest.mark.parametrize(
    "target",
    ["abc", "$(id)", "sshd", "-1", "//evil.example/", "/\\evil.example", "https://evil.example/x",
     "javascript:alert(1)", "", "http://testserver/jails/", "/etc/shadow", "/dev/zero"],
)  # fmt: skip
def test_safe_next_refuses_anything_but_a_page_of_this_site(target: str) -> None:
    assert safe_next(rf.post("/x/", {"next": target})) is None


def test_safe_next_keeps_a_local_path_with_its_query() -> None:
    assert safe_next(rf.post("/x/", {"next": "/jails/?q=ssh"})) == "/jails/?q=ssh"
    assert safe_next(rf.get("/login/", {"next": "/history/"})) == "/history/"


@pytest.mark.parametrize(
    ("raw", "last", "number", "note"),
    [
        (None, None, 1, ""),
        ("", 5, 1, ""),
        ("3", 5, 3, ""),
        ("9", 5, 5, "There is no page 9; showing the last page (5)."),
        ("0", 5, 1, "There is no page 0; showing the first page."),
        ("x", 5, 1, "There is no page “x”; showing the first page."),
        ("٣", 5, 1, "There is no page “٣”; showing the first page."),
        ("9" * 5000, 5, 1, f"There is no page “{'9' * 19}…”; showing the first page."),
    ],
)
def test_page_number_gives_the_nearest_page_and_says_so(
    raw: str | None, last: int | None, number: int, note: str
) -> None:
    assert page_number(raw, last=last) == (number, note)


def test_jail_or_404_refuses_what_cannot_be_a_jail() -> None:
    assert jail_or_404("sshd") == "sshd"
    for bad in ("../etc", "a b", "x" * 65, ""):
        with pytest.raises(Http404):
            jail_or_404(bad)
