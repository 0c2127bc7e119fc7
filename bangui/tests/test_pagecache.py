"""bangui.pagecache: data versions, shared fragments rendered once, ETags per viewer."""

from __future__ import annotations

import threading
import time

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.http import HttpResponse
from django.test import RequestFactory

from bangui.models import DataVersion, UserProfile
from bangui.pagecache import conditional, etag, fragment, version_bump


@pytest.mark.django_db
def test_a_bump_makes_the_row_then_counts_up() -> None:
    version_bump("archive")
    version_bump("archive")
    assert DataVersion.objects.get(name="archive").value == 2


def test_a_fragment_is_rendered_once_per_key() -> None:
    calls: list[str] = []

    def render(text: str) -> str:
        calls.append(text)
        return f"<p>{text}</p>"

    assert fragment(("t", 1), lambda: render("a")) == "<p>a</p>"
    assert fragment(("t", 1), lambda: render("b")) == "<p>a</p>"  # kept
    assert fragment(("t", 2), lambda: render("c")) == "<p>c</p>"  # a new version
    assert calls == ["a", "c"]


def test_threads_that_miss_the_same_key_at_once_render_it_once() -> None:
    calls: list[int] = []
    start = threading.Barrier(6)
    got: list[str] = []

    def slow() -> str:
        calls.append(1)
        time.sleep(0.2)
        return "<p>once</p>"

    def ask() -> None:
        start.wait()
        got.append(str(fragment(("stampede",), slow)))

    threads = [threading.Thread(target=ask) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1 and got == ["<p>once</p>"] * 6


def _user(name: str, role: str) -> object:
    user = get_user_model().objects.create_user(username=name, password="x-long-Passphrase-9")
    UserProfile.objects.create(user=user, role=role)
    return user


@pytest.mark.django_db
def test_the_tag_names_the_user_and_the_role() -> None:
    factory = RequestFactory()
    alice, bob = _user("alice", "admin"), _user("bob", "viewer")
    tags = []
    for user in (alice, bob, AnonymousUser()):
        request = factory.get("/status/bar/")
        request.user = user  # type: ignore[assignment]
        tags.append(etag(request, ("status", 1)))
    assert len(set(tags)) == 3
    request = factory.get("/status/bar/")
    request.user = alice  # type: ignore[assignment]
    assert etag(request, ("status", 1)) == tags[0] != etag(request, ("status", 2))


@pytest.mark.django_db
def test_a_matching_if_none_match_gets_a_private_304_without_rendering() -> None:
    factory = RequestFactory()
    user = _user("carol", "operator")
    rendered: list[int] = []

    def respond() -> HttpResponse:
        rendered.append(1)
        return HttpResponse("<p>body</p>")

    first = factory.get("/x/")
    first.user = user  # type: ignore[assignment]
    response = conditional(first, ("x", 1), respond)
    assert response.status_code == 200 and rendered == [1]
    tag = response["ETag"]
    again = factory.get("/x/", headers={"If-None-Match": tag})
    again.user = user  # type: ignore[assignment]
    response = conditional(again, ("x", 1), respond)
    assert response.status_code == 304 and rendered == [1]
    assert response["ETag"] == tag
    assert "private" in response["Cache-Control"] and "no-cache" in response["Cache-Control"]
    assert "Cookie" in response["Vary"]
    changed = factory.get("/x/", headers={"If-None-Match": tag})
    changed.user = user  # type: ignore[assignment]
    assert conditional(changed, ("x", 2), respond).status_code == 200
