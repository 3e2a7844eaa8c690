"""A model's architecture as plain graph data: module dataflow (torch.fx, or forward hooks when tracing fails) or
the autograd graph as torchviz builds it, with the module hierarchy, output shapes, folded repeated blocks, the
graph as seen at a collapse depth, a layered layout and DOT / SVG export.

Nodes are ``{"id", "path", "type", "params", "shape", "kind"}``; ``kind`` is "module" (the node is a module's call
itself), "op" (a function inside the module ``path``; "" outside any), "input", "output", "tensor" (autograd: a
parameter or an output tensor) or "grad_fn" (autograd: a backward function run in module ``path``). Edges are
``{"source", "target", "shape"}``: data flows from source to target.
"""

from __future__ import annotations

import contextlib
import difflib
import gc
import io
import re
import sys
import time
import weakref
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.fx
from torch import nn
from torch.func import functional_call
from torch.fx.passes.shape_prop import ShapeProp

from .activations import resolve_layer
from .probmap import has_forward_hooks
from .torch_utils import forward_failed, handed_back, model_device, model_dtype

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


def _size(value: Any) -> tuple[int, ...] | None:
    """Shape of a tensor, or of the first tensor in a tuple / list; None when there is none."""
    t = value if isinstance(value, torch.Tensor) else next(
        (v for v in (value if isinstance(value, (tuple, list)) else ()) if isinstance(v, torch.Tensor)), None)
    return None if t is None else tuple(int(s) for s in t.shape)


def _shape_text(shape: tuple[int, ...] | None) -> str:
    return "" if shape is None else "(" + ", ".join(str(s) for s in shape) + ")"


def _shape(value: Any) -> str:
    return _shape_text(_size(value))


def _own_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


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


def _as_args(x: Any) -> tuple:
    return x if isinstance(x, tuple) else (x,)


# -- the real forward, with hooks ------------------------------------------------------------------------------
@dataclass
class _Trace:
    """What forward hooks saw: module calls in order, their output shapes, and tensor producers."""

    sizes: dict[str, tuple[int, ...]] = field(default_factory=dict)
    calls: list[tuple[str, list[int], list[int]]] = field(default_factory=list)  # (path, input ids, output ids)
    spans: dict[str, list[tuple[int, int]]] = field(default_factory=lambda: defaultdict(list))
    output: Any = None


def _tensor_ids(value: Any) -> list[int]:
    if isinstance(value, torch.Tensor):
        return [id(value)]
    if isinstance(value, (tuple, list)):
        return [i for v in value for i in _tensor_ids(v)]
    if isinstance(value, dict):
        return [i for v in value.values() for i in _tensor_ids(v)]
    return []


@contextlib.contextmanager
def _hooked(model: nn.Module, trace: _Trace, seq: Any = None, watch: Any = None) -> Iterator[None]:
    """Hooks that fill ``trace``; ``seq()`` (autograd mode) marks where each module's call starts and ends;
    ``watch(module, out)`` sees every module's output."""
    names = {id(m): p for p, m in model.named_modules()}
    leaves = {id(m) for m in model.modules() if not any(True for _ in m.children())}
    starts: dict[int, list[int]] = defaultdict(list)

    def pre(module: nn.Module, args: Any) -> None:
        if seq is not None:
            starts[id(module)].append(seq())
        if id(module) in leaves:
            trace.calls.append((names[id(module)], _tensor_ids(args), []))

    def post(module: nn.Module, _args: Any, out: Any) -> None:
        path = names[id(module)]
        if path not in trace.sizes:
            trace.sizes[path] = _size(out) or ()
        if seq is not None:
            trace.spans[path].append((starts[id(module)].pop(), seq()))
        if id(module) in leaves:
            for i in range(len(trace.calls) - 1, -1, -1):
                if trace.calls[i][0] == path and not trace.calls[i][2]:
                    trace.calls[i][2].extend(_tensor_ids(out) or [-1])
                    break
        if watch is not None:
            watch(module, out)

    handles = [h for m in model.modules() for h in (m.register_forward_pre_hook(pre), m.register_forward_hook(post))]
    try:
        yield
    finally:
        for h in handles:
            h.remove()


def _run(model: nn.Module, x: Any, trace: _Trace, seq: Any = None) -> Any:
    try:
        with _hooked(model, trace, seq):
            out = model(*_as_args(x))
    except Exception as exc:
        raise forward_failed(exc, model, _as_args(x)[0]) from exc
    trace.output = out
    return out


# -- modules mode ----------------------------------------------------------------------------------------------
class _Tracer(torch.fx.Tracer):
    """torch.fx's tracer that also keeps what each module call returned (its first call), for module shapes."""

    def __init__(self) -> None:
        super().__init__()
        self.returned: dict[str, Any] = {}

    def call_module(self, m: nn.Module, forward: Any, args: Any, kwargs: Any) -> Any:
        out = super().call_module(m, forward, args, kwargs)
        self.returned.setdefault(self.path_of_module(m), out)
        return out


def _fx_trace(model: nn.Module) -> tuple[Any, dict[str, Any]]:
    """(GraphModule, module path -> the fx node its first call returned; "" -> the model's output)."""
    tracer = _Tracer()
    graph = tracer.trace(model)
    gm = torch.fx.GraphModule(tracer.root, graph)
    returned = {p: _first_fx_node(v) for p, v in tracer.returned.items()}
    returned[""] = next((_first_fx_node(n.args) for n in graph.nodes if n.op == "output"), None)
    return gm, {p: n for p, n in returned.items() if n is not None}


def _first_fx_node(value: Any) -> Any:
    """The first fx node in a module's return value (a Proxy, a node, or a tuple / list / dict of them)."""
    if isinstance(value, torch.fx.Proxy):
        return value.node
    if isinstance(value, torch.fx.Node):
        return value
    items = value.values() if isinstance(value, dict) else value if isinstance(value, (tuple, list)) else ()
    return next((n for n in map(_first_fx_node, items) if n is not None), None)


def _fx_shape(node: Any) -> tuple[int, ...] | None:
    """Shape ShapeProp recorded for ``node`` (the first tensor's, when it returns several); None if none."""
    meta = node.meta.get("tensor_meta")
    if not hasattr(meta, "shape"):
        meta = next((m for m in (meta if isinstance(meta, (tuple, list)) else ()) if hasattr(m, "shape")), None)
    return None if meta is None else tuple(int(s) for s in meta.shape)


def _fx_graph(gm: Any, modules: dict[str, nn.Module]) -> tuple[list[dict], list[dict]]:
    """Nodes and edges of a traced model whose nodes carry ShapeProp's ``tensor_meta``."""
    nodes: list[dict] = []
    ids: dict[Any, str] = {}
    for n in gm.graph.nodes:
        if n.op == "get_attr":
            continue
        meta = n.meta.get("tensor_meta")
        shape = _shape_text(tuple(int(s) for s in meta.shape)) if hasattr(meta, "shape") else ""
        if n.op == "call_module":
            path = str(n.target)
            node = {"id": n.name, "path": path, "type": type(modules[path]).__name__,
                    "params": _own_params(modules[path]), "kind": "module"}
        elif n.op in ("call_function", "call_method"):
            stack = list((n.meta.get("nn_module_stack") or {}).values())
            path = str(stack[-1][0]) if stack else ""
            name = n.target if isinstance(n.target, str) else getattr(n.target, "__name__", str(n.target))
            node = {"id": n.name, "path": path if path in modules else "", "type": name, "params": 0, "kind": "op"}
        else:
            kind = "input" if n.op == "placeholder" else "output"
            node = {"id": n.name, "path": "", "type": kind, "params": 0, "kind": kind}
        node["shape"] = shape
        ids[n] = n.name
        nodes.append(node)
    by_id = {nd["id"]: nd for nd in nodes}
    edges = [{"source": ids[src], "target": ids[n], "shape": by_id[ids[src]]["shape"]}
             for n in gm.graph.nodes if n in ids for src in n.all_input_nodes if src in ids]
    return nodes, edges


def _keeps_shape(m: nn.Module, x: Any) -> bool:
    """Whether ``m`` is a stock normalisation layer (forward not overridden, no hooks) that takes the meta tensor
    ``x``: its output then has ``x``'s shape by definition."""
    if not (isinstance(x, torch.Tensor) and x.is_meta) or m._forward_hooks or m._forward_pre_hooks:
        return False
    forward = type(m).forward
    if forward in (nn.modules.batchnorm._BatchNorm.forward, nn.modules.instancenorm._InstanceNorm.forward):
        m._check_input_dim(x)  # type: ignore[operator]  # the error the layer itself would raise
        return x.shape[1] == m.num_features
    if forward is nn.GroupNorm.forward:
        return x.dim() >= 2 and x.shape[1] == m.num_channels
    if forward is nn.LayerNorm.forward:
        return tuple(x.shape[x.dim() - len(m.normalized_shape):]) == tuple(m.normalized_shape)
    return False


class _ShapeProp(ShapeProp):
    """torch.fx's ShapeProp, where normalisation layers that keep their input's shape (:func:`_keeps_shape`) answer
    with an empty tensor of that shape: on meta tensors they run through Python decompositions, three quarters of a
    ResNet's shape propagation and a third of a transformer's."""

    def call_module(self, target: Any, args: Any, kwargs: Any) -> Any:
        if len(args) == 1 and not kwargs and _keeps_shape(self.fetch_attr(target), args[0]):
            return torch.empty_like(args[0])
        return super().call_module(target, args, kwargs)


class _Propagate(nn.Module):
    """Shape propagation as a module's forward, so ``functional_call`` can swap ``gm``'s tensors."""

    def __init__(self, gm: nn.Module) -> None:
        super().__init__()
        self.gm = gm

    def forward(self, *args: Any) -> Any:
        return _ShapeProp(self.gm).propagate(*args)


def _clear_shapes(gm: Any) -> None:
    for n in gm.graph.nodes:
        n.meta.pop("tensor_meta", None)
        n.meta.pop("type", None)


def _meta_shapes(gm: nn.Module, x: Any) -> bool:
    """Shape propagation through ``gm`` on meta tensors: no compute, and the model's own forward never runs.

    Parameters and buffers are swapped for meta copies only for the call (the model is not touched); False, with
    every shape cleared, when an op cannot run on meta tensors (no meta kernel, data-dependent shapes, a constant
    on the model's device...): the caller then propagates on the real input.
    """
    def meta(t: torch.Tensor) -> torch.Tensor:
        return torch.empty_strided(t.shape, t.stride(), dtype=t.dtype, device="meta")

    state = {k: meta(v) for k, v in [*gm.named_parameters(remove_duplicate=False),
                                     *gm.named_buffers(remove_duplicate=False)]}
    args = tuple(meta(a) for a in _as_args(x))
    try:  # ShapeProp prints the traceback of a failing op before it raises: keep that out of the user's output
        with contextlib.redirect_stderr(io.StringIO()):
            functional_call(_Propagate(gm), {f"gm.{k}": v for k, v in state.items()}, args, strict=False,
                            tie_weights=False)
        return True
    except Exception:  # noqa: BLE001 - any failure on meta tensors means: run the real input instead
        _clear_shapes(gm)
        return False


def _real_shapes(gm: nn.Module, x: Any) -> bool:
    """Shape propagation through ``gm`` on the real input (when meta tensors could not do it); False if it fails."""
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            _ShapeProp(gm).propagate(*_as_args(x))
        return True
    except Exception:  # noqa: BLE001 - the caller runs the model itself, whose error names the module
        _clear_shapes(gm)
        return False


_Capture = tuple[list[dict], list[dict], dict[str, tuple[int, ...]], str]  # nodes, edges, module shapes, fallback


def _hook_fallback(model: nn.Module, x: Any, modules: dict[str, nn.Module], why: str) -> _Capture:
    """The model's own forward with hooks: its error names the failing module; else the graph of module calls."""
    trace = _Trace()
    _run(model, x, trace)
    return (*_hook_graph(trace, x, modules), trace.sizes,
            f"{why}; the graph comes from forward hooks: module calls only, ops between modules are not shown")


def _capture_modules(model: nn.Module, x: Any, modules: dict[str, nn.Module]) -> _Capture:
    """Modules mode.

    torch.fx traces the model and ShapeProp gives every shape on meta tensors, so a traceable model's forward never
    runs for real; the real input goes through the traced graph only when an op cannot run on meta tensors. When
    tracing fails (e.g. data-dependent control flow) or the traced graph cannot run the input, the model's own
    forward runs with hooks: its error names the failing module, or its module calls make the graph.
    """
    try:
        gm, returned = _fx_trace(model)
    except Exception as exc:  # noqa: BLE001 - any tracing failure falls back to hooks, and says why
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        return _hook_fallback(model, x, modules, f"torch.fx could not trace the model ({type(exc).__name__}: "
                                                 f"{first[:300]}), e.g. data-dependent control flow")
    if not (_meta_shapes(gm, x) or _real_shapes(gm, x)):
        return _hook_fallback(model, x, modules, "torch.fx traced the model but its graph could not run example_input")
    return (*_fx_graph(gm, modules), {p: _fx_shape(n) or () for p, n in returned.items()}, "")


def _hook_graph(trace: _Trace, x: Any, modules: dict[str, nn.Module]) -> tuple[list[dict], list[dict]]:
    """Module calls as nodes, joined where one call's output tensor is another's input (ops between modules are
    not seen: a call whose input came from such an op is joined to the call before it)."""
    nodes = [{"id": "input", "path": "", "type": "input", "params": 0, "kind": "input", "shape": _shape(x)}]
    producer = {i: "input" for i in _tensor_ids(x)}
    edges: list[dict] = []
    count: dict[str, int] = defaultdict(int)
    prev = "input"
    for path, ins, outs in trace.calls:
        count[path] += 1
        nid = path if count[path] == 1 else f"{path}#{count[path]}"
        nodes.append({"id": nid, "path": path, "type": type(modules[path]).__name__,
                      "params": _own_params(modules[path]) if count[path] == 1 else 0, "kind": "module",
                      "shape": _shape_text(trace.sizes.get(path))})
        sources = list(dict.fromkeys(producer[i] for i in ins if i in producer)) or [prev]
        edges += [{"source": s, "target": nid, "shape": ""} for s in sources]
        producer.update({i: nid for i in outs})
        prev = nid
    sources = list(dict.fromkeys(producer[i] for i in _tensor_ids(trace.output) if i in producer)) or [prev]
    nodes.append({"id": "output", "path": "", "type": "output", "params": 0, "kind": "output",
                  "shape": _shape(trace.output)})
    edges += [{"source": s, "target": "output", "shape": ""} for s in sources]
    shapes = {n["id"]: n["shape"] for n in nodes}
    for e in edges:
        e["shape"] = shapes[e["source"]]
    return nodes, edges


# -- autograd mode ---------------------------------------------------------------------------------------------
_DOT_NODE = re.compile(r'^\t(\d+) \[label=(?:"((?:[^"\\]|\\.)*)"|([^\s\]]+))')
_DOT_EDGE = re.compile(r"^\t(\d+) -> (\d+)")


def _reachable(out: Any) -> dict[int, Any]:
    """Every object torchviz names by ``id``: output tensors, their bases, grad_fns and their variables."""
    found: dict[int, Any] = {}
    stack = [v for v in (out if isinstance(out, tuple) else (out,))]
    while stack:
        obj = stack.pop()
        if obj is None or id(obj) in found:
            continue
        found[id(obj)] = obj
        if isinstance(obj, torch.Tensor):
            stack += [obj.grad_fn] + ([obj._base] if obj._is_view() else [])
        else:
            if hasattr(obj, "variable"):
                stack.append(obj.variable)
            stack += [u for u, _ in getattr(obj, "next_functions", ())]
            stack += list(getattr(obj, "saved_tensors", ()) or ())
    return found


class _OverBudget(Exception):
    """The forward on fake tensors was on course to cost more than the real one."""


#: Models, and their input shapes, whose forward on fake tensors went over budget, and how often: from the second
#: time on (once could be a stall of the machine), they run the real forward.
_OVER_BUDGET: weakref.WeakKeyDictionary[nn.Module, dict[tuple, int]] = weakref.WeakKeyDictionary()
#: FLOP/s per torch thread that a real CPU forward's convolutions and linear layers are assumed to reach: a
#: ResNet-50 forward with autograd on reaches 36 GFLOP/s here (an AMD EPYC core), a lone convolution 30 to 100.
_FLOPS_PER_THREAD = 50e9


class _FakeBudget:
    """Watches a forward on fake tensors (a ``watch`` for :func:`_hooked`) and stops it once it is on course to cost
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


def _fake_forward(model: nn.Module, x: Any, trace: _Trace, seq: Any) -> tuple[Any, dict[str, torch.Tensor]] | None:
    """The forward on fake tensors (torch's FakeTensorMode: shapes and dtypes, no data). The autograd graph it
    records is the real forward's node for node (fake tensors keep their device, so the same kernels are chosen), at
    a cost per op instead of per FLOP: a convolutional network at image size captures in about half the time.

    Returns the output and the fake parameters by name, or None where a real forward is the better choice: off the
    CPU (real kernels are fast there), before torch._dynamo is loaded (fake tensors need it: a second's import;
    modules mode loads it), when the model has forward hooks (they would see fake tensors), when it needs values
    (``.item()``, shapes that depend on data), or when it goes over :class:`_FakeBudget`.
    """
    shapes = tuple(tuple(v.shape) for v in _as_args(x))
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
        with mode, _hooked(model, trace, seq, _FakeBudget(lambda: FakeTensorMode.cache_misses)):
            out = functional_call(model, state, tuple(fake(v) for v in _as_args(x)))
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


def _autograd_graph(out: Any, params: dict[str, torch.Tensor], trace: _Trace) -> tuple[list, list]:
    from torchviz import make_dot

    tensors = out if isinstance(out, torch.Tensor) else tuple(v for v in _as_args(out) if isinstance(v, torch.Tensor))
    if isinstance(tensors, tuple) and not tensors or (isinstance(tensors, torch.Tensor) and tensors.grad_fn is None):
        raise ValueError("autograd mode needs an output that depends on a parameter needing gradients; the model "
                         "has no parameters with requires_grad=True (use mode='modules')")
    dot = make_dot(tensors, params=params)
    objects = _reachable(tensors)
    owner = {id(p): name.rpartition(".")[0] for name, p in params.items()}
    # The deepest module whose call span holds a grad_fn's sequence number ran it.
    spans = sorted(((s, e, p) for p, lst in trace.spans.items() if p for s, e in lst), key=lambda v: (v[0], -v[1]))
    ran_in = _innermost_spans(spans, [o._sequence_nr() for o in objects.values()
                                      if not isinstance(o, torch.Tensor) and hasattr(o, "_sequence_nr")])
    nodes: list[dict] = []
    edges: list[dict] = []
    seen: set[str] = set()
    for line in dot.body:
        m = _DOT_EDGE.match(line)
        if m:
            edges.append({"source": m.group(1), "target": m.group(2), "shape": ""})
            continue
        m = _DOT_NODE.match(line)
        if not m or m.group(1) in seen:
            continue
        seen.add(m.group(1))
        obj = objects.get(int(m.group(1)))
        label = (m.group(2) if m.group(2) is not None else m.group(3)).replace("\\n", "\n")
        if isinstance(obj, torch.Tensor):
            name = label.split("\n")[0].strip()
            path = owner.get(id(obj), "")
            node = {"type": "parameter" if name else "tensor", "params": obj.numel() if name else 0,
                    "shape": _shape(obj), "kind": "tensor", "path": path, "label": name}
        else:
            path = ""
            seq = obj._sequence_nr() if obj is not None and hasattr(obj, "_sequence_nr") else -1
            var = getattr(obj, "variable", None)
            if var is not None:
                path = owner.get(id(var), "")
            else:
                path = ran_in.get(seq, "")
            meta = getattr(obj, "_input_metadata", ())
            shape = "(" + ", ".join(str(int(v)) for v in meta[0].shape) + ")" if meta else ""
            node = {"type": label.split("\n")[0], "params": 0, "shape": shape, "kind": "grad_fn", "path": path}
        nodes.append({"id": m.group(1), **node})
    shapes = {n["id"]: n["shape"] for n in nodes}
    for e in edges:
        e["shape"] = shapes.get(e["source"], "")
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
    peek = getattr(torch._C._autograd, "_get_sequence_nr", None)
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
                  "params": _own_params(modules[p]) if p in modules else 0,
                  "shape": _shape_text(shapes[p]) if shapes.get(p) else "",
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


def capture(model: nn.Module, example_input: Any, mode: str = "modules") -> Graph:
    """Capture ``model``'s graph on ``example_input``.

    Parameters
    ----------
    model
        A ``torch.nn.Module``; handed back unchanged (mode, hooks, ``requires_grad``, gradients).
    example_input
        A tensor (or a tuple of tensors) the model takes, e.g. a batch of one; moved to the model's device.
    mode
        "modules": dataflow between modules (torch.fx; forward hooks when tracing fails, see ``Graph.fallback``);
        "autograd": the backward graph as torchviz's ``make_dot`` builds it, from a forward on fake tensors where
        that is the cheaper one (:func:`_fake_forward`; the same graph), else from the real forward.

    Raises
    ------
    RuntimeError
        When the forward pass fails; the message names the module where it failed.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    check_mode(mode)
    x = prepare_input(model, example_input)
    modules = dict(model.named_modules())
    fallback = ""
    with handed_back(model):
        if mode == "autograd":
            trace, seq = _Trace(), _sequence_counter()
            with torch.enable_grad():
                ran = _fake_forward(model, x, trace, seq)
                if ran is None:  # the real forward, on a fresh trace
                    for p in model.parameters():
                        p.requires_grad_(True)
                    trace = _Trace()
                    ran = _run(model, x, trace, seq), dict(model.named_parameters())
                nodes, edges = _autograd_graph(*ran, trace)
            sizes = trace.sizes
        else:
            with torch.no_grad():
                nodes, edges, sizes, fallback = _capture_modules(model, x, modules)
    groups, folds = _groups_and_folds(nodes, modules, sizes)
    return Graph(nodes, edges, groups, folds, mode, fallback, sizes)


# -- the graph as seen -----------------------------------------------------------------------------------------
def initial_expanded(graph: Graph, depth: int) -> list[str]:
    """Groups open at ``depth``: those fewer than ``depth`` levels down (0: every group closed)."""
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 0:
        raise ValueError(f"depth must be an int >= 0 (0: every module collapsed), got {depth!r}")
    return [p for p, g in graph.groups.items() if g["depth"] < depth]


def visible(graph: Graph, expanded: list[str] | set[str]) -> tuple[list[dict], list[dict]]:
    """Nodes and edges drawn when the groups in ``expanded`` are open (mirrors js/src/model_graph/visible.ts).

    A node inside a closed group is drawn as that group (``kind`` "group"); closed groups in a run of identical
    siblings are drawn as one fold node (``kind`` "fold") unless the fold's id is expanded.
    """
    open_ = set(expanded)
    fold_of = {m: f for f in graph.folds if f["id"] not in open_ for m in f["members"]}
    shown: dict[str, dict] = {}
    where: dict[str, str] = {}
    for n in graph.nodes:
        closed = next((p for p in node_chain(n) if p not in open_), None)
        if closed is None:
            where[n["id"]] = n["id"]
            shown.setdefault(n["id"], n)
        elif closed in fold_of and all(m not in open_ for m in fold_of[closed]["members"]):
            f = fold_of[closed]
            where[n["id"]] = f["id"]
            shown.setdefault(f["id"], {"id": f["id"], "path": f["members"][0], "type": f["label"], "kind": "fold",
                                       "params": sum(graph.groups[m]["params"] for m in f["members"]),
                                       "shape": graph.groups[f["members"][-1]]["shape"]})
        else:
            g = graph.groups[closed]
            where[n["id"]] = closed
            shown.setdefault(closed, {"id": closed, "path": closed, "type": g["type"], "kind": "group",
                                      "params": g["params"], "shape": g["shape"]})
    edges: dict[tuple[str, str], dict] = {}
    for e in graph.edges:
        s, t = where.get(e["source"]), where.get(e["target"])
        if s is not None and t is not None and s != t:
            edges.setdefault((s, t), {"source": s, "target": t, "shape": e["shape"]})
    return list(shown.values()), list(edges.values())


def layered_layout(nodes: list[dict], edges: list[dict]) -> dict[str, tuple[int, int]]:
    """(layer, position) of each node: longest-path layers, each layer ordered by its parents' mean position."""
    ids = [n["id"] for n in nodes]
    preds: dict[str, list[str]] = defaultdict(list)
    for e in edges:
        preds[e["target"]].append(e["source"])
    layer: dict[str, int] = {}
    for nid in ids:  # captured nodes come in execution order, so sources come first (cycles cannot occur)
        layer[nid] = 1 + max((layer.get(p, -1) for p in preds[nid]), default=-1)
    rows: dict[int, list[str]] = defaultdict(list)
    pos: dict[str, float] = {}
    for nid in sorted(ids, key=lambda i: layer[i]):
        ps = [pos[p] for p in preds[nid] if p in pos]
        rows[layer[nid]].append(nid)
        pos[nid] = sum(ps) / len(ps) if ps else len(rows[layer[nid]])
    out = {}
    for k, row in rows.items():
        for i, nid in enumerate(sorted(row, key=lambda n: pos[n])):
            out[nid] = (k, i)
    return out


# -- export ----------------------------------------------------------------------------------------------------
def _dot_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def node_label(n: dict) -> str:
    name = n.get("label") or (n["path"].rsplit(".", 1)[-1] if n["kind"] in ("module", "group") else "")
    head = f"{name}: {n['type']}" if name else n["type"]
    return head + (f"\n{n['shape']}" if n.get("shape") else "")


def to_dot(nodes: list[dict], edges: list[dict], name: str = "model") -> str:
    """The graph in graphviz's DOT language (labels quoted, so any module name is safe)."""
    lines = [f"digraph {_dot_quote(name)} {{", "  node [shape=box, fontname=monospace, fontsize=10];"]
    lines += [f"  {_dot_quote(n['id'])} [label={_dot_quote(node_label(n))}];" for n in nodes]
    lines += [f"  {_dot_quote(e['source'])} -> {_dot_quote(e['target'])}"
              + (f" [label={_dot_quote(e['shape'])}];" if e["shape"] else ";") for e in edges]
    return "\n".join(lines + ["}"]) + "\n"


BOX_W, BOX_H, GAP_X, GAP_Y = 180, 36, 24, 40


def to_svg(nodes: list[dict], edges: list[dict]) -> str:
    """An SVG of the graph from :func:`layered_layout` (no graphviz needed); text is escaped."""
    from xml.sax.saxutils import escape

    at = layered_layout(nodes, edges)
    xy = {k: (GAP_X + i * (BOX_W + GAP_X), GAP_Y + layer * (BOX_H + GAP_Y)) for k, (layer, i) in at.items()}
    width = max((x for x, _ in xy.values()), default=0) + BOX_W + GAP_X
    height = max((y for _, y in xy.values()), default=0) + BOX_H + GAP_Y
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="monospace" '
           'font-size="10">', f'<rect width="{width}" height="{height}" fill="white"/>']
    for e in edges:
        (x1, y1), (x2, y2) = xy[e["source"]], xy[e["target"]]
        out.append(f'<line x1="{x1 + BOX_W / 2}" y1="{y1 + BOX_H}" x2="{x2 + BOX_W / 2}" y2="{y2}" stroke="#888"/>')
    for n in nodes:
        x, y = xy[n["id"]]
        fill = "#dde8f5" if n["kind"] in ("group", "fold") else "#f4f4f4"
        out.append(f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="4" fill="{fill}" stroke="#666"/>')
        for k, text in enumerate(node_label(n).split("\n")[:2]):
            out.append(f'<text x="{x + 6}" y="{y + 14 + 13 * k}">{escape(text[:30])}</text>')
    return "\n".join(out + ["</svg>"]) + "\n"


def closest_paths(path: str, known: list[str]) -> list[str]:
    """Up to 5 names in ``known`` closest to ``path``."""
    return difflib.get_close_matches(path, known, n=5, cutoff=0.4)


def module_at(model: nn.Module, path: str) -> nn.Module:
    """The module at ``path`` (errors list the closest names, from :func:`resolve_layer`)."""
    return resolve_layer(model, path)[1]
