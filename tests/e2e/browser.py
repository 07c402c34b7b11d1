"""Drive the Airflow UI in Debian's headless Chromium with Playwright (no browser download)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Page, expect, sync_playwright

CHROMIUM = os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium")
# Without the background-networking flags Chromium keeps calling Google's hosts, which this
# closed network refuses; --no-sandbox because CI runs as root.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 30_000


@contextmanager
def browser_page() -> Iterator[Page]:
    """A fresh headless Chromium page (new profile each time)."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(TIMEOUT_MS)
            yield page
        finally:
            browser.close()


def log_in(page: Page, base_url: str, username: str, password: str) -> None:
    """Sign in through the simple auth manager's login form."""
    page.goto(f"{base_url}/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("link", name="Dags").first).to_be_visible()


def open_connection_form(page: Page, base_url: str, hook_name: str) -> None:
    """Open "Add Connection" and pick the connection type shown as ``hook_name``."""
    page.goto(f"{base_url}/connections")
    page.get_by_role("button", name="Add Connection").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("combobox", name="Connection Type").click()
    page.keyboard.type(hook_name)
    page.get_by_role("option", name=re.compile(rf"^{re.escape(hook_name)}$")).click()
    expect(dialog.get_by_role("button", name="Extra Fields", exact=True)).to_be_visible()


def open_section(page: Page, name: str) -> None:
    """Unfold one of the form's sections ("Standard Fields", "Extra Fields") if it is folded."""
    button = page.get_by_role("dialog").get_by_role("button", name=name, exact=True)
    if button.get_attribute("aria-expanded") != "true":
        button.click()
    expect(button).to_have_attribute("aria-expanded", "true")


def assert_form_fields(page: Page, labels: list[str], absent: list[str]) -> None:
    """Every label in ``labels`` is shown in the open form, none of ``absent`` is."""
    dialog = page.get_by_role("dialog")
    missing = [label for label in labels if not dialog.get_by_text(label, exact=True).first.is_visible()]
    shown = [label for label in absent if dialog.get_by_text(label, exact=True).count()]
    assert not missing, f"connection form lacks {missing}"
    assert not shown, f"connection form shows hidden fields {shown}"


def screenshot(page: Page, path: Path) -> Path:
    """Save a full-page screenshot."""
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    return path


def open_task_instance(page: Page, base_url: str, dag_id: str, run_id: str, task_id: str) -> None:
    """Open the "Details" tab of a task instance (where Airflow 3 lists its extra links)."""
    page.goto(f"{base_url}/dags/{dag_id}/runs/{run_id}/tasks/{task_id}/details")
    expect(page.get_by_text(task_id).first).to_be_visible()


def extra_link_href(page: Page, name: str, timeout_ms: float = TIMEOUT_MS) -> str:
    """The ``href`` of the extra link called ``name`` on a task instance page."""
    link = page.get_by_role("link", name=name, exact=True).first
    expect(link).to_be_visible(timeout=timeout_ms)
    return str(link.get_attribute("href"))


def open_extra_link(page: Page, name: str, timeout_ms: float = TIMEOUT_MS) -> Page:
    """Click the extra link called ``name`` as a user would; the page it opened (a new tab when the
    link targets one), loaded."""
    link = page.get_by_role("link", name=name, exact=True).first
    expect(link).to_be_visible(timeout=timeout_ms)
    if link.get_attribute("target") == "_blank":
        with page.context.expect_page(timeout=timeout_ms) as opened:
            link.click()
        target = opened.value
    else:
        link.click()
        target = page
    target.wait_for_load_state(timeout=timeout_ms)
    return target
