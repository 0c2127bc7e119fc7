"""Fixtures for blocklist tests: a local HTTP server instead of the internet."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from blocklists.tests.httpserver import LocalServer


@pytest.fixture
def http_server() -> Iterator[LocalServer]:
    """A fresh server per test, so routes and hit counts never leak between tests."""
    with LocalServer() as server:
        yield server
