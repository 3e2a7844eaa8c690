"""Modules-mode capture for :func:`nbviz.kernels.graph.capture`: dataflow between modules and the ops between
them, traced by torch.fx with shapes from shape propagation on meta tensors (the real input where an op cannot run on
them, or while that is the cheaper way, see :data:`REAL_FIRST_S`), or, when tracing fails, the module calls that
forward hooks see (:mod:`.graph_hooks`).
"""

from __future__ import annotations

import contextlib
import io
import sys
import time
from collections import defaultdict
from typing import Any

import torch
import torch.fx
from torch import nn
from torch.func import functional_call
from torch.fx.node import map_aggregate

from .graph_hooks import Trace, as_args, own_params, run_hooked, shape_of, shape_text, tensor_ids


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
    """Shape the shape propagation recorded for ``node`` (the first tensor's, when it returns several); None if none."""
    meta = node.meta.get("tensor_meta")
    if not hasattr(meta, "shape"):
        meta = next((m for m in (meta if isinstance(meta, (tuple, list)) else ()) if hasattr(m, "shape")), None)
    return None if meta is None else tuple(int(s) for s in meta.shape)


def _fx_graph(gm: Any, modules: dict[str, nn.Module]) -> tuple[list[dict], list[dict]]:
    """Nodes and edges of a traced model whose nodes carry the shape propagation's ``tensor_meta``."""
    nodes: list[dict] = []
    ids: dict[Any, str] = {}
    for n in gm.graph.nodes:
        if n.op == "get_attr":
            continue
        meta = n.meta.get("tensor_meta")
        shape = shape_text(tuple(int(s) for s in meta.shape)) if hasattr(meta, "shape") else ""
        if n.op == "call_module":
            path = str(n.target)
            node = {"id": n.name, "path": path, "type": type(modules[path]).__name__,
                    "params": own_params(modules[path]), "kind": "module"}
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
        normalized = tuple(m.normalized_shape)  # type: ignore[arg-type]  # a LayerNorm's: a tuple of ints
        return tuple(x.shape[x.dim() - len(normalized):]) == normalized
    return False


class _Shape:
    """What shape propagation keeps of a tensor in ``node.meta["tensor_meta"]``: its shape."""

    __slots__ = ("shape",)

    def __init__(self, shape: torch.Size) -> None:
        self.shape = shape


class _OverTime(Exception):
    """The real input took longer than its budget in the traced graph (:data:`REAL_FIRST_S`)."""


class _ShapeProp(torch.fx.Interpreter):
    """Runs ``gm`` node by node and keeps every output's shape. Not torch.fx's ShapeProp: each of its steps imports
    torch's symbolic shapes (sympy: 0.3-0.5 s in a fresh kernel) for fake-tensor bookkeeping unused here.

    Normalisation layers that keep their input's shape (:func:`_keeps_shape`) answer a meta input with an empty
    tensor of that shape: on meta tensors they run through Python decompositions, three quarters of a ResNet's shape
    propagation and a third of a transformer's. With a ``deadline`` (``time.perf_counter()``), a step that starts
    after it raises :class:`_OverTime`."""

    def __init__(self, gm: torch.fx.GraphModule, deadline: float | None = None) -> None:
        super().__init__(gm)
        self.deadline = deadline
        # Its error notes go through torch's structured logging, which imports torch._dynamo: a failing step (or
        # one past the deadline) would cost the import this class avoids. Failures fall back anyway.
        self.extra_traceback = False

    def run_node(self, n: torch.fx.Node) -> Any:
        if self.deadline is not None and time.perf_counter() > self.deadline:
            raise _OverTime
        result = super().run_node(n)
        if isinstance(result, torch.Tensor):
            n.meta["tensor_meta"] = _Shape(result.shape)
        elif isinstance(result, (tuple, list)):
            n.meta["tensor_meta"] = map_aggregate(result, lambda o: _Shape(o.shape) if isinstance(o, torch.Tensor)  # pyright: ignore[reportArgumentType]
                                                  else o)
        return result

    def call_module(self, target: Any, args: Any, kwargs: Any) -> Any:
        if len(args) == 1 and not kwargs and _keeps_shape(self.fetch_attr(target), args[0]):
            return torch.empty_like(args[0])
        return super().call_module(target, args, kwargs)


class _Propagate(nn.Module):
    """Shape propagation as a module's forward, so ``functional_call`` can swap ``gm``'s tensors."""

    def __init__(self, gm: torch.fx.GraphModule) -> None:
        super().__init__()
        self.gm = gm

    def forward(self, *args: Any) -> Any:
        return _ShapeProp(self.gm).run(*args)


def _clear_shapes(gm: Any) -> None:
    for n in gm.graph.nodes:
        n.meta.pop("tensor_meta", None)
        n.meta.pop("type", None)


def _meta_shapes(gm: torch.fx.GraphModule, x: Any) -> bool:
    """Shape propagation through ``gm`` on meta tensors: no compute, and the model's own forward never runs.

    Parameters and buffers are swapped for meta copies only for the call (the model is not touched); False, with
    every shape cleared, when an op cannot run on meta tensors (no meta kernel, data-dependent shapes, a constant
    on the model's device...): the caller then propagates on the real input.
    """
    def meta(t: torch.Tensor) -> torch.Tensor:
        return torch.empty_strided(t.shape, t.stride(), dtype=t.dtype, device="meta")

    state = {k: meta(v) for k, v in [*gm.named_parameters(remove_duplicate=False),
                                     *gm.named_buffers(remove_duplicate=False)]}
    args = tuple(meta(a) for a in as_args(x))
    try:  # a failing op may print (fx's own notes): keep that out of the user's output
        with contextlib.redirect_stderr(io.StringIO()):
            functional_call(_Propagate(gm), {f"gm.{k}": v for k, v in state.items()}, args, strict=False,
                            tie_weights=False)
        return True
    except Exception:  # noqa: BLE001 - any failure on meta tensors means: run the real input instead
        _clear_shapes(gm)
        return False


def _real_shapes(gm: torch.fx.GraphModule, x: Any, deadline: float | None = None) -> bool:
    """Shape propagation through ``gm`` on the real input; False if it fails. Past ``deadline`` it stops, clears the
    shapes and raises :class:`_OverTime`."""
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            _ShapeProp(gm, deadline).run(*as_args(x))
        return True
    except _OverTime:
        _clear_shapes(gm)
        raise
    except Exception:  # noqa: BLE001 - the caller runs the model itself, whose error names the module
        _clear_shapes(gm)
        return False


#: Seconds the real input may spend in the traced graph while torch._dynamo is not loaded. Meta tensors run many ops
#: (add, relu, cat, mean) through Python references that import it: 0.6-0.8 s once per kernel (more under load),
#: more than a small model's real forward (a 5-layer CNN: ms; ResNet-50 at 224 x 224: 0.05-0.1 s, 0.6 s with its
#: two OpenMP threads beside other work). Past it, meta tensors take over: at worst this much more, once a kernel.
REAL_FIRST_S = 0.6


def _dynamo_loaded() -> bool:
    return "torch._dynamo" in sys.modules


def _shapes(gm: torch.fx.GraphModule, x: Any) -> bool:
    """Every node's shape, by the cheaper way: meta tensors once torch._dynamo is loaded, else the real input while
    it stays within :data:`REAL_FIRST_S`; each way falls back to the other. False when neither can run ``x``."""
    if _dynamo_loaded():
        return _meta_shapes(gm, x) or _real_shapes(gm, x)
    # On one torch thread, restored after: with two, any other work on the machine stalls OpenMP (ResNet-50:
    # 0.15-5 s beside a browser and other processes on 2 cores, against 0.2-0.5 s on one).
    threads = torch.get_num_threads()
    try:
        if threads > 1:
            torch.set_num_threads(1)
        return _real_shapes(gm, x, time.perf_counter() + REAL_FIRST_S) or _meta_shapes(gm, x)
    except _OverTime:
        return _meta_shapes(gm, x) or _real_shapes(gm, x)
    finally:
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)


_Capture = tuple[list[dict], list[dict], dict[str, tuple[int, ...]], str]  # nodes, edges, module shapes, fallback


def _hook_fallback(model: nn.Module, x: Any, modules: dict[str, nn.Module], why: str) -> _Capture:
    """The model's own forward with hooks: its error names the failing module; else the graph of module calls."""
    trace = Trace()
    run_hooked(model, x, trace)
    return (*_hook_graph(trace, x, modules), trace.sizes,
            f"{why}; the graph comes from forward hooks: module calls only, ops between modules are not shown")


def capture_modules(model: nn.Module, x: Any, modules: dict[str, nn.Module]) -> _Capture:
    """Modules mode.

    torch.fx traces the model and shape propagation gives every shape (:func:`_shapes`: on meta tensors, so a
    traceable model's forward never runs for real, or on the real input while torch._dynamo is not loaded and the
    real input is quick, or when an op cannot run on meta tensors). When
    tracing fails (e.g. data-dependent control flow) or the traced graph cannot run the input, the model's own
    forward runs with hooks: its error names the failing module, or its module calls make the graph.
    """
    try:
        gm, returned = _fx_trace(model)
    except Exception as exc:  # noqa: BLE001 - any tracing failure falls back to hooks, and says why
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        return _hook_fallback(model, x, modules, f"torch.fx could not trace the model ({type(exc).__name__}: "
                                                 f"{first[:300]}), e.g. data-dependent control flow")
    if not _shapes(gm, x):
        return _hook_fallback(model, x, modules, "torch.fx traced the model but its graph could not run example_input")
    return (*_fx_graph(gm, modules), {p: _fx_shape(n) or () for p, n in returned.items()}, "")


def _hook_graph(trace: Trace, x: Any, modules: dict[str, nn.Module]) -> tuple[list[dict], list[dict]]:
    """Module calls as nodes, joined where one call's output tensor is another's input (ops between modules are
    not seen: a call whose input came from such an op is joined to the call before it)."""
    nodes = [{"id": "input", "path": "", "type": "input", "params": 0, "kind": "input", "shape": shape_of(x)}]
    producer = {i: "input" for i in tensor_ids(x)}
    edges: list[dict] = []
    count: dict[str, int] = defaultdict(int)
    prev = "input"
    for path, ins, outs in trace.calls:
        count[path] += 1
        nid = path if count[path] == 1 else f"{path}#{count[path]}"
        nodes.append({"id": nid, "path": path, "type": type(modules[path]).__name__,
                      "params": own_params(modules[path]) if count[path] == 1 else 0, "kind": "module",
                      "shape": shape_text(trace.sizes.get(path))})
        sources = list(dict.fromkeys(producer[i] for i in ins if i in producer)) or [prev]
        edges += [{"source": s, "target": nid, "shape": ""} for s in sources]
        producer.update({i: nid for i in outs})
        prev = nid
    sources = list(dict.fromkeys(producer[i] for i in tensor_ids(trace.output) if i in producer)) or [prev]
    nodes.append({"id": "output", "path": "", "type": "output", "params": 0, "kind": "output",
                  "shape": shape_of(trace.output)})
    edges += [{"source": s, "target": "output", "shape": ""} for s in sources]
    shapes = {n["id"]: n["shape"] for n in nodes}
    for e in edges:
        e["shape"] = shapes[e["source"]]
    return nodes, edges
