"""Browser tests: the whole stack (tests/localstack.py) driven by real Chromium."""
from __future__ import annotations

from pathlib import Path

import pytest

from localstack import ROOT, Stack, running_stack  # noqa: F401  (Stack: the type the tests annotate with)

ARTIFACTS = Path(__file__).resolve().parent / ".artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    with running_stack(tmp_path_factory.mktemp("browser-stack"), "cchc-browser-") as running:
        yield running


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


class PageErrors(list):
    """JavaScript errors and failed module loads seen by a page; a test ends by asserting there were none."""


@pytest.fixture
def new_page(browser, stack):
    """new_page(width=1280, height=900) -> a page in a fresh context (own sessionStorage), Vietnamese locale.

    The browser's own time zone is not Vietnam's: dates on the pages must come out in Asia/Ho_Chi_Minh anyway."""
    contexts, errors = [], PageErrors()

    def make(width: int = 1280, height: int = 900):
        context = browser.new_context(viewport={"width": width, "height": height}, locale="vi-VN",
                                      timezone_id="Europe/London", base_url=stack.site_url)
        context.set_default_timeout(8000)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
        # Refused API calls and the aborted ones a test provokes log "Failed to load resource": not script errors.
        page.on("console", lambda msg: errors.append(f"console.{msg.type}: {msg.text}")
                if msg.type == "error" and not msg.text.startswith("Failed to load resource") else None)
        return page

    make.errors = errors
    yield make
    for context in contexts:
        context.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
