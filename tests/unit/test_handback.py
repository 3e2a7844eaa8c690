"""A model handed to nbviz comes back bit-identical: a property test over random module trees, every entry point
that runs a user's model, succeeding and failing midway (a module that raises after a few calls).

Each tree mixes nested Sequential / ModuleDict / custom modules (Conv2d, BatchNorm2d, Dropout, Linear,
ReLU(inplace=True), in-place adds in forward), random per-module train/eval flags (BatchNorms frozen in eval
inside a training model, and the reverse), frozen parameters, ``.grad`` set on some, and user hooks of every kind
on random modules. After each call, per module: the training flag, parameters (identity, bytes, requires_grad),
their ``.grad`` (identity and bytes), buffers (bytes, BatchNorm's ``num_batches_tracked`` too), every hook dict and
the module's attribute names are as before; the user's hooks still fire; nbviz's are gone.
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import pytest
import torch
from torch import nn

from nbviz.data import Features
from nbviz.kernels.attribution import attribute, grad_cam
from nbviz.kernels.graph import capture
from nbviz.kernels.recorder import ProbMapRecorder
from nbviz.kernels.torch_utils import HOOK_DICTS
from nbviz.widgets.gradcam_viewer import GradCamViewer

# Warnings torch and Captum give about the user's backward hooks are not what is tested here.
pytestmark = pytest.mark.filterwarnings("ignore:Full backward hook is firing", "ignore:Setting backward hooks on ReLU")

#: Trees per entry point (each run twice: as is, then with the tripwire armed).
TREES = 200
C, K, SIDE = 4, 3, 8


class Tripwire(nn.Module):
    """Identity that raises after ``after`` calls once armed: a forward failing midway, at its depth in the tree."""

    def __init__(self) -> None:
        super().__init__()
        self.after: int | None = None
        self.calls = 0

    def arm(self, after: int | None) -> None:
        self.after, self.calls = after, 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        if self.after is not None and self.calls > self.after:
            raise RuntimeError("tripwire: this forward fails on purpose")
        return x


class Residual(nn.Module):
    """An in-place add on its own branch's output."""

    def __init__(self) -> None:
        super().__init__()
        self.conv, self.bn, self.act = nn.Conv2d(C, C, 3, padding=1), nn.BatchNorm2d(C), nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.bn(self.conv(x))
        y += x
        return self.act(y)


class Branches(nn.Module):
    """Submodules in a ModuleDict, joined by an in-place add."""

    def __init__(self) -> None:
        super().__init__()
        self.paths = nn.ModuleDict({"a": nn.Conv2d(C, C, 1),
                                    "b": nn.Sequential(nn.BatchNorm2d(C), nn.Dropout(0.3))})

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.paths["a"](x) * 0.5
        out.add_(self.paths["b"](x))
        return out


class Net(nn.Module):
    def __init__(self, stem: nn.Module, body: nn.Module, head: nn.Module) -> None:
        super().__init__()
        self.stem, self.body, self.head = stem, body, head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(self.stem(x)))


def _block(rng: np.random.Generator, depth: int) -> nn.Module:
    kind = rng.integers(0, 5 if depth < 2 else 4)
    if kind == 0:
        return nn.Sequential(nn.Conv2d(C, C, 3, padding=1), nn.BatchNorm2d(C), nn.ReLU(inplace=True))
    if kind == 1:
        return Residual()
    if kind == 2:
        return Branches()
    if kind == 3:
        return nn.Sequential(nn.Conv2d(C, C, 1), nn.Dropout2d(0.2))
    return nn.Sequential(*[_block(rng, depth + 1) for _ in range(rng.integers(1, 3))])


@dataclass
class Tree:
    model: nn.Module
    x: torch.Tensor
    trip: Tripwire
    trip_path: str
    layers: list[str]  # modules whose output Grad-CAM can map
    ran: list[str]  # modules that run in the forward (for activations)
    root: nn.Module = None  # type: ignore[assignment]  # what the entry point is given (the model by default)
    fired: dict[int, int] = field(default_factory=dict)
    forward_hooks: list[int] = field(default_factory=list)
    backward_hooks: list[int] = field(default_factory=list)


def make_tree(seed: int) -> Tree:
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    stem = nn.Sequential(nn.Conv2d(3, C, 3, padding=1), nn.BatchNorm2d(C))
    body = nn.Sequential(*[_block(rng, 0) for _ in range(rng.integers(1, 4))])
    head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         *([nn.Dropout(0.2)] if rng.random() < 0.5 else []), nn.Linear(C, K))
    model: nn.Module = Net(stem, body, head) if rng.random() < 0.5 else nn.Sequential(stem, body, head)
    # The tripwire goes into a random Sequential at a random place (an identity until armed).
    seqs = [m for m in model.modules() if isinstance(m, nn.Sequential) and m is not model]
    seq = seqs[rng.integers(0, len(seqs))]
    items = list(seq._modules.items())
    items.insert(int(rng.integers(0, len(items) + 1)), ("trip", Tripwire()))
    seq._modules = OrderedDict(items)
    paths = {m: p for p, m in model.named_modules()}
    trip = next(m for m in model.modules() if isinstance(m, Tripwire))
    for m in model.modules():  # random per-module flags; BatchNorm statistics and counters that show a change
        m.training = bool(rng.random() < 0.5)
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-1, 1)
            m.running_var.uniform_(0.5, 2)
            m.num_batches_tracked.fill_(int(rng.integers(0, 100)))
    for p in model.parameters():
        p.requires_grad_(bool(rng.random() < 0.7))
        if rng.random() < 0.4:
            p.grad = torch.randn_like(p)
    tree = Tree(model, torch.rand(3, 3, SIDE, SIDE, generator=torch.Generator().manual_seed(seed)), trip,
                paths[trip], [], [])
    inside = [m for m in model.modules() if not isinstance(m, (nn.ModuleDict, Tripwire))]
    tree.ran = [paths[m] for m in inside if m is not model]
    spatial = [*stem.modules(), *body.modules()]
    tree.layers = [paths[m] for m in spatial if not isinstance(m, (nn.ModuleDict, Tripwire))]
    _hook_randomly(tree, rng, inside, [model, stem, head, *body.children()])
    tree.root = model
    return tree


def _hook_randomly(tree: Tree, rng: np.random.Generator, modules: list[nn.Module],
                   blocks: list[nn.Module]) -> None:
    """User hooks of every kind on random modules. Backward hooks only on blocks: a full backward hook's output
    modified in place by a later ReLU(inplace=True) is an error in torch itself, with or without nbviz."""

    def counter(key: int) -> Callable:
        def hook(*_args: object, **_kwargs: object) -> None:
            tree.fired[key] += 1

        return hook

    forward_kinds = [
        lambda m, h: m.register_forward_hook(h),
        lambda m, h: m.register_forward_pre_hook(h, prepend=True),
        lambda m, h: m.register_forward_hook(h, with_kwargs=True),
        lambda m, h: m.register_forward_pre_hook(h, with_kwargs=True),
        lambda m, h: m.register_forward_hook(h, always_call=True),
    ]
    backward_kinds = [lambda m, h: m.register_full_backward_hook(h),
                      lambda m, h: m.register_full_backward_pre_hook(h)]
    for where, share, kinds, keys in ((modules, 0.15, forward_kinds, tree.forward_hooks),
                                      (blocks, 0.3, backward_kinds, tree.backward_hooks)):
        for m in where:
            if rng.random() < share:
                key = len(tree.fired)
                tree.fired[key] = 0
                kinds[rng.integers(0, len(kinds))](m, counter(key))
                keys.append(key)
    if rng.random() < 0.2:
        modules[rng.integers(0, len(modules))].register_load_state_dict_post_hook(lambda *_: None)


# -- the snapshot --------------------------------------------------------------------------------------------
def snapshot(model: nn.Module) -> dict:
    """Everything nbviz must hand back, as values (tensors as bytes) and the objects themselves (for identity)."""
    mods = list(model.named_modules())
    params = list(model.named_parameters())
    return {
        "training": [(n, m.training) for n, m in mods],
        "attributes": [(n, sorted(vars(m))) for n, m in mods],
        "hooks": [(n, name, list(getattr(m, name))) for n, m in mods for name in HOOK_DICTS],
        "full_backward": [(n, m._is_full_backward_hook) for n, m in mods],
        "params": [(n, p, p.requires_grad, p.detach().numpy().tobytes()) for n, p in params],
        "grads": [(n, p.grad, None if p.grad is None else p.grad.numpy().tobytes()) for n, p in params],
        "buffers": [(n, b, b.numpy().tobytes()) for n, b in model.named_buffers()],
        "global_hooks": [len(d) for d in _global_hook_dicts()],
        "grad_mode": torch.is_grad_enabled(),
    }


def _global_hook_dicts() -> list[dict]:
    from torch.nn.modules import module as torch_module

    return [getattr(torch_module, name) for name in dir(torch_module)
            if name.startswith("_global_") and name.endswith("hooks")]


def assert_same(before: dict, after: dict, where: str) -> None:
    for key in before:
        a, b = before[key], after[key]
        if key in ("params", "grads", "buffers"):
            assert len(a) == len(b), f"{where}: {key} count changed"
            for x, y in zip(a, b, strict=True):
                assert x[0] == y[0] and x[1] is y[1], f"{where}: {key} {x[0]!r} is another object"
                assert x[2:] == y[2:], f"{where}: {key} {x[0]!r} changed"
        else:
            assert a == b, f"{where}: {key} changed: {[v for v in b if v not in a][:3]}"


def assert_user_hooks_fire(tree: Tree) -> None:
    """The user's hooks are still registered and still run (on a copy: a training-mode forward would update the
    original's statistics)."""
    tree.trip.arm(None)
    twin = copy.deepcopy(tree.model)
    before = dict(tree.fired)
    xr = tree.x.clone().requires_grad_(True)
    twin(xr).sum().backward()
    for key in tree.forward_hooks + tree.backward_hooks:
        assert tree.fired[key] > before[key], f"user hook {key} did not fire"


# -- entry points ----------------------------------------------------------------------------------------------
def _features(tree: Tree, rng: np.random.Generator) -> None:
    layer = tree.ran[rng.integers(0, len(tree.ran))]
    Features.from_model(tree.model, tree.x, layer=layer, batch_size=2, progress=False)


def _attribute(tree: Tree, rng: np.random.Generator) -> None:
    method = ["gradcam", "gradcam", "saliency", "guided_gradcam", "integrated_gradients"][rng.integers(0, 5)]
    kwargs = {"method_kwargs": {"n_steps": 4}} if method == "integrated_gradients" else {}
    target = None if rng.random() < 0.5 else int(rng.integers(0, K))
    attribute(tree.model, tree.x, tree.layers[rng.integers(0, len(tree.layers))], target, method=method,
              batch_size=2, **kwargs)


def _grad_cam(tree: Tree, rng: np.random.Generator) -> None:
    grad_cam(tree.model, tree.layers[rng.integers(0, len(tree.layers))], tree.x, signed=bool(rng.random() < 0.5))


def _viewer(tree: Tree, rng: np.random.Generator) -> None:
    viewer = GradCamViewer(tree.model, tree.x, layer=tree.layers[rng.integers(0, len(tree.layers))])
    viewer.target = (int(viewer.predictions[0]) + 1) % K  # a re-target: a one-image pass


def _sketchpad(tree: Tree, rng: np.random.Generator) -> None:
    pad = GradCamViewer.sketchpad(tree.model, tree.layers[rng.integers(0, len(tree.layers))], shape=(3, SIDE, SIDE))
    pad.draw(float(rng.uniform(0, SIDE * 24)), float(rng.uniform(0, SIDE * 24)))


def _graph(mode: str) -> Callable[[Tree, np.random.Generator], None]:
    def run(tree: Tree, _rng: np.random.Generator) -> None:
        capture(tree.model, tree.x[:1], mode)

    return run


def _probmap(background: bool, **kwargs: int) -> Callable[[Tree, np.random.Generator], None]:
    def run(tree: Tree, _rng: np.random.Generator) -> None:
        rec = ProbMapRecorder(np.random.default_rng(0).normal(size=(6, 2)), [0, 1, 2] * 2, resolution=3,
                              background=background, **kwargs)
        rec.record(tree.root, 0)
        rec.wait()

    return run


ENTRIES: dict[str, Callable[[Tree, np.random.Generator], None]] = {
    "Features.from_model": _features,
    "attribute": _attribute,
    "grad_cam": _grad_cam,
    "GradCamViewer": _viewer,
    "sketchpad": _sketchpad,
    "graph_modules": _graph("modules"),
    "graph_autograd": _graph("autograd"),
    "ProbMapRecorder_sync": _probmap(False),
    "ProbMapRecorder_background": _probmap(True),
    "ProbMapRecorder_over_queue_bytes": _probmap(True, queue_bytes=1),
}
#: Which entry points name the failing module in their error.
NAMES_MODULE = {"Features.from_model", "attribute", "grad_cam", "GradCamViewer", "sketchpad", "graph_modules",
                "graph_autograd"}


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> Iterator[None]:
    """Tiny models run ten times faster on one thread when other processes share the cores (no spinning)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _chain(exc: BaseException | None) -> str:
    text = []
    while exc is not None:
        text.append(f"{type(exc).__name__}: {exc}")
        exc = exc.__cause__ or exc.__context__
    return " <- ".join(text)


@pytest.mark.parametrize("entry", list(ENTRIES))
def test_the_model_comes_back_bit_identical(entry: str) -> None:
    run = ENTRIES[entry]
    failed = 0
    for seed in range(TREES):
        tree = make_tree(seed)
        if entry.startswith("ProbMapRecorder"):  # the tree classifies images: a Linear maps plane points to images
            tree.root = nn.Sequential(nn.Linear(2, 3 * SIDE * SIDE), nn.Unflatten(1, (3, SIDE, SIDE)), tree.model)
            tree.root.training = bool(seed % 2)
        root = tree.root
        for armed in (False, True):
            rng = np.random.default_rng([seed, armed])
            tree.trip.arm(int(rng.integers(0, 2)) if armed else None)
            before = snapshot(root)
            where = f"{entry}, tree {seed}, {'failing midway' if armed else 'succeeding'}"
            try:
                run(tree, rng)
            except Exception as exc:  # noqa: BLE001 - any failure must be the tripwire's, said clearly
                text = _chain(exc)
                assert armed and "tripwire" in text, f"{where}: {text}"
                if entry in NAMES_MODULE:
                    assert f"module {tree.trip_path!r}" in str(exc), f"{where}: the failing module is not named: {exc}"
                failed += 1
            tree.trip.calls = 0  # the tripwire's own counter is not the model's state
            assert_same(before, snapshot(root), where)
        assert_user_hooks_fire(tree)
    assert failed >= TREES // 3, f"{entry}: only {failed} runs failed midway"
