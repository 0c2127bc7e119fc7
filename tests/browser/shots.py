"""Screenshots of browser tests, saved as PNG under ``<repo>/test-artifacts/``."""

from __future__ import annotations

from pathlib import Path

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def screenshot(page, name: str, *, full_page: bool = True) -> Path:  # type: ignore[no-untyped-def]
    """Save a PNG under ``<repo>/test-artifacts/`` and return its path."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def screenshot_schemes(page, name: str) -> list[Path]:  # type: ignore[no-untyped-def]
    """``<name>-light.png`` and ``<name>-dark.png``; leaves the page in light mode."""
    paths = []
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        paths.append(screenshot(page, f"{name}-{scheme}"))
    page.emulate_media(color_scheme="light")
    return paths
