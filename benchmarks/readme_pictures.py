"""The README's pictures, taken from the gallery (notebooks/dashboard.ipynb) as Voila serves it, so they show what
the gallery shows today: ``python -m benchmarks.readme_pictures``.

Writes ``notebooks/screenshots/``: ``hero.png`` (the explorer after UMAP, thumbnails on, the neighbour grid of a
clicked point open: the explorer's picture) and one picture per other widget (``gradcam.png``, ``model_graph.png``,
``prob_map.png``), in Voila's light theme at 1180 px; and each of them again as ``<name>-<theme>-<width>.png`` in
Voila's light and dark themes, wide (1180 px) and narrow (560 px, where the side panels fold under the plot).
Needs what the browser tests need (Debian's Chromium, Voila).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from tests.ui.harness import CHROMIUM_ARGS, chromium_executable, start_voila

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "notebooks" / "screenshots"
GALLERY = ROOT / "notebooks" / "dashboard.ipynb"


def _ready(page, selector: str, timeout: float = 300_000):
    root = page.locator(f'{selector}[data-nbviz-ready="true"], {selector}[data-nbviz-painted="true"]').first
    root.wait_for(state="visible", timeout=timeout)
    root.scroll_into_view_if_needed()
    return root


WIDE, NARROW = 1180, 560


def _shots(page) -> dict:
    """The gallery's four widgets, the explorer after UMAP with a point's neighbour grid open."""
    explorer = _ready(page, ".nbviz-embedding")
    # UMAP replaces PCA when it is done: the title says so.
    page.wait_for_function("() => document.querySelector('.nbviz-plot-title')?.textContent.startsWith('UMAP')",
                           timeout=300_000)
    page.wait_for_timeout(1500)  # the move to the new layout, and the thumbnails
    x, y = explorer.evaluate("el => el.nbviz.screenPosition(7)")
    box = explorer.locator("canvas").first.bounding_box()
    page.mouse.click(box["x"] + x, box["y"] + y)
    explorer.locator('.nbviz-neighbors[data-for="7"]').wait_for(timeout=60_000)
    page.mouse.move(1, 1)
    page.wait_for_timeout(500)
    return {"hero": explorer, "gradcam": _ready(page, ".nbviz-gradcam"),
            "model_graph": _ready(page, ".nbviz-model-graph"), "prob_map": _ready(page, ".nbviz-pm")}


def take() -> list[Path]:
    from playwright.sync_api import sync_playwright

    work = Path(tempfile.mkdtemp(prefix="nbviz-pictures-"))
    shutil.copy(GALLERY, work / GALLERY.name)
    written = []
    OUT.mkdir(parents=True, exist_ok=True)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium_executable(), args=CHROMIUM_ARGS)
            for theme in ("light", "dark"):
                server = start_voila(work, theme=theme)
                try:
                    page = browser.new_page(viewport={"width": WIDE, "height": 900}, device_scale_factor=1)
                    page.goto(f"{server.url}/voila/render/{GALLERY.name}", timeout=600_000)
                    shots = _shots(page)
                    for width in (WIDE, NARROW):
                        # Tall enough for the whole view: parts outside the viewport may not paint in a screenshot.
                        page.set_viewport_size({"width": width, "height": 1800})
                        page.wait_for_timeout(1200)  # views follow their width (and refit)
                        for name, element in shots.items():
                            element.scroll_into_view_if_needed()
                            page.wait_for_timeout(300)
                            paths = [OUT / f"{name}-{theme}-{width}.png"]
                            if theme == "light" and width == WIDE:
                                paths.append(OUT / f"{name}.png")
                            for path in paths:
                                element.screenshot(path=str(path))
                                written.append(path)
                    page.close()
                finally:
                    server.stop()
            browser.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return written


def main() -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    t0 = time.perf_counter()
    paths = take()
    for p in paths:
        print(f"wrote {p.relative_to(ROOT)}")
    print(f"{time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
