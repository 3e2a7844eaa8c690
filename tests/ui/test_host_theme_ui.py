"""Outside JupyterLab the views follow the host's theme: VS Code's dark theme variables and body class, and the
OS's dark mode (prefers-color-scheme), as they follow JupyterLab's. Checked on a saved page (no --jp-* variables)."""

from __future__ import annotations

import numpy as np
import pytest

from nbviz.widgets.embedding_explorer import EmbeddingExplorer

from .harness import pixels, ready_root

VSCODE_DARK = ("<style>html { --vscode-editor-background: #1f1f1f; --vscode-editor-foreground: #cccccc; }</style>"
               "</head>")


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    out = tmp_path_factory.mktemp("theme")
    rng = np.random.default_rng(0)
    ex = EmbeddingExplorer(rng.normal(size=(200, 2)).astype(np.float32), labels=np.arange(200) % 3)
    plain = ex.save(out / "plain.html")
    ex.close()
    html = plain.read_text(encoding="utf-8")
    dark = out / "vscode_dark.html"
    # A VS Code notebook webview: its theme variables on <html>, its theme class on <body>.
    html = html.replace("</head>", VSCODE_DARK, 1).replace("<body", '<body class="vscode-body vscode-dark"', 1)
    dark.write_text(html, encoding="utf-8")
    return plain, dark


def _plot_background(browser, path, color_scheme="light"):
    context = browser.new_context(viewport={"width": 1000, "height": 700}, color_scheme=color_scheme)
    context.route("**/*", lambda r: r.continue_() if r.request.url.startswith(("file:", "blob:", "data:"))
                  else r.abort())
    page = context.new_page()
    try:
        page.goto(path.as_uri())
        root = ready_root(page, ".nbviz-embedding", timeout=30_000)
        page.wait_for_timeout(300)
        box = root.locator(".nbviz-plot").first.bounding_box()
        corner = pixels(page, {"x": box["x"] + 4, "y": box["y"] + box["height"] - 14, "width": 10, "height": 10})
        text = root.evaluate("el => getComputedStyle(el).color")
        mode = root.evaluate("el => el.dataset.nbvizHostTheme || ''")
        return corner.reshape(-1, 3).mean(axis=0), text, mode
    finally:
        context.close()


def test_views_follow_vscode_dark_and_the_os_dark_mode(browser, saved):
    plain, dark = saved
    light_bg, light_text, light_mode = _plot_background(browser, plain)
    assert light_mode == "light" and light_bg.mean() > 200, (light_bg, light_text)
    vs_bg, vs_text, vs_mode = _plot_background(browser, dark)
    assert vs_mode == "dark"
    assert np.allclose(vs_bg, [0x1F, 0x1F, 0x1F], atol=6), f"the plot is not on VS Code's background: {vs_bg}"
    assert vs_text == "rgb(204, 204, 204)", vs_text
    os_bg, _, os_mode = _plot_background(browser, plain, color_scheme="dark")
    assert os_mode == "dark" and os_bg.mean() < 60, os_bg
