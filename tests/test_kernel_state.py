"""nbviz leaves the user's kernel alone: after every widget is displayed, inline matplotlib still draws and the
global settings a user relies on (backend, torch defaults, warnings filters) are as they were."""

import json

import nbformat
from nbclient import NotebookClient

SETUP = """
%matplotlib inline
import json, warnings, matplotlib, numpy as np, torch
from torch import nn
import matplotlib.pyplot as plt
# Libraries nbviz uses add warnings filters when first imported (torch._dynamo, captum): their doing, not nbviz's.
import torch._dynamo, captum.attr, umap, sklearn.datasets  # noqa
def kernel_state():
    return json.dumps({"backend": matplotlib.get_backend(), "dtype": str(torch.get_default_dtype()),
                       "grad": torch.is_grad_enabled(), "threads": torch.get_num_threads(),
                       "deterministic": torch.are_deterministic_algorithms_enabled(),
                       "warnings": [repr(f) for f in warnings.filters], "rc": dict(matplotlib.rcParams)}, default=str)
before = kernel_state()
"""

WIDGETS = """
import nbviz
from sklearn.datasets import load_digits
d = load_digits()
x = torch.tensor(d.images[:40, None] / 16.0, dtype=torch.float32)
model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(256, 10)).eval()
features = nbviz.Features(d.data[:300], labels=d.target[:300], images=d.images[:300] / 16.0)
ex = nbviz.EmbeddingExplorer(features, method="pca", background=False)
rec = nbviz.ProbMapRecorder(np.random.default_rng(0).normal(size=(60, 2)), np.arange(60) % 3, resolution=16)
tiny = nn.Linear(2, 3)
for epoch in range(2):
    rec.record(tiny, epoch)
shown = [ex, ex.components(n=4), nbviz.EmbeddingExplorer.compare({"a": d.data[:200], "b": d.data[:200, ::-1].copy()}),
         nbviz.GradCamViewer(model, x[:6], layer="0"), nbviz.GradCamViewer.sketchpad(model, "0"),
         nbviz.ProbMapPlayer(rec), nbviz.ModelGraph(model, x[:1])]
for w in shown:
    display(w)
"""

CHECK = """
plt.plot([0, 1], [1, 0])
plt.show()
a, b = json.loads(before), json.loads(kernel_state())
a_rc, b_rc = a.pop("rc"), b.pop("rc")
print("STATE", json.dumps({k: [a[k], b[k]] for k in a if a[k] != b[k]}
                          | {"rc." + k: [a_rc[k], b_rc.get(k)] for k in a_rc if a_rc[k] != b_rc.get(k)}))
"""


def test_inline_plots_and_kernel_settings_survive_every_widget(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(src) for src in (SETUP, WIDGETS, CHECK)])
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors, errors[0]["evalue"] if errors else ""
    shown = [o for o in nb.cells[1].outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert len(shown) == 7, [o.get("data", {}).get("text/plain") for o in nb.cells[1].outputs]
    last = nb.cells[2].outputs
    assert any("image/png" in o.get("data", {}) for o in last), "plt.show() drew nothing after nbviz's widgets"
    text = "".join(o.get("text", "") for o in last if o.output_type == "stream")
    assert "STATE" in text, text
    assert json.loads(text.split("STATE", 1)[1]) == {}, "nbviz changed global kernel state (before, after)"
