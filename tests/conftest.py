"""Fixtures shared by every test folder."""

from __future__ import annotations

import pytest

from tests.ui.harness import CHROMIUM_ARGS, chromium_executable


@pytest.fixture(scope="session")
def browser():
    """One headless Debian Chromium for the session (Playwright's sync API runs one loop per process, so every
    test that needs a browser shares this one)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_executable(), args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()
