"""Every notebook of the gallery renders in Voila with no widget error on the page: no "Error displaying widget"
(a progress bar closed before the browser asked for its model showed one), no traceback."""

import shutil
import time
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))
BAD = ("Error displaying widget", "model not found", "Traceback (most recent call last)")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_renders_without_widget_errors(voila, page, path):
    target = voila.root / f"gallery_{path.name}"
    shutil.copy(path, target)
    page.goto(f"{voila.url}/voila/render/{target.name}", timeout=300_000)
    page.wait_for_selector(".nbviz-root", timeout=300_000)
    # Widgets mount one by one: wait until their number holds still, then let late errors surface.
    count, deadline = -1, time.monotonic() + 60
    while time.monotonic() < deadline:
        now = page.locator(".nbviz-root").count()
        if now == count:
            break
        count = now
        page.wait_for_timeout(1500)
    page.wait_for_timeout(2000)
    text = page.inner_text("body")
    found = [b for b in BAD if b in text]
    start = max(0, text.find(found[0]) - 200) if found else 0  # around the first one: a traceback is long
    assert not found, f"{path.name}: {found} on the page:\n{text[start:start + 6000]}"
    assert not page.page_errors, page.page_errors
