"""One visual language (js/src/lib/ui): every widget's toolbar in Voila + Chromium, checked as a user meets it —
buttons by their accessible names, tooltips that name the shortcut, a shortcut key that works only while the view
has focus (asserted on the Python traits), and the theme's dark colours on the controls."""

from __future__ import annotations

from .harness import ready_root, wait_for_json
from .test_embedding_explorer_ui import open_lab, open_voila
from .test_explorer_interactions import DIGITS
from .test_gradcam_ui import open_viewer
from .test_model_graph_ui import click_node, open_graph
from .test_prob_map_ui import PLAYER, open_player

DARK = {"--jp-layout-color1": "rgb(31, 31, 31)", "--jp-ui-font-color1": "rgb(220, 220, 220)",
        "--jp-border-color1": "rgb(90, 90, 90)"}


def go_dark(page) -> None:
    """A dark theme as JupyterLab's dark theme or VS Code sets it: variables on the page, read by every view."""
    page.evaluate("vars => { for (const el of [document.documentElement, document.body])"
                  " for (const [k, v] of Object.entries(vars)) el.style.setProperty(k, v); }", DARK)


def computed(locator, prop: str) -> str:
    return locator.evaluate("(el, p) => getComputedStyle(el).getPropertyValue(p)", prop)


def assert_tool(root, name: str, key: str | None = None, role: str = "button"):
    """The control called `name` (exactly, by accessible name), with a tooltip naming its shortcut."""
    control = root.get_by_role(role, name=name, exact=True)
    assert control.count() == 1, f"no single {role} named {name!r}"
    tip_owner = control if role == "button" else control.locator("xpath=..")
    title = tip_owner.get_attribute("title") or ""
    assert title.startswith(name.split(" ")[0]), (name, title)
    if key:
        assert title.endswith(f"({key})"), f"the tooltip of {name!r} does not name its shortcut: {title!r}"
    return control


def test_explorer_toolbar_names_tooltips_shortcuts_and_dark(page, voila):
    probe = open_voila(page, voila, "toolbar_explorer", [DIGITS])
    root = ready_root(page)
    bar = root.get_by_role("toolbar", name="plot tools")
    lasso = assert_tool(bar, "Lasso", "L")
    box = assert_tool(bar, "Box", "B")
    assert_tool(bar, "Reset view", "R")
    assert_tool(bar, "Label selection")
    assert_tool(bar, "Label by click", role="checkbox")
    assert lasso.locator("svg").count() == 1 and box.locator("svg").count() == 1  # inline icons
    assert bar.get_by_role("group", name="selection mode").count() == 1
    assert lasso.get_attribute("aria-pressed") == "false"

    # Not global: with the focus outside the view, L does nothing.
    page.mouse.click(2, 2)
    page.keyboard.press("l")
    page.wait_for_timeout(200)
    assert lasso.get_attribute("aria-pressed") == "false"
    # With nothing focused, the view under the pointer takes its keys: B toggles the box tool on and off.
    canvas = root.locator("canvas").first.bounding_box()
    page.mouse.move(canvas["x"] + canvas["width"] / 2, canvas["y"] + 10)
    page.keyboard.press("b")
    assert box.get_attribute("aria-pressed") == "true"
    page.keyboard.press("b")
    assert box.get_attribute("aria-pressed") == "false"

    # Focus the view (a click on the plot's empty corner), then L: lasso mode; a plain drag now selects.
    canvas = root.locator("canvas").first.bounding_box()
    page.mouse.click(canvas["x"] + 3, canvas["y"] + canvas["height"] - 3)
    page.keyboard.press("l")
    assert lasso.get_attribute("aria-pressed") == "true"
    x0, y0, w, h = canvas["x"], canvas["y"], canvas["width"], canvas["height"]
    ring = [(0.3, 0.3), (0.7, 0.3), (0.7, 0.7), (0.3, 0.7), (0.3, 0.32)]
    page.mouse.move(x0 + w * ring[0][0], y0 + h * ring[0][1])
    page.mouse.down()
    for fx, fy in ring[1:]:
        page.mouse.move(x0 + w * fx, y0 + h * fy, steps=12)
    page.mouse.up()
    selection = wait_for_json(probe / "selection.json", lambda v: len(v) > 0)
    assert len(selection) > 20

    # Typing in the label box is typing: "b" goes into the box, not to the Box tool.
    root.get_by_role("combobox", name="label name").fill("")
    root.get_by_role("combobox", name="label name").press_sequentially("bl")
    assert box.get_attribute("aria-pressed") == "false"
    assert root.get_by_role("combobox", name="label name").input_value() == "bl"

    # Dark: the controls take the page's theme colours.
    go_dark(page)
    reset = bar.get_by_role("button", name="Reset view")
    assert computed(reset, "color") == DARK["--jp-ui-font-color1"]
    select_or_input = root.get_by_role("combobox", name="label name")
    assert computed(select_or_input, "background-color") == DARK["--jp-layout-color1"]
    assert computed(select_or_input, "border-top-color") == DARK["--jp-border-color1"]
    assert not page.page_errors


def test_gradcam_toolbar_groups_names_tooltips_shortcut_and_dark(page, voila):
    probe, root = open_viewer(page, voila, "toolbar_gradcam")
    bar = root.get_by_role("toolbar", name="Grad-CAM tools")
    # Eleven controls in one line before; now four labelled groups.
    groups = bar.get_by_role("group")
    assert groups.evaluate_all("gs => gs.map(g => g.getAttribute('aria-label'))") == [
        "layers", "display", "batch", "export"]
    for name in ("layer", "colormap", "sign", "scale", "sort"):
        assert bar.get_by_role("combobox", name=name, exact=True).count() == 1, name
    assert bar.get_by_role("slider", name="opacity").count() == 1
    save = assert_tool(bar, "Save PNG", "S")
    assert save.locator("svg").count() == 1
    confusion = assert_tool(bar, "Confusion", "C", role="checkbox")
    assert not confusion.is_checked()

    # With the focus in the view (a click on a caption), C shows the saliency confusion matrix.
    wait_for_json(probe / "show_confusion.json", lambda v: v is False)
    root.locator(".nbviz-gc-view figcaption").first.click()
    page.keyboard.press("c")
    assert wait_for_json(probe / "show_confusion.json", lambda v: v is True) is True
    assert confusion.is_checked()

    go_dark(page)
    sign = bar.get_by_role("combobox", name="sign", exact=True)
    assert computed(sign, "background-color") == DARK["--jp-layout-color1"]
    assert computed(sign, "color") == DARK["--jp-ui-font-color1"]
    assert computed(save, "color") == DARK["--jp-ui-font-color1"]
    assert not page.page_errors


def test_player_toolbar_play_by_space_loop_by_key_and_dark(page, voila):
    cell = PLAYER.replace('"epoch", "mode"', '"epoch", "mode", "playing"')
    probe, root = open_player(page, voila, "toolbar_player", (cell,))
    bar = root.get_by_role("toolbar", name="playback")
    play = assert_tool(bar, "Play", "Space")
    assert play.locator("svg").count() == 1
    loop = assert_tool(bar, "Loop", "O", role="checkbox")
    for name in ("Train points", "Flips", "Boundary line"):  # "Test points" only with test data
        assert bar.get_by_role("checkbox", name=name, exact=True).count() == 1, name
    assert bar.get_by_role("slider", name="epoch").count() == 1
    assert bar.get_by_role("combobox", name="colour mode").count() == 1

    root.locator(".nbviz-pm-epoch").click()  # focus the view
    looping = loop.is_checked()
    page.keyboard.press("o")
    assert loop.is_checked() != looping
    if looping:  # back on, so playback runs until paused
        page.keyboard.press("o")
    assert loop.is_checked()
    page.keyboard.press(" ")
    assert wait_for_json(probe / "playing.json", lambda v: v is True) is True
    pause = bar.get_by_role("button", name="Pause", exact=True)
    assert pause.get_attribute("title") == "Pause (Space)"
    page.keyboard.press(" ")
    assert wait_for_json(probe / "playing.json", lambda v: v is False) is False
    assert bar.get_by_role("button", name="Play", exact=True).count() == 1

    go_dark(page)
    assert computed(play, "color") == DARK["--jp-ui-font-color1"]
    mode = bar.get_by_role("combobox", name="colour mode")
    assert computed(mode, "background-color") == DARK["--jp-layout-color1"]
    assert not page.page_errors


GRAPH = """
import torch, torch.nn as nn, nbviz
torch.manual_seed(0)
block = lambda: nn.Sequential(nn.Conv2d(8, 8, 3, padding=1), nn.ReLU())
model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.Sequential(block(), block(), block()),
                      nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 4))
g = nbviz.ModelGraph(model, torch.rand(1, 1, 8, 8), depth=1, height=360)
nbviz_probe(g, "expanded", "error")
g
"""


def test_graph_toolbar_names_tooltips_shortcuts_and_dark(page, voila):
    probe, root = open_graph(page, voila, "toolbar_graph", GRAPH)
    bar = root.get_by_role("toolbar", name="graph tools")
    fit = assert_tool(bar, "Fit view", "F")
    assert_tool(bar, "Collapse all", "C")
    search = bar.get_by_role("searchbox", name="search modules by name or type")
    assert search.get_attribute("title").endswith("(/)")
    assert fit.locator("svg").count() == 1

    click_node(page, root, "1", double=True)  # open a group (and focus the view)
    wait_for_json(probe / "expanded.json", lambda v: v == ["1"])
    page.keyboard.press("c")
    assert wait_for_json(probe / "expanded.json", lambda v: v == []) == []
    # "/" goes to the search box (and is not typed into it).
    page.keyboard.press("/")
    assert search.evaluate("el => document.activeElement === el")
    page.keyboard.type("1.2.0")
    assert search.input_value() == "1.2.0"
    assert root.locator(".nbviz-mg-hits").text_content() == "1 found"

    go_dark(page)
    assert computed(fit, "color") == DARK["--jp-ui-font-color1"]
    assert computed(search, "background-color") == DARK["--jp-layout-color1"]
    assert not page.page_errors


def test_in_jupyterlab_the_view_keeps_its_keys_from_the_notebook(page, lab):
    """In JupyterLab's command mode B inserts a cell and L toggles line numbers: with the focus in the view, the
    keys are the view's, and the notebook is left as it was."""
    open_lab(page, lab, "toolbar_lab", [DIGITS])
    root = ready_root(page, timeout=180_000)
    cells = page.locator(".jp-Notebook .jp-Cell").count()
    box = root.get_by_role("button", name="Box", exact=True)
    canvas = root.locator("canvas").first.bounding_box()
    page.mouse.click(canvas["x"] + 3, canvas["y"] + canvas["height"] - 3)
    page.keyboard.press("b")
    assert box.get_attribute("aria-pressed") == "true"
    page.wait_for_timeout(300)
    assert page.locator(".jp-Notebook .jp-Cell").count() == cells
    assert not page.page_errors
