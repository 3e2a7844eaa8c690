"""The HTML export of a headlessly executed notebook renders every nbviz view from its saved state when the widget
CDN is reachable, with no kernel, and hides the static pictures then.

The notebook is tests/test_exported_html.py's (every nbviz view, executed with nbclient storing widget state). The
machine has no internet, so "reachable" means: the page's CDN requests (require.js, the html-manager's embed-amd.js
and its assets, anywidget's front end at the Python package's ``_model_module_version``) are answered from the npm
packages in js/node_modules (devDependencies of js/package.json); any other request is refused and counted: only
nbconvert's MathJax may be among them.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import pytest
from PIL import Image

from nbviz.export import STATIC_PNG_MARK
from tests.test_exported_html import VIEWS, executed, widget_cells  # noqa: F401  (executed is a fixture)

NODE_MODULES = Path(__file__).resolve().parents[2] / "js" / "node_modules"
# <CDN>/<package>@<version range>/<path in the package>, as nbconvert's template and the html-manager's loader ask.
CDN_PACKAGE = re.compile(r"^https://(?:unpkg\.com|cdn\.jsdelivr\.net/npm)/((?:@[^/@]+/)?[^/@]+)@([^/]+)/(.+)$")


def satisfies(version: str, wanted: str) -> bool:
    """Whether ``version`` (x.y.z) is in the npm range ``wanted``, for the forms used here: *, ~x.y.*, ^x.y.z, x.y.z."""
    wanted = wanted.lstrip("~^")
    return all(w in ("*", "x", v) for w, v in zip(wanted.split("."), version.split("."), strict=False))


def local_file(url: str) -> Path | None:
    from nbconvert import HTMLExporter

    url = unquote(url.split("?")[0])
    if url == HTMLExporter().require_js_url:
        assert "/2.1.10/" in url, url
        return NODE_MODULES / "requirejs" / "require.js"
    match = CDN_PACKAGE.match(url)
    if not match:
        return None
    package, wanted, path = match.groups()
    if not (NODE_MODULES / package / "package.json").is_file():
        return None
    installed = json.loads((NODE_MODULES / package / "package.json").read_text(encoding="utf-8"))["version"]
    assert satisfies(installed, wanted), f"{package}: the page wants {wanted}, js/node_modules has {installed}"
    return NODE_MODULES / package / path


def canvas_spread(png: bytes) -> float:
    return float(np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=np.float32).std())


@pytest.mark.timeout(240)
def test_exported_html_renders_every_view_from_saved_state(executed, tmp_path, browser):  # noqa: F811
    import anywidget
    from nbconvert import HTMLExporter

    nb, _ = executed
    html, _ = HTMLExporter(template_name="lab").from_notebook_node(nb)
    page_path = tmp_path / "export.html"
    page_path.write_text(html, encoding="utf-8")
    served: list[str] = []
    refused: list[str] = []

    def answer(route):
        url = route.request.url
        if url.startswith(("file:", "data:", "blob:")):
            return route.continue_()
        path = local_file(url)
        if path is None or not path.is_file():
            refused.append(url)
            return route.abort()
        served.append(url)
        kind = "application/javascript" if path.suffix == ".js" else None
        route.fulfill(path=str(path), content_type=kind, headers={"Access-Control-Allow-Origin": "*"})

    names = [name for name in VIEWS if name != "explorer_wait"]
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    try:
        context.route("**/*", answer)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(page_path.as_uri())
        roots = page.locator(".jp-OutputArea-output .nbviz-root:not(.nbviz-root .nbviz-root)")
        page.wait_for_function(
            "n => document.querySelectorAll('.nbviz-root:not(.nbviz-root .nbviz-root)').length >= n",
            arg=len(names), timeout=60_000)
        assert roots.count() == len(names), f"{roots.count()} views rendered, {len(names)} expected: {errors}"
        spreads: dict[str, float] = {}
        for index, name in enumerate(names):
            root = roots.nth(index)
            # Ready for itself and for every view it holds (a Panel's explorers).
            page.wait_for_function(
                "r => r.dataset.nbvizReady === 'true'"
                " && [...r.querySelectorAll('.nbviz-root')].every((c) => c.dataset.nbvizReady === 'true')",
                arg=root.element_handle(), timeout=30_000)
            root.scroll_into_view_if_needed()
            page.wait_for_timeout(300)  # a frame for WebGL to present
            canvases = root.locator("canvas")
            shots = [canvases.nth(i).screenshot() for i in range(canvases.count())
                     if canvases.nth(i).bounding_box() and canvases.nth(i).bounding_box()["width"] > 40]
            # components() draws with DOM elements only: its root must then not be blank.
            spreads[name] = max(canvas_spread(s) for s in shots or [root.screenshot()])
        pictures = page.evaluate(PICTURES_JS)
    finally:
        context.close()
    version = anywidget.AnyWidget()._model_module_version
    assert any(re.search(rf"/anywidget@{re.escape(version)}/dist/index\.js$", u.replace("%7E", "~")) for u in served), \
        served
    assert any("html-manager" in u and u.endswith("embed-amd.js") for u in served), served
    for name, spread in spreads.items():
        assert spread > 3, f"{name}: its canvases are blank from the saved state ({spread:.1f})"
    assert pictures == {"pictures": len(names), "visible": 0}, pictures
    # Answered from local copies of exactly the widget manager and anywidget's front end; nothing else was asked
    # but nbconvert's own MathJax (the page's, for every notebook, not a widget's).
    assert refused == [HTMLExporter().mathjax_url], refused


# The marked static pictures (tests/test_exported_html.py) and how many of them are visible.
PICTURES_JS = """
() => {
  const pictures = [...document.querySelectorAll('img')].filter((img) => img.src.includes(MARK));
  const visible = pictures.filter((img) => img.getBoundingClientRect().height > 0);
  return { pictures: pictures.length, visible: visible.length };
}
""".replace("MARK", json.dumps(STATIC_PNG_MARK))
