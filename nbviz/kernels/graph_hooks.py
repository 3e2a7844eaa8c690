"""Capture plumbing shared by both modes of :mod:`nbviz.kernels.graph`: the model's real forward with hooks that
record each module's call (input and output tensors, output shape, where its call starts and ends in autograd's
sequence numbers), and the small helpers that turn tensors into shapes and shape text. Modules mode
(:mod:`.graph_modules`) falls back to it when torch.fx cannot trace; autograd mode (:mod:`.graph`) runs under it.
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from .torch_utils import forward_failed


def _size(value: Any) -> tuple[int, ...] | None:
    """Shape of a tensor, or of the first tensor in a tuple / list; None when there is none."""
    t = value if isinstance(value, torch.Tensor) else next(
        (v for v in (value if isinstance(value, (tuple, list)) else ()) if isinstance(v, torch.Tensor)), None)
    return None if t is None else tuple(int(s) for s in t.shape)


def shape_text(shape: tuple[int, ...] | None) -> str:
    return "" if shape is None else "(" + ", ".join(str(s) for s in shape) + ")"


def shape_of(value: Any) -> str:
    return shape_text(_size(value))


def own_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def as_args(x: Any) -> tuple:
    return x if isinstance(x, tuple) else (x,)


# -- the real forward, with hooks ------------------------------------------------------------------------------
@dataclass
class Trace:
    """What forward hooks saw: module calls in order, their output shapes, and tensor producers."""

    sizes: dict[str, tuple[int, ...]] = field(default_factory=dict)
    calls: list[tuple[str, list[int], list[int]]] = field(default_factory=list)  # (path, input ids, output ids)
    spans: dict[str, list[tuple[int, int]]] = field(default_factory=lambda: defaultdict(list))
    output: Any = None


def tensor_ids(value: Any) -> list[int]:
    if isinstance(value, torch.Tensor):
        return [id(value)]
    if isinstance(value, (tuple, list)):
        return [i for v in value for i in tensor_ids(v)]
    if isinstance(value, dict):
        return [i for v in value.values() for i in tensor_ids(v)]
    return []


@contextlib.contextmanager
def hooked(model: nn.Module, trace: Trace, seq: Any = None, watch: Any = None) -> Iterator[None]:
    """Hooks that fill ``trace``; ``seq()`` (autograd mode) marks where each module's call starts and ends;
    ``watch(module, out)`` sees every module's output."""
    names = {id(m): p for p, m in model.named_modules()}
    leaves = {id(m) for m in model.modules() if not any(True for _ in m.children())}
    starts: dict[int, list[int]] = defaultdict(list)

    def pre(module: nn.Module, args: Any) -> None:
        if seq is not None:
            starts[id(module)].append(seq())
        if id(module) in leaves:
            trace.calls.append((names[id(module)], tensor_ids(args), []))

    def post(module: nn.Module, _args: Any, out: Any) -> None:
        path = names[id(module)]
        if path not in trace.sizes:
            trace.sizes[path] = _size(out) or ()
        if seq is not None:
            trace.spans[path].append((starts[id(module)].pop(), seq()))
        if id(module) in leaves:
            for i in range(len(trace.calls) - 1, -1, -1):
                if trace.calls[i][0] == path and not trace.calls[i][2]:
                    trace.calls[i][2].extend(tensor_ids(out) or [-1])
                    break
        if watch is not None:
            watch(module, out)

    handles = [h for m in model.modules() for h in (m.register_forward_pre_hook(pre), m.register_forward_hook(post))]
    try:
        yield
    finally:
        for h in handles:
            h.remove()


def run_hooked(model: nn.Module, x: Any, trace: Trace, seq: Any = None) -> Any:
    try:
        with hooked(model, trace, seq):
            out = model(*as_args(x))
    except Exception as exc:
        raise forward_failed(exc, model, as_args(x)[0]) from exc
    trace.output = out
    return out
