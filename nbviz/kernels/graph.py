"""A model's architecture as plain graph data: module dataflow (torch.fx, or forward hooks when tracing fails) or
the autograd graph torchviz draws, with the module hierarchy, output shapes and folded repeated blocks.

This module is capture: :func:`capture`, the :class:`Graph` it returns, :func:`prepare_input`, autograd mode (a
forward on fake tensors within a budget, else the real one; ``grad_fn`` / ``next_functions`` walked here, the node
set torchviz draws; torchviz itself only for DOT, :func:`autograd_dot`) and the hierarchy and folds.
Modules mode is in :mod:`.graph_modules`, the forward hooks both modes use in :mod:`.graph_hooks`, and what turns a
captured graph into what is drawn (collapse, the fallback layout, DOT) in :mod:`.graph_view`.

Nodes are ``{"id", "path", "type", "params", "shape", "kind"}``; ``kind`` is "module" (the node is a module's call
itself), "op" (a function inside the module ``path``; "" outside any), "input", "output", "tensor" (autograd: a
parameter or an output tensor) or "grad_fn" (autograd: a backward function run in module ``path``). Edges are
``{"source", "target", "shape"}``: data flows from source to target.
"""

from __future__ import annotations

import gc
import sys
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.func import functional_call

from .activations import resolve_layer
from .graph_hooks import Trace, as_args, hooked, own_params, run_hooked, shape_of, shape_text
from .graph_modules import capture_modules
from .model_runner import has_forward_hooks
from .torch_utils import handed_back, model_device, model_dtype

MODES = ("modules", "autograd")


@dataclass
class Graph:
    """A captured graph.

    Attributes
    ----------
    nodes, edges
        As in the module docstring.
    groups
        Module paths that hold nodes (collapsible), each ``{"path", "type", "params", "shape", "depth"}``.
    folds
        Runs of identical consecutive sibling groups, each ``{"id", "members", "label"}``; a fold is drawn as one
        node until its id is expanded.
    mode
        "modules" or "autograd".
    fallback
        Why the capture fell back to forward hooks ("" when it did not).
    """

    nodes: list[dict]
    edges: list[dict]
    groups: dict[str, dict]
    folds: list[dict] = field(default_factory=list)
    mode: str = "modules"
    fallback: str = ""
    #: Output shape of every module that ran, by path ("" is the model itself).
    module_shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)

    def chain(self, node: dict) -> list[str]:
        """The groups holding ``node``, outermost first (the model itself, "", is not one)."""
        return node_chain(node)


def node_chain(node: dict) -> list[str]:
    path = node["path"]
    if not path:
        return []
    parts = path.split(".")
    chain = [".".join(parts[:i]) for i in range(1, len(parts))]
    return chain if node["kind"] == "module" else [*chain, path]


# -- input -----------------------------------------------------------------------------------------------------
def prepare_input(model: nn.Module, example_input: Any) -> Any:
    """``example_input`` (a tensor, or a tuple of them) moved to the model's device (and floating dtype)."""
    device, dtype = model_device(model), model_dtype(model, None)

    def move(x: Any) -> Any:
        if isinstance(x, torch.Tensor):
            x = x.detach().to(device)
            return x.to(dtype) if dtype is not None and x.is_floating_point() else x
        raise TypeError(f"example_input must be a tensor or a tuple of tensors, got {type(x).__name__}")

    if isinstance(example_input, (tuple, list)):
        if not example_input:
            raise ValueError("example_input must hold at least one tensor, got an empty sequence")
        return tuple(move(x) for x in example_input)
    return move(example_input)


# -- autograd mode ---------------------------------------------------------------------------------------------
def autograd_objects(outputs: tuple[torch.Tensor, ...]) -> tuple[dict[int, Any], list[tuple[int, int]]]:
    """What torchviz's ``make_dot(outputs)`` draws with its default options, found by walking ``grad_fn`` /
    ``next_functions`` here: the objects by ``id`` in the order ``make_dot`` first draws them (each output tensor and
    the base of a view, backward functions, the variable of an ``AccumulateGrad``, the saved tensors of custom
    autograd functions), and its edges ``(source id, target id)`` in its order, repeats included (an op that takes a
    tensor twice has two edges). tests/unit/test_graph.py holds the counts equal to ``make_dot``'s.

    Depth first as ``make_dot`` recurses, on an explicit stack: a deep graph needs no recursion limit.
    """
    drawn: dict[int, Any] = {}  # by id, in the order of first drawing; holds them alive, so ids stay unique
    seen: set[int] = set()  # make_dot's `seen`: functions and tensors, which it draws (or skips) once
    edges: list[tuple[int, int]] = []
    # ("tensor", t) / ("fn", f): visit; ("edge", a, b) / ("saved", t, f): an edge, drawn once what was pushed above
    # it is done (as make_dot draws an edge after the call before it returns).
    todo: list[tuple] = [("tensor", t) for t in reversed(outputs)]
    while todo:
        step = todo.pop()
        if step[0] == "edge":
            edges.append((id(step[1]), id(step[2])))
            continue
        if step[0] == "saved":  # drawn as make_dot draws them: after the function's inputs, never skipped
            _, saved, fn = step
            seen.add(id(saved))
            edges.append((id(saved), id(fn)))
            drawn.setdefault(id(saved), saved)
            continue
        obj = step[1]
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        later: list[tuple] = []
        if step[0] == "tensor":
            drawn.setdefault(id(obj), obj)
            if obj.grad_fn is not None:
                later += [("fn", obj.grad_fn), ("edge", obj.grad_fn, obj)]
            if obj._is_view():
                later += [("tensor", obj._base), ("edge", obj._base, obj)]
        else:
            var = getattr(obj, "variable", None)
            if var is not None:  # an AccumulateGrad: the leaf it fills, drawn before the function
                seen.add(id(var))
                drawn.setdefault(id(var), var)
                edges.append((id(var), id(obj)))
            drawn.setdefault(id(obj), obj)
            for fn, _ in getattr(obj, "next_functions", ()):
                if fn is not None:
                    later += [("edge", fn, obj), ("fn", fn)]
            # Custom autograd functions keep their saved tensors here (built-in ones do not expose it).
            for saved in getattr(obj, "saved_tensors", None) or ():
                later += [("saved", saved, obj)]
        todo += reversed(later)
    return drawn, edges


class _OverBudget(Exception):
    """The forward on fake tensors was on course to cost more than the real one."""


#: Models, and their input shapes, whose forward on fake tensors went over budget, and how often: from the second
#: time on (once could be a stall of the machine), they run the real forward.
_OVER_BUDGET: weakref.WeakKeyDictionary[nn.Module, dict[tuple, int]] = weakref.WeakKeyDictionary()
#: FLOP/s per torch thread that a real CPU forward's convolutions and linear layers are assumed to reach: a
#: ResNet-50 forward with autograd on reaches 36 GFLOP/s here (an AMD EPYC core), a lone convolution 30 to 100.
_FLOPS_PER_THREAD = 50e9


class _FakeBudget:
    """Watches a forward on fake tensors (a ``watch`` for :func:`hooked`) and stops it once it is on course to cost
    more than the real one: the time so far against 1.5 times what the convolutions and linear layers seen so far
    would take at ``_FLOPS_PER_THREAD``, plus 25 ms for stalls of a busy machine. A many-small-ops model turns back
    early; a ResNet-50 at 224 x 224 finishes in a third of its budget. Fake tensors cache each op's output
    metadata by its inputs' shapes, and a pass over new shapes costs several times a later one: stretches that
    filled the cache are not counted, so a model that is cheaper on fake tensors is not turned back the first time
    it is seen."""

    def __init__(self, misses: Any) -> None:
        self.rate, self.flops, self.cold = _FLOPS_PER_THREAD * torch.get_num_threads(), 0.0, 0.0
        self.misses, self.seen = misses, misses()
        self.start = self.last = time.perf_counter()

    def __call__(self, module: nn.Module, out: Any) -> None:
        w = getattr(module, "weight", None)
        if isinstance(w, torch.Tensor) and w.dim() >= 2 and isinstance(out, torch.Tensor):
            self.flops += 2.0 * out.numel() * (w.numel() // w.shape[0])
        now, seen = time.perf_counter(), self.misses()
        if seen != self.seen:
            self.cold, self.seen = self.cold + now - self.last, seen
        self.last = now
        if now - self.start - self.cold > 1.5 * self.flops / self.rate + 0.025:
            raise _OverBudget


def _fake_forward(model: nn.Module, x: Any, trace: Trace, seq: Any) -> tuple[Any, dict[str, torch.Tensor]] | None:
    """The forward on fake tensors (torch's FakeTensorMode: shapes and dtypes, no data). The autograd graph it
    records is the real forward's node for node (fake tensors keep their device, so the same kernels are chosen), at
    a cost per op instead of per FLOP: a convolutional network at image size captures in about half the time. One
    name differs: where a view of a tensor changed in place is drawn, torch regenerates its backward function by
    replaying the view (e.g. SelectBackward0) on fake tensors and by ``as_strided`` (AsStridedBackward0) on real ones.

    Returns the output and the fake parameters by name, or None where a real forward is the better choice: off the
    CPU (real kernels are fast there), before torch._dynamo is loaded (fake tensors need it: a second's import;
    modules mode loads it), when the model has forward hooks (they would see fake tensors), when it needs values
    (``.item()``, shapes that depend on data), or when it goes over :class:`_FakeBudget`.
    """
    shapes = tuple(tuple(v.shape) for v in as_args(x))
    if (model_device(model).type != "cpu" or "torch._dynamo" not in sys.modules or has_forward_hooks(model)
            or _OVER_BUDGET.get(model, {}).get(shapes, 0) >= 2):
        return None
    from torch._subclasses.fake_tensor import FakeTensor, FakeTensorMode

    mode = FakeTensorMode(allow_non_fake_inputs=True)

    def fake(t: torch.Tensor) -> torch.Tensor:  # about 15 us, a tenth of mode.from_tensor's
        return FakeTensor(mode, torch.empty_strided(t.shape, t.stride(), dtype=t.dtype, device="meta"), t.device)

    params = {name: fake(p).requires_grad_(True) for name, p in model.named_parameters()}
    state = {**params, **{name: fake(b) for name, b in model.named_buffers()}}
    collecting = gc.isenabled()
    gc.disable()  # a full collection (tens of ms with a big heap) mid-pass would read as a slow pass
    try:
        with mode, hooked(model, trace, seq, _FakeBudget(lambda: FakeTensorMode.cache_misses)):
            out = functional_call(model, state, tuple(fake(v) for v in as_args(x)))
    except _OverBudget:
        tries = _OVER_BUDGET.setdefault(model, {})
        tries[shapes] = tries.get(shapes, 0) + 1
        return None
    except Exception:  # noqa: BLE001 - any failure here means: run the real forward
        return None
    finally:
        if collecting:
            gc.enable()
    return out, params


def _output_tensors(out: Any) -> tuple[torch.Tensor, ...]:
    """The output tensors whose graph is drawn (a tensor, or the tensors in a tuple), or a ValueError when there
    is no graph to draw."""
    tensors = (out,) if isinstance(out, torch.Tensor) else tuple(v for v in as_args(out) if isinstance(v, torch.Tensor))
    if not tensors or (isinstance(out, torch.Tensor) and out.grad_fn is None):
        raise ValueError("autograd mode needs an output that depends on a parameter needing gradients; the model "
                         "has no parameters with requires_grad=True (use mode='modules')")
    return tensors


def _autograd_graph(out: Any, params: dict[str, torch.Tensor], trace: Trace) -> tuple[list, list]:
    objects, links = autograd_objects(_output_tensors(out))
    owner = {id(p): name.rpartition(".")[0] for name, p in params.items()}
    names = {id(p): name for name, p in params.items()}
    # The deepest module whose call span holds a grad_fn's sequence number ran it.
    spans = sorted(((s, e, p) for p, lst in trace.spans.items() if p for s, e in lst), key=lambda v: (v[0], -v[1]))
    ran_in = _innermost_spans(spans, [o._sequence_nr() for o in objects.values()
                                      if not isinstance(o, torch.Tensor) and hasattr(o, "_sequence_nr")])
    nodes: list[dict] = []
    for key, obj in objects.items():
        if isinstance(obj, torch.Tensor):
            name = names.get(key, "")  # torchviz labels parameters by name, other tensors by shape alone
            node = {"type": "parameter" if name else "tensor", "params": obj.numel() if name else 0,
                    "shape": shape_of(obj), "kind": "tensor", "path": owner.get(key, ""), "label": name}
        else:
            var = getattr(obj, "variable", None)
            path = owner.get(id(var), "") if var is not None else ran_in.get(obj._sequence_nr(), "")
            meta = getattr(obj, "_input_metadata", ())
            shape = "(" + ", ".join(str(int(v)) for v in meta[0].shape) + ")" if meta else ""
            node = {"type": type(obj).__name__, "params": 0, "shape": shape, "kind": "grad_fn", "path": path}
        nodes.append({"id": str(key), **node})
    shapes = {n["id"]: n["shape"] for n in nodes}
    edges = [{"source": str(a), "target": str(b), "shape": shapes[str(a)]} for a, b in links]
    return nodes, edges


def _innermost_spans(spans: list[tuple[int, int, str]], seqs: list[int]) -> dict[int, str]:
    """For each sequence number, the longest path among the spans ``(start, end, path)`` (sorted by start, then
    longest first) holding it (``start <= seq < end``), the last such span on a tie; "" when none does.

    One sweep over both sorted lists: module calls nest, so the spans open at any point are few.
    """
    out: dict[int, str] = {}
    active: list[tuple[int, int, str]] = []
    i = 0
    for seq in sorted(set(seqs)):
        while i < len(spans) and spans[i][0] <= seq:
            active.append(spans[i])
            i += 1
        active = [sp for sp in active if sp[1] > seq]
        path = ""
        for _s, _e, p in active:
            if len(p) >= len(path):
                path = p
        out[seq] = path
    return out


def _sequence_counter() -> Any:
    """A function giving the sequence number the next autograd node will get (torch's own counter, read directly;
    where torch lacks that, a tiny autograd node is made to read it: ten times the cost, a module call in every
    module of the model)."""
    peek = getattr(torch._C._autograd, "_get_sequence_nr", None)  # pyright: ignore[reportAttributeAccessIssue] - not in torch stubs
    if peek is not None:
        return peek
    probe = torch.zeros((), requires_grad=True)

    def seq() -> int:
        with torch.enable_grad():
            return (probe * 1).grad_fn._sequence_nr() + 1  # type: ignore[union-attr]

    return seq


# -- hierarchy -------------------------------------------------------------------------------------------------
def _signature(module: nn.Module) -> tuple:
    """Equal for blocks that are identical in structure and parameter shapes."""
    return (tuple((n, type(m).__name__) for n, m in module.named_modules()),
            tuple((n, tuple(p.shape)) for n, p in module.named_parameters()))


def _groups_and_folds(nodes: list[dict], modules: dict[str, nn.Module],
                      shapes: dict[str, tuple[int, ...]]) -> tuple[dict, list]:
    paths = {p for n in nodes for p in node_chain(n)}
    groups = {p: {"path": p, "type": type(modules[p]).__name__ if p in modules else "?",
                  "params": own_params(modules[p]) if p in modules else 0,
                  "shape": shape_text(shapes[p]) if shapes.get(p) else "",
                  "depth": p.count(".") + 1} for p in sorted(paths, key=lambda p: (p.count("."), p))}
    folds = []
    signatures: dict[str, tuple] = {}

    def signature(path: str, module: nn.Module) -> tuple:
        if path not in signatures:
            signatures[path] = _signature(module)
        return signatures[path]

    for parent, module in [("", modules[""])] + [(p, modules[p]) for p in groups if p in modules]:
        run: list[str] = []
        children = [(f"{parent}.{n}" if parent else n, m) for n, m in module.named_children()]
        for path, child in children + [("", None)]:
            same = (run and child is not None and path in groups
                    and signature(path, child) == signature(run[0], modules[run[0]]))
            if same:
                run.append(path)
                continue
            if len(run) >= 2:
                folds.append({"id": f"{run[0]}..{run[-1]}", "members": list(run),
                              "label": f"{groups[run[0]]['type']} x {len(run)}"})
            run = [path] if child is not None and path in groups else []
    return groups, folds


# -- capture ---------------------------------------------------------------------------------------------------
def check_mode(mode: str) -> None:
    if mode not in MODES:
        raise ValueError(f"mode must be one of {list(MODES)}, got {mode!r}")


def _check_model(model: Any) -> None:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")


def _autograd_forward(model: nn.Module, x: Any) -> tuple[Any, dict[str, torch.Tensor], Trace]:
    """The forward autograd mode draws, run inside :func:`handed_back` with every parameter needing a gradient
    (frozen ones too: the graph shows the whole model): on fake tensors where that is the cheaper one
    (:func:`_fake_forward`), else the real one. Returns the output, the parameters it used by name, and the trace."""
    trace, seq = Trace(), _sequence_counter()
    with torch.enable_grad():
        ran = _fake_forward(model, x, trace, seq)
        if ran is not None:
            return ran[0], ran[1], trace
        for p in model.parameters():  # the real forward, on a fresh trace
            p.requires_grad_(True)
        params: dict[str, torch.Tensor] = dict(model.named_parameters())
        trace = Trace()
        return run_hooked(model, x, trace, seq), params, trace


def autograd_dot(model: nn.Module, example_input: Any) -> Any:
    """torchviz's ``make_dot`` (a ``graphviz.Digraph``) of the graph :func:`capture` draws in autograd mode: the
    same nodes and edges, labelled and coloured by torchviz. The forward runs again (as :func:`capture` runs it,
    the model handed back unchanged), so node names are ``id``s of this forward's objects, not the captured ids."""
    from torchviz import make_dot

    _check_model(model)
    x = prepare_input(model, example_input)
    with handed_back(model):
        out, params, _ = _autograd_forward(model, x)
    return make_dot(_output_tensors(out), params=params)


def capture(model: nn.Module, example_input: Any, mode: str = "modules",
            step: Callable[[str], None] | None = None) -> Graph:
    """Capture ``model``'s graph on ``example_input``.

    Parameters
    ----------
    model
        A ``torch.nn.Module``; handed back unchanged (mode, hooks, ``requires_grad``, gradients).
    example_input
        A tensor (or a tuple of tensors) the model takes, e.g. a batch of one; moved to the model's device.
    mode
        "modules": dataflow between modules (torch.fx; forward hooks when tracing fails, see ``Graph.fallback``);
        "autograd": the backward graph, the nodes and edges torchviz's ``make_dot`` draws (:func:`autograd_objects`;
        :func:`autograd_dot` is torchviz's own picture of it), from a forward on fake tensors where that is the
        cheaper one (:func:`_fake_forward`; the same graph), else from the real forward.
    step
        Called with what runs next as each of two steps starts (the capture, then groups and folds), e.g.
        :meth:`nbviz.kernels.progress_steps.Steps.step`.

    Raises
    ------
    RuntimeError
        When the forward pass fails; the message names the module where it failed.
    """
    _check_model(model)
    check_mode(mode)
    x = prepare_input(model, example_input)
    modules = dict(model.named_modules())
    fallback = ""
    say = step or (lambda _status: None)
    say("autograd graph: forward" if mode == "autograd" else "torch.fx trace and shapes")
    with handed_back(model):
        if mode == "autograd":
            out, params, trace = _autograd_forward(model, x)
            nodes, edges = _autograd_graph(out, params, trace)
            sizes = trace.sizes
        else:
            with torch.no_grad():
                nodes, edges, sizes, fallback = capture_modules(model, x, modules)
    say(f"groups of {len(nodes)} nodes")
    groups, folds = _groups_and_folds(nodes, modules, sizes)
    return Graph(nodes, edges, groups, folds, mode, fallback, sizes)


def module_at(model: nn.Module, path: str) -> nn.Module:
    """The module at ``path`` (errors list the closest names, from :func:`resolve_layer`)."""
    return resolve_layer(model, path)[1]
