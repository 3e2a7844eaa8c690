"""Graph capture against independent references: torchviz's own graph (autograd mode) and the modules that run
(modules mode, seen by forward hooks written here); folding, depth collapse, export and bad input."""

from __future__ import annotations

import copy
import re
import sys
from collections import Counter
from typing import Any

import pytest
import torch
from torch import nn

from nbviz.kernels import graph as G
from nbviz.kernels import graph_modules as GM
from nbviz.kernels import graph_view as GV
from nbviz.widgets import model_graph_export as GX


class Block(nn.Module):
    def __init__(self, c: int, down: bool = False) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c, c, 3, padding=1)
        self.bn = nn.BatchNorm2d(c)
        self.relu = nn.ReLU()
        self.down = nn.Conv2d(c, c, 1) if down else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.relu(self.bn(self.conv1(x)))
        return y + (self.down(x) if self.down is not None else x)


class Dynamic(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a, self.b = nn.Linear(4, 4), nn.Linear(4, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.b(self.a(x)) if x.sum() > 0 else self.a(x)


def net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 8, 3), nn.Sequential(Block(8, True), Block(8), Block(8), Block(8)),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 10), nn.Dropout())


X = torch.randn(1, 3, 16, 16)


def ran_leaves(model: nn.Module, x: torch.Tensor) -> set[str]:
    """Leaf modules that run, seen by our own hooks (the reference for modules mode)."""
    seen: set[str] = set()
    handles = [m.register_forward_hook(lambda mod, i, o, p=p: seen.add(p)) for p, m in model.named_modules()
               if not list(m.children())]
    with torch.no_grad():
        model(x)
    for h in handles:
        h.remove()
    return seen


def test_modules_mode_has_every_leaf_that_runs_with_shapes():
    model = net()
    g = G.capture(model, X)
    assert not g.fallback
    module_nodes = {n["path"]: n for n in g.nodes if n["kind"] == "module"}
    assert set(module_nodes) == ran_leaves(model, X)
    assert "1.1.down" not in module_nodes  # None children never run
    assert module_nodes["1.0.conv1"]["shape"] == "(1, 8, 14, 14)"
    assert module_nodes["4"]["params"] == 8 * 10 + 10 and module_nodes["4"]["type"] == "Linear"
    adds = [n for n in g.nodes if n["kind"] == "op" and n["type"] == "add"]
    assert [n["path"] for n in adds] == ["1.0", "1.1", "1.2", "1.3"]  # ops belong to the block that ran them
    ids = {n["id"] for n in g.nodes}
    assert all(e["source"] in ids and e["target"] in ids for e in g.edges)
    assert {"source": "_4", "target": "_5", "shape": "(1, 10)"} in g.edges


def torchviz_graph(model: nn.Module, x: Any) -> tuple[set[str], list[tuple[str, str]], list[str]]:
    """torchviz's own graph of ``model`` on ``x``, read from its Digraph's body: node names, edges (repeats
    included) and each node's first label line (a backward function's type, a parameter's name, "" for another
    tensor). As nbviz captures: every parameter needing a gradient (frozen ones too), every module in eval mode."""
    from torchviz import make_dot

    model = copy.deepcopy(model).eval().requires_grad_(True)
    out = model(*(x if isinstance(x, tuple) else (x,)))
    dot = make_dot(out if isinstance(out, torch.Tensor) else tuple(out), params=dict(model.named_parameters()))
    nodes: dict[str, str] = {}
    edges: list[tuple[str, str]] = []
    for line in dot.body:  # a statement per item; a label may hold new lines
        edge = re.match(r"\t(\S+) -> (\S+)", line)
        if edge:
            edges.append((edge.group(1), edge.group(2)))
            continue
        node = re.match(r'\t(\S+) \[label=("(?:[^"\\]|\\.)*"|[^\s\]]+)', line, flags=re.S)
        assert node, line
        nodes.setdefault(node.group(1), node.group(2).strip('"').split("\n")[0].strip())
    return set(nodes), edges, sorted(nodes.values())


def torchviz_counts(model: nn.Module, x: Any) -> tuple[int, int]:
    nodes, edges, _ = torchviz_graph(model, x)
    return len(nodes), len(edges)


def first_label_lines(g: G.Graph) -> list[str]:
    """What torchviz's labels would start with for nbviz's nodes."""
    return sorted(n["type"] if n["kind"] == "grad_fn" else n.get("label", "") for n in g.nodes)


class Scale(torch.autograd.Function):
    """A custom autograd function: torchviz draws the tensors it saves."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x, w)
        return x * w

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x, w = ctx.saved_tensors
        return grad * w, (grad * x).sum(0)


class InPlaceFrozen(nn.Module):
    """In-place ops (on a slice too: a view of a tensor the graph goes through), a frozen layer, a custom
    function."""

    def __init__(self) -> None:
        super().__init__()
        self.frozen, self.fc = nn.Linear(4, 8), nn.Linear(8, 3)
        self.frozen.requires_grad_(False)
        self.scale = nn.Parameter(torch.ones(8))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.frozen(x)
        h.relu_()
        h[:, 0] += 1
        h.mul_(2)
        return self.fc(Scale.apply(h, self.scale))


class TinyViT(nn.Module):
    """Patches, a class token and position embeddings, one pre-norm attention block, a head on the class token."""

    def __init__(self, d: int = 16) -> None:
        super().__init__()
        self.patch = nn.Conv2d(3, d, 4, stride=4)
        self.cls, self.pos = nn.Parameter(torch.zeros(1, 1, d)), nn.Parameter(torch.zeros(1, 5, d))
        self.block, self.norm, self.head = Attention(d), nn.LayerNorm(d), nn.Linear(d, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = self.patch(x).flatten(2).transpose(1, 2)
        t = torch.cat([self.cls.expand(len(x), -1, -1), t], 1) + self.pos
        return self.head(self.norm(self.block(t)[1])[:, 0])


class ThreeHeads(nn.Module):
    """Several outputs: two heads and a view of the shared features (torchviz draws a view's base as well); a
    product of a tensor with itself (two edges between the same nodes)."""

    def __init__(self) -> None:
        super().__init__()
        self.body, self.a, self.b = nn.Sequential(nn.Linear(6, 8), nn.Tanh()), nn.Linear(8, 2), nn.Linear(8, 3)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        h = self.body(x)
        return self.a(h), self.b(h * h), h.view(-1)


def mlp() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 5), nn.ReLU(), nn.Linear(5, 2))


REFERENCE_MODELS = {
    "mlp": (mlp, lambda: torch.randn(2, 3)),
    "cnn with batchnorm and residual adds": (net, lambda: X),
    "vit-shaped attention block": (TinyViT, lambda: torch.randn(2, 3, 8, 8)),
    "in-place ops and a frozen layer": (InPlaceFrozen, lambda: torch.randn(2, 4)),
    "several outputs": (ThreeHeads, lambda: torch.randn(3, 6)),
}


@pytest.mark.parametrize("forward", ["real", "fake"])
@pytest.mark.parametrize("name", list(REFERENCE_MODELS))
def test_autograd_walk_draws_what_torchviz_draws(name, forward, monkeypatch, request):
    """nbviz walks grad_fn itself (torchviz is not imported: it is for DOT only); torchviz's make_dot of the same
    model is the reference, node for node and edge for edge, whether the forward ran on fake tensors or not."""
    make, inputs = REFERENCE_MODELS[name]
    torch.manual_seed(0)
    model, x = make(), inputs()
    if forward == "fake":
        tries = request.getfixturevalue("fake_path")
    else:
        monkeypatch.setattr(G, "_fake_forward", lambda *a: None)
    flags = [p.requires_grad for p in model.parameters()]
    monkeypatch.setitem(sys.modules, "torchviz", None)  # any import of it fails
    g = G.capture(model, x, mode="autograd")
    monkeypatch.delitem(sys.modules, "torchviz")
    if forward == "fake":
        assert tries and tries[-1] is not None  # it did run on fake tensors
    nodes, edges, labels = torchviz_graph(model, x)
    assert (len(g.nodes), len(g.edges)) == (len(nodes), len(edges))
    if forward == "real":
        assert first_label_lines(g) == labels
    else:  # the one known difference: a view of a tensor changed in place is regenerated by replaying the view
        # (SelectBackward0 here) on fake tensors, by as_strided on real ones
        missing = Counter(labels) - Counter(first_label_lines(g))
        assert set(missing) <= {"AsStridedBackward0"} and (name == "in-place ops and a frozen layer") == bool(missing)
    ids = {n["id"] for n in g.nodes}
    assert len(ids) == len(g.nodes) and all(e["source"] in ids and e["target"] in ids for e in g.edges)
    # torchviz's own picture of the same graph is what to_dot hands out (a graphviz.Digraph)
    dot = G.autograd_dot(model, x)
    assert sum(" -> " in line for line in dot.body) == len(g.edges)
    assert [p.requires_grad for p in model.parameters()] == flags  # a frozen layer stays frozen


@pytest.mark.parametrize("make, x", [(net, X), (mlp, torch.randn(2, 3))])
def test_autograd_mode_matches_torchviz_counts(make, x):
    model = make()
    g = G.capture(model, x, mode="autograd")
    assert (len(g.nodes), len(g.edges)) == torchviz_counts(model, x)
    by_label = {n.get("label"): n for n in g.nodes if n["type"] == "parameter"}
    assert set(by_label) == {name for name, _ in model.named_parameters()}
    first = next(iter(by_label.values()))
    assert first["path"] == first["label"].rsplit(".", 1)[0]
    # grad_fns are placed in the module that ran them
    assert any(n["kind"] == "grad_fn" and n["type"].startswith("Addmm") and n["path"] for n in g.nodes)


def test_model_comes_back_unchanged_in_both_modes():
    model = net().train()
    model[0].weight.requires_grad_(False)
    model[4].weight.grad = torch.ones_like(model[4].weight)
    hook = model[4].register_forward_hook(lambda *a: None)
    for mode in G.MODES:
        G.capture(model, X, mode=mode)
        assert model.training and model[1][0].training
        assert not model[0].weight.requires_grad and model[4].bias.requires_grad
        assert torch.equal(model[4].weight.grad, torch.ones_like(model[4].weight)) and model[4].bias.grad is None
        assert list(model[4]._forward_hooks) == [hook.id] and not model[0]._forward_hooks


class Attention(nn.Module):
    """Transformer-shaped: scaled-dot-product attention picks its kernel by device, so a forward on meta tensors
    records another graph; fake tensors must record the CPU one."""

    def __init__(self, d: int = 16) -> None:
        super().__init__()
        self.ln, self.attn = nn.LayerNorm(d), nn.MultiheadAttention(d, 2, batch_first=True)
        self.mlp = nn.Sequential(nn.Linear(d, 2 * d), nn.GELU(), nn.Linear(2 * d, d))
        self.head = nn.Linear(d, 3)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.ln(x)
        x = x + self.attn(h, h, h, need_weights=False)[0]
        x = x + self.mlp(x)
        return self.head(x).mean(1), x


class Tied(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embed, self.out = nn.Linear(6, 6), nn.Linear(6, 6)
        self.out.weight = self.embed.weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(torch.tanh(self.embed(x)))


def plain(graph: G.Graph) -> tuple[list, list]:
    """A graph without its ids (``id()`` of autograd objects): nodes in order, edges as node positions."""
    at = {n["id"]: i for i, n in enumerate(graph.nodes)}
    return ([{k: v for k, v in n.items() if k != "id"} for n in graph.nodes],
            [(at[e["source"]], at[e["target"]], e["shape"]) for e in graph.edges])


@pytest.fixture
def fake_path(monkeypatch):
    """The forward on fake tensors taken whatever it costs; yields the list of what each try returned."""
    import torch._dynamo  # noqa: F401 - fake tensors need it; capture only takes them once it is loaded

    monkeypatch.setattr(G, "_FLOPS_PER_THREAD", 1.0)
    tries: list = []
    real = G._fake_forward
    monkeypatch.setattr(G, "_fake_forward", lambda *a: tries.append(real(*a)) or tries[-1])
    return tries


@pytest.mark.parametrize("make, x", [(net, X), (Attention, torch.randn(2, 5, 16)), (Tied, torch.randn(3, 6))])
def test_autograd_graph_on_fake_tensors_is_the_real_one(make, x, fake_path, monkeypatch):
    model = make()
    faked = G.capture(model, x, mode="autograd")
    assert fake_path and fake_path[-1] is not None
    monkeypatch.setattr(G, "_fake_forward", lambda *a: None)
    real = G.capture(model, x, mode="autograd")
    assert plain(faked) == plain(real)
    assert (faked.groups, faked.folds, faked.module_shapes) == (real.groups, real.folds, real.module_shapes)
    assert (len(real.nodes), len(real.edges)) == torchviz_counts(model.eval(), x)


def test_fake_tensors_leave_the_model_as_it_was(fake_path):
    model = net().train()
    model[0].weight.requires_grad_(False)
    model[4].weight.grad = torch.ones_like(model[4].weight)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    G.capture(model, X, mode="autograd")
    assert fake_path[-1] is not None
    assert model.training and not model[0].weight.requires_grad and model[4].bias.requires_grad
    assert torch.equal(model[4].weight.grad, torch.ones_like(model[4].weight)) and model[4].bias.grad is None
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())  # BatchNorm's statistics too


class ReadsValues(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.fc(x)
        return y * float(y.abs().max().item() > 0)


def test_the_real_forward_runs_where_fake_tensors_cannot_or_should_not(fake_path, monkeypatch):
    x = torch.randn(2, 4)
    model = ReadsValues()  # needs values: fake tensors raise, the real forward runs
    g = G.capture(model, x, mode="autograd")
    assert fake_path == [None] and (len(g.nodes), len(g.edges)) == torchviz_counts(model.eval(), x)

    seen = []  # the user's hooks see real tensors
    model.fc.register_forward_hook(lambda m, i, o: seen.append(type(o)))
    G.capture(model, x, mode="autograd")
    assert fake_path == [None, None] and seen == [torch.Tensor]

    monkeypatch.setattr(G, "_FLOPS_PER_THREAD", 1e30)  # every pass over budget: tried twice per input shape
    small = nn.Sequential(*[nn.Linear(4, 4) for _ in range(600)])  # 60 ms or more on fake tensors
    for shape in [(2, 4), (2, 4), (2, 4), (3, 4)]:
        g = G.capture(small, torch.randn(shape), mode="autograd")
        assert (len(g.nodes), len(g.edges)) == torchviz_counts(small.eval(), torch.randn(shape))
    assert G._OVER_BUDGET[small] == {((2, 4),): 2, ((3, 4),): 1}
    assert fake_path[2:] == [None] * 4


def test_folding_and_depth():
    g = G.capture(net(), X)
    assert g.folds == [{"id": "1.1..1.3", "members": ["1.1", "1.2", "1.3"], "label": "Block x 3"}]
    assert GV.initial_expanded(g, 0) == []
    assert GV.initial_expanded(g, 1) == []  # top-level modules shown, closed
    assert GV.initial_expanded(g, 2) == ["1"]
    nodes, edges = GV.visible(g, [])
    assert [n["id"] for n in nodes] == ["input_1", "_0", "1", "_2", "_3", "_4", "_5", "output"]
    nodes, _ = GV.visible(g, ["1"])
    assert [n["id"] for n in nodes if n["kind"] in ("group", "fold")] == ["1.0", "1.1..1.3"]
    assert next(n for n in nodes if n["kind"] == "fold")["type"] == "Block x 3"
    nodes, edges = GV.visible(g, ["1", "1.1..1.3", "1.2"])
    ids = [n["id"] for n in nodes]
    assert "1.1" in ids and "1.3" in ids and "_1_2_conv1" in ids and "1.2" not in ids
    assert {"source": "1.1", "target": "_1_2_conv1", "shape": "(1, 8, 14, 14)"} in edges
    assert GV.visible(g, list(g.groups) + [f["id"] for f in g.folds])[0] == g.nodes
    with pytest.raises(ValueError, match="depth must be an int >= 0"):
        GV.initial_expanded(g, -1)


def real_calls(model: nn.Module) -> list[str]:
    """Module calls on real (not meta) tensors, recorded by hooks the test leaves on the model."""
    calls: list[str] = []

    def hook(mod: nn.Module, args: tuple, _out: object, path: str) -> None:
        if any(isinstance(a, torch.Tensor) and not a.is_meta for a in args):
            calls.append(path)

    for path, m in model.named_modules():
        m.register_forward_hook(lambda mod, args, out, path=path: hook(mod, args, out, path))
    return calls


def test_modules_mode_does_not_run_a_traceable_model(monkeypatch):
    """fx tracing and shape propagation on meta tensors give every shape: the model's forward never runs for real."""
    monkeypatch.setattr(GM, "_dynamo_loaded", lambda: True)  # else the real input may go first (test_graph_shapes)
    model = net()
    calls = real_calls(model)
    g = G.capture(model, X)
    assert calls == [] and not g.fallback
    assert g.module_shapes["1.0"] == g.module_shapes["1.0.conv1"] == (1, 8, 14, 14)  # groups and leaves
    assert g.module_shapes[""] == (1, 10) and g.groups["1"]["shape"] == "(1, 8, 14, 14)"
    model(X)  # the hooks do see a real forward
    assert "1.0.conv1" in calls


def test_shapes_where_meta_tensors_cannot_run_come_from_the_real_input():
    class Masked(nn.Module):  # traceable, but the output's shape depends on the data: no meta kernel can know it
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(4, 4)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.fc(x)
            return y[y > 0]

    model = Masked()
    x = torch.randn(3, 4)
    g = G.capture(model, x)
    assert not g.fallback
    assert next(n for n in g.nodes if n["kind"] == "output")["shape"] == f"({int((model.fc(x) > 0).sum())})"


def output_shapes(model: nn.Module, x: torch.Tensor) -> dict[str, tuple]:
    """Every module's output shape in a real forward, by path."""
    seen: dict[str, tuple] = {}
    handles = [m.register_forward_hook(lambda mod, i, o, p=p: seen.update({p: tuple(o.shape)}))
               for p, m in model.named_modules()]
    model(x)
    for h in handles:
        h.remove()
    return seen


def test_normalisation_layers_keep_shapes_unless_a_hook_changes_them(monkeypatch):
    """Stock normalisation layers are answered without running them on meta tensors (the output has the input's
    shape), except where a forward hook may change the output; a layer given channels it does not have fails as it
    would for real."""
    monkeypatch.setattr(GM, "_dynamo_loaded", lambda: True)  # meta tensors first
    halve = nn.BatchNorm2d(4)
    halve.register_forward_hook(lambda mod, args, out: out[:, :2])
    for model, x in [(nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.GroupNorm(2, 4), nn.InstanceNorm2d(4),
                                    nn.LayerNorm([14, 14]), halve, nn.Flatten()), torch.randn(2, 3, 16, 16)),
                     (nn.Sequential(nn.Linear(3, 6), nn.BatchNorm1d(6)), torch.randn(2, 3))]:
        seen = output_shapes(model.eval(), x)
        real: list[str] = []  # a global hook: hooks on the layers themselves would turn the shortcut off
        handle = torch.nn.modules.module.register_module_forward_hook(
            lambda mod, args, out, real=real: real.append(type(mod).__name__) if not args[0].is_meta else None)
        try:
            g = G.capture(model, x)
        finally:
            handle.remove()
        assert g.module_shapes == seen and real == []  # all on meta tensors
    assert g.module_shapes["1"] == (2, 6)
    small = G.capture(nn.Sequential(nn.Conv2d(3, 4, 3), halve), torch.randn(1, 3, 8, 8))
    assert small.module_shapes == {"": (1, 2, 6, 6), "0": (1, 4, 6, 6), "1": (1, 2, 6, 6)}
    with pytest.raises(RuntimeError, match=r"failed in module '1'"):
        G.capture(nn.Sequential(nn.Conv2d(3, 5, 3), nn.BatchNorm2d(4)), torch.randn(2, 3, 16, 16))


def test_dynamic_control_flow_falls_back_to_hooks_and_says_so():
    model = Dynamic()
    calls = real_calls(model)
    g = G.capture(model, torch.ones(1, 4))
    assert "torch.fx could not trace" in g.fallback and "forward hooks" in g.fallback
    assert calls == ["a", "b", ""]  # the real forward, with the hooks that make the graph
    assert [n["id"] for n in g.nodes] == ["input", "a", "b", "output"]
    assert [(e["source"], e["target"]) for e in g.edges] == [("input", "a"), ("a", "b"), ("b", "output")]


def test_wrong_input_names_the_failing_module():
    with pytest.raises(RuntimeError, match=r"failed in module '0'.*3 channels"):
        G.capture(net(), torch.randn(1, 1, 16, 16))
    with pytest.raises(RuntimeError, match=r"failed in module '3'"):
        G.capture(nn.Sequential(nn.Flatten(), nn.ReLU(), nn.Sequential(nn.Linear(4, 4)), nn.Linear(5, 2)),
                  torch.randn(1, 4))
    with pytest.raises(TypeError, match="example_input must be a tensor"):
        G.capture(net(), [[1.0]])
    with pytest.raises(ValueError, match="mode must be one of"):
        G.capture(net(), X, mode="fx")


def test_no_parameters():
    model = nn.Sequential(nn.ReLU(), nn.Flatten())
    g = G.capture(model, torch.randn(2, 3, 4))
    assert [n["type"] for n in g.nodes if n["kind"] == "module"] == ["ReLU", "Flatten"]
    assert all(n["params"] == 0 for n in g.nodes)
    with pytest.raises(ValueError, match="no parameters with requires_grad"):
        G.capture(model, torch.randn(2, 3, 4), mode="autograd")


def test_input_goes_to_the_model_dtype():
    model = nn.Sequential(nn.Linear(3, 2)).double()
    g = G.capture(model, torch.randn(1, 3))
    assert next(n for n in g.nodes if n["kind"] == "module")["shape"] == "(1, 2)"


def test_dot_and_svg_are_escaped():
    g = G.capture(net(), X)
    nodes, edges = GV.visible(g, ["1"])
    dot = GV.to_dot(nodes, edges, 'my "net"')
    src = dot.source
    assert src.startswith('digraph "my \\"net\\"" {') and src.count(" -> ") == len(edges)
    assert sum(" -> " in line for line in dot.body) == len(edges)
    assert '"1.1..1.3" [label="1.1..1.3: Block x 3' not in src and "Block x 3" in src
    lam = {"id": "<f>", "path": "", "type": "<lambda>", "kind": "op", "shape": "", "params": 0}
    assert '"<f>" [label="<lambda>"]' in GV.to_dot([lam], [], "m").source  # quoted text, never an HTML-like label
    picked = [{**nodes[1], "type": "<script>"}] + nodes[2:]
    svg = GX.to_svg(picked, edges[1:], GX.python_placed(picked, edges[1:]))
    assert "&lt;script&gt;" in svg and "<script>" not in svg
    at = GV.layered_layout(nodes, edges)
    assert all(at[e["source"]][0] < at[e["target"]][0] for e in edges)
