"""Modules mode's shapes by the cheaper way: the real input while torch._dynamo is not loaded (meta tensors would
import it, a one-off 0.6-0.8 s) and it is quick, meta tensors otherwise; the same graph either way."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
from torch import nn

from nbviz.kernels import graph as G
from nbviz.kernels import graph_modules as GM
from tests.unit.test_graph import X, net, real_calls


def plain(g: G.Graph) -> tuple:
    return g.nodes, g.edges, g.groups, g.folds, g.module_shapes, g.fallback


def test_a_fresh_kernel_propagates_the_real_input_and_gets_the_meta_graph(monkeypatch):
    monkeypatch.setattr(GM, "_dynamo_loaded", lambda: True)
    on_meta = G.capture(net(), X)
    monkeypatch.setattr(GM, "_dynamo_loaded", lambda: False)
    model = net()
    calls = real_calls(model)
    threads: list[int] = []
    model[0].register_forward_hook(lambda *_: threads.append(torch.get_num_threads()))
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        on_real = G.capture(model, X)
        assert torch.get_num_threads() == 2  # handed back
    finally:
        torch.set_num_threads(before)
    assert "1.0.conv1" in calls  # the real input went through the traced graph
    assert threads == [1]  # on one thread: two stall when other work shares the CPUs
    assert plain(on_real) == plain(on_meta)


def test_past_its_budget_the_real_input_stops_and_meta_tensors_take_over(monkeypatch):
    monkeypatch.setattr(GM, "_dynamo_loaded", lambda: False)
    monkeypatch.setattr(GM, "REAL_FIRST_S", -1.0)  # over before the first node
    model = net()
    calls = real_calls(model)
    g = G.capture(model, X)
    assert calls == [] and g.module_shapes["1.0.conv1"] == (1, 8, 14, 14) and not g.fallback


def test_an_op_the_real_input_cannot_take_fails_over_to_hooks_with_its_module_named(monkeypatch):
    monkeypatch.setattr(GM, "_dynamo_loaded", lambda: False)
    with pytest.raises(RuntimeError, match="failed in module '1'"):
        G.capture(nn.Sequential(nn.Linear(3, 4), nn.Linear(5, 2)), torch.randn(1, 3))


def test_a_fresh_process_captures_without_importing_dynamo_or_sympy():
    """The first ModelGraph of a kernel: neither torch._dynamo nor sympy (torch.fx's ShapeProp imports it at every
    step) is loaded by a modules-mode capture of a small CNN, nor matplotlib by its picture."""
    code = (
        "import sys, torch, torch.nn as nn, nbviz\n"
        "m = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2))\n"
        "g = nbviz.ModelGraph(m, torch.rand(1, 1, 8, 8))\n"
        "assert g._picture_data()\n"
        "print(sorted(k for k in ('torch._dynamo', 'sympy', 'matplotlib') if k in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"
