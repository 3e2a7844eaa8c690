"""nbviz in Notebook 7 (``jupyter notebook`` + headless Chromium): every widget and composite renders in one
notebook run with Run All, and its main interaction reaches the Python traits (read back through probe files).

One server, one notebook, one page (one kernel) for the whole file. The cells are the marimo test's (`CELLS`), and
so are the checks: each cell's output area is tagged ``data-cell-name`` like a marimo cell, so the same check
drives the same widget in both front ends."""

from __future__ import annotations

import json
import time

import pytest

from .harness import NetworkGuard, guarded_page, run_all_cells, save_screenshot, wait_for_json, write_notebook
from .test_marimo_ui import CELLS, assert_shown, cell_root, cell_text
from .test_marimo_ui import test_compare_renders_and_click_in_second_focuses as check_compare
from .test_marimo_ui import test_components_render_and_image_click_focuses as check_components
from .test_marimo_ui import test_explorer_click_sets_focus as check_explorer
from .test_marimo_ui import test_gradcam_image_and_class_clicks as check_gradcam
from .test_marimo_ui import test_panel_of_two_explorers as check_panel
from .test_marimo_ui import test_probmap_slider_sets_epoch as check_probmap
from .test_marimo_ui import test_sketch_input_drag_inks_pixels as check_sketch
from .test_marimo_ui import test_sketchpad_renders_and_drawing_updates_the_viewer as check_sketchpad
from .test_model_graph_ui import click_node

NAME = "nbviz_all"
MARK = "# nbviz cell: "
# Notebook 7.6 itself throws this while it starts (its shortcuts plugin reads the settings schema of
# @jupyterlab/docmanager-extension:plugin, which Notebook 7 does not load), before any nbviz code is on the page.
NOTEBOOK_STARTUP_ERROR = "Cannot read properties of undefined (reading 'schema')"
ERROR_OUTPUT = '[data-mime-type="application/vnd.jupyter.error"]'  # a traceback in an output area


def notebook_cells(probe) -> list[str]:
    """CELLS as notebook cells: each first names itself, rebinds ``nbviz_probe`` to ``probe/<name>`` (the
    notebook's first cell imports it) and has ``FOLDER`` replaced by that folder; a last cell says all ran."""
    cells = []
    for name, source in CELLS.items():
        folder = repr(str(probe / name))
        cells.append(f"{MARK}{name}\n"
                     f"nbviz_probe = functools.partial(_nbviz_probe.nbviz_probe, folder={folder})\n"
                     + source.strip().replace("FOLDER", folder))
    cells.append(f"import pathlib\n_ = pathlib.Path({str(probe / 'done')!r}).write_text('true')")
    return cells


@pytest.fixture(scope="module")
def nb_server(notebook7):
    notebook7.probe = notebook7.root / "probe"  # type: ignore[attr-defined]
    return notebook7


@pytest.fixture(scope="module")
def nb_page(browser, nb_server):
    """The notebook opened at /notebooks/<name>.ipynb and run with Notebook 7's Run All; every cell has run.
    Its requests may only go to 127.0.0.1."""
    probe = nb_server.probe
    write_notebook(nb_server.root / f"{NAME}.ipynb", notebook_cells(probe), probe_folder=probe)
    guard = NetworkGuard()
    context, page = guarded_page(browser, guard)
    page.goto(f"{nb_server.url}/notebooks/{NAME}.ipynb", timeout=120_000)
    run_all_cells(page, f"{NAME}.ipynb")
    # Run All stops at a cell that raises: fail on its traceback rather than wait for the last cell.
    deadline = time.monotonic() + 240
    while not (probe / "done").exists() and time.monotonic() < deadline:
        errors = page.locator(ERROR_OUTPUT)
        assert errors.count() == 0, f"a cell raised: {errors.first.inner_text()[-2000:]}"
        page.wait_for_timeout(200)
    assert (probe / "done").exists(), "Run All did not reach the last cell in 240 s"
    # Each output area gets its cell's name, as marimo gives its cells: the marimo checks find widgets by it.
    tagged = page.evaluate(
        "(mark) => window.jupyterapp.shell.currentWidget.content.widgets.map((cell) => {"
        " const first = cell.model.sharedModel.getSource().split('\\n')[0];"
        " if (!first.startsWith(mark) || !cell.outputArea) return null;"
        " const name = first.slice(mark.length); cell.outputArea.node.dataset.cellName = name; return name; })",
        MARK)
    assert [t for t in tagged if t] == list(CELLS)
    yield page
    context.close()
    assert not guard.blocked, f"requests tried to leave the machine: {guard.blocked}"


@pytest.fixture(autouse=True)
def screenshot_on_failure(request, nb_page):
    yield
    call = getattr(request.node, "rep_call", None)
    if call is not None and call.failed:
        save_screenshot(nb_page, f"notebook7_{request.node.name}")


# The marimo test's checks, each driving its widget here as there.
CHECKS = [check_explorer, check_gradcam, check_probmap, check_panel, check_sketch, check_components, check_compare,
          check_sketchpad]


@pytest.mark.parametrize("check", CHECKS, ids=[c.__name__.removeprefix("test_") for c in CHECKS])
def test_widget(check, nb_page, nb_server):
    check(nb_page, nb_server)


def test_model_graph_click_selects(nb_page, nb_server):
    probe = nb_server.probe / "graph"
    root = cell_root(nb_page, "graph", ".nbviz-model-graph")
    click_node(nb_page, root, "_0")  # the drawn node of module "0", a layer the linked viewer can use
    assert wait_for_json(probe / "selected.json", lambda v: v == "0") == "0"
    root.locator(".nbviz-mg-dtotal").wait_for(timeout=15_000)
    assert root.locator(".nbviz-mg-dtype").text_content() == "Conv2d"
    assert wait_for_json(probe / "error.json") == ""
    assert_shown(nb_page, "graph")


def test_every_output_is_an_nbviz_view_without_errors(nb_page):
    """Every cell shows its nbviz root (a composite one too), the page no "Error displaying widget", no
    traceback and no uncaught error but Notebook 7's own."""
    for name in CELLS:
        out = nb_page.locator(f'[data-cell-name="{name}"]')
        assert out.locator(".nbviz-root").count() >= 1, f"cell {name!r} shows no nbviz view: {cell_text(nb_page, name)}"
        assert out.locator('[data-mime-type="application/vnd.jupyter.stderr"]').count() == 0, cell_text(nb_page, name)
    text = nb_page.locator(".jp-Notebook").inner_text()
    assert "Error displaying widget" not in text
    assert nb_page.locator(ERROR_OUTPUT).count() == 0
    assert [e for e in nb_page.page_errors if e != NOTEBOOK_STARTUP_ERROR] == []


def test_clicks_are_served_on_the_kernels_main_thread(nb_page, nb_server):
    """Notebook 7 (as JupyterLab 4.4+) sends widget messages to a kernel subshell whose thread runs beside cells;
    nbviz asks for them on the main thread, where cells run, so a click never races a cell or another click on
    the same model or widget. Runs after the checks above: every change they made by clicking is in threads.json."""
    seen = {path.parent.name: json.loads(path.read_text()) for path in nb_server.probe.glob("*/threads.json")}
    assert {"explorer", "gradcam", "probmap", "sketchpad", "graph"} <= set(seen)
    assert {cell: names for cell, names in seen.items() if names != ["MainThread"]} == {}
