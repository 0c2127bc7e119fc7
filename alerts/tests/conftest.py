from __future__ import annotations

from collections.abc import Iterator
from email.message import Message as EmailMessage

import pytest

from alerts.tests.receivers import HookServer, hook_server, smtp_sink


@pytest.fixture
def smtp(settings) -> Iterator[list[EmailMessage]]:  # type: ignore[no-untyped-def]
    with smtp_sink(settings) as messages:
        yield messages


@pytest.fixture
def hooks() -> Iterator[HookServer]:
    with hook_server() as server:
        yield server
