"""What the browser tests share besides fixtures: logging in, a clean console."""

from __future__ import annotations

from conftest import ADMIN_PASSWORD


def log_in(page, base: str) -> None:  # type: ignore[no-untyped-def]
    """Log in through the login page and land on the dashboard."""
    page.goto(f"{base}/login/")
    page.fill("#id_password", ADMIN_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/")


def assert_clean(console) -> None:  # type: ignore[no-untyped-def]
    """No CSP refusal and no console error on the page."""
    assert console.csp_violations == []
    assert console.errors == []
