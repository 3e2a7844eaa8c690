"""Every notebook in notebooks/ runs top to bottom, so none can rot."""

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks():
    assert any(p.name == "dashboard.ipynb" for p in NOTEBOOKS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path):
    nb = nbformat.read(str(path), as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
    # Each nbviz view is followed by its picture (an output of its own, see nbviz.widgets.base.PictureOutput).
    pairs = [(o, outs[i + 1] if i + 1 < len(outs) else {}) for c in nb.cells if c.cell_type == "code"
             for outs in [c.get("outputs", [])] for i, o in enumerate(outs)
             if "application/vnd.jupyter.widget-view+json" in o.get("data", {})
             and o["data"].get("text/plain", "").startswith("<nbviz.")]
    assert pairs, f"{path.name} displays no widget"
    assert all("image/png" in after.get("data", {}) for _, after in pairs), "a widget output lacks its static PNG"
