"""Fixtures for real-browser tests: servers, Chromium, a network guard and screenshots on failure."""

from __future__ import annotations

from pathlib import Path

import pytest

from .harness import (
    NetworkGuard,
    guarded_page,
    save_screenshot,
    start_lab,
    start_notebook,
    start_voila,
)


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/ui/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.ui)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture(scope="session")
def ui_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("ui")


def _serve(ui_root: Path, name: str, start):
    root = ui_root / name
    root.mkdir()
    server = start(root)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def voila(ui_root):
    yield from _serve(ui_root, "voila", start_voila)


@pytest.fixture(scope="session")
def lab(ui_root):
    yield from _serve(ui_root, "lab", start_lab)


@pytest.fixture(scope="session")
def notebook7(ui_root):
    yield from _serve(ui_root, "notebook7", start_notebook)


@pytest.fixture
def guard() -> NetworkGuard:
    return NetworkGuard()


@pytest.fixture
def page(browser, guard, request):
    """A fresh page whose requests may only go to 127.0.0.1; the test fails if any other is attempted."""
    context, page = guarded_page(browser, guard)
    yield page
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    if failed:
        save_screenshot(page, request.node.name)
    context.close()
    if not getattr(request.node, "allow_external_requests", False):
        assert not guard.blocked, f"requests tried to leave the machine: {guard.blocked}"
