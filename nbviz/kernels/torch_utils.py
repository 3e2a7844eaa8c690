"""What every kernel that runs a user's torch model shares: the model handed back unchanged, where it lives, the
tensor in its output, and a forward failure that names the submodule where it happened.

Every entry point that runs a user's model (activations, attribution, the model graph, the probability-map
recorder, and the widgets through them) runs it inside :func:`handed_back`; none calls ``model.eval()`` or
``model.train(flag)`` itself, which would set every submodule to one flag (a BatchNorm frozen in eval mode inside
a training model would start updating its statistics afterwards).
"""

from __future__ import annotations

import contextlib
import itertools
import threading
import weakref
from collections.abc import Iterator, Mapping
from typing import Any

import torch
from torch import nn
from torch.utils.hooks import RemovableHandle

#: Every dict of hooks a module has (forward, backward, state-dict ...): keyed by handle ids from one counter.
HOOK_DICTS = tuple(name for name, value in vars(nn.Module()).items() if name.endswith("hooks")
                   and isinstance(value, dict))


#: One re-entrant lock per model (by id, dropped with the model): see :func:`handed_back`.
_MODEL_LOCKS: dict[int, threading.RLock] = {}
_MODEL_LOCKS_GUARD = threading.Lock()


def model_lock(model: nn.Module) -> threading.RLock:
    """The lock :func:`handed_back` holds on ``model``; kept beside the model, not on it (its attributes stay)."""
    with _MODEL_LOCKS_GUARD:
        lock = _MODEL_LOCKS.get(id(model))
        if lock is None:
            lock = _MODEL_LOCKS[id(model)] = threading.RLock()
            weakref.finalize(model, _MODEL_LOCKS.pop, id(model), None)
        return lock


@contextlib.contextmanager
def handed_back(model: nn.Module) -> Iterator[None]:
    """Run a block with every module of ``model`` in eval mode and no parameter needing a gradient, then restore it.

    Per module, as before the block, also when it raises: the training flag (each module's own, not the root's),
    the hooks (what the block registered is removed; the user's stay, in order) and whether a full backward hook
    was ever registered; per parameter: ``requires_grad`` and ``.grad`` (the same tensor). Parameters and buffers
    are not written: eval mode keeps BatchNorm's running statistics (and ``num_batches_tracked``) still, and no
    parameter needing a gradient means no backward accumulates into a ``.grad``. Turning ``requires_grad`` off is
    also what makes Grad-CAM cheap: the layers before the attributed one record no graph.

    Blocks on one model take turns (:func:`model_lock`; the same thread may nest them): widget messages can be
    served on a kernel subshell's thread while a cell or a timer runs nbviz on the same model, and a block ending
    in between would restore the flags the other still needs and remove the hooks it registered.
    """
    with model_lock(model):
        yield from _handed_back(model)


def _handed_back(model: nn.Module) -> Iterator[None]:
    modules = list(model.modules())
    training = [m.training for m in modules]
    full_backward = [m._is_full_backward_hook for m in modules]
    params = list(model.parameters())
    flags = [p.requires_grad for p in params]
    grads = [p.grad for p in params]
    # Hook dicts are keyed by handle ids from one global counter: what the block registers has ids >= this one, so
    # nothing needs copying up front (which cost more than a small model's forward).
    first_new = RemovableHandle.next_id
    try:
        for m in modules:
            m.training = False  # per module, without calling a subclass's train() that may do more
        for p, flag in zip(params, flags, strict=True):
            if flag:
                p.requires_grad_(False)
        yield
    finally:
        # Only what differs is written back: on a small model this bookkeeping costs more than its forward.
        for m, flag, full in zip(modules, training, full_backward, strict=True):
            if m.training != flag:
                m.training = flag
            if m._is_full_backward_hook is not full:
                m._is_full_backward_hook = full
            for name in HOOK_DICTS:
                current = getattr(m, name, None)
                if current:
                    for key in [k for k in current if k >= first_new]:
                        del current[key]
        for p, flag, grad in zip(params, flags, grads, strict=True):
            if p.requires_grad != flag:
                p.requires_grad_(flag)
            if p.grad is not grad:
                p.grad = grad


def model_device(model: nn.Module) -> torch.device:
    """Where the model's first parameter (or buffer) lives; the CPU for a model with none."""
    tensor = next(itertools.chain(model.parameters(), model.buffers()), None)
    return torch.device("cpu") if tensor is None else tensor.device


def model_dtype(model: nn.Module, default: torch.dtype | None = torch.float32) -> torch.dtype | None:
    """The dtype of the model's first floating parameter (what its floating inputs are cast to); ``default`` when
    it has none."""
    return next((p.dtype for p in model.parameters() if p.is_floating_point()), default)


def first_tensor(out: Any, where: str) -> torch.Tensor:
    """The tensor in a layer's output: itself, the first of a tuple/list, the first value of a mapping."""
    if isinstance(out, torch.Tensor):
        return out
    if isinstance(out, (tuple, list)) and out and isinstance(out[0], torch.Tensor):
        return out[0]
    if isinstance(out, Mapping):
        for value in out.values():
            if isinstance(value, torch.Tensor):
                return value
    raise TypeError(f"{where} returned {type(out).__name__}, not a tensor (or a tuple/dict holding one)")


def failing_module(exc: BaseException, model: nn.Module) -> str | None:
    """Path of the deepest submodule of ``model`` whose ``forward`` is in the traceback of ``exc``."""
    names = {id(m): path for path, m in model.named_modules()}
    found = None
    tb = exc.__traceback__
    while tb is not None:
        owner = tb.tb_frame.f_locals.get("self")
        if owner is not None and id(owner) in names:
            found = names[id(owner)]
        tb = tb.tb_next
    return found


def failed_at(exc: BaseException, model: nn.Module) -> str:
    """" in module 'a.b'", " in the model itself" or "" (not found), for an error message."""
    path = failing_module(exc, model)
    return "" if path is None else " in the model itself" if path == "" else f" in module {path!r}"


def forward_failed(exc: Exception, model: nn.Module, x: torch.Tensor) -> RuntimeError:
    """A RuntimeError naming the submodule where the forward failed, and a likely cause when it is channels."""
    path = failing_module(exc, model)
    hint = ""
    module = dict(model.named_modules()).get(path or "")
    expected = getattr(module, "in_channels", None)
    if isinstance(module, nn.modules.conv._ConvNd) and x.shape[1] != expected:
        kind = "grayscale images given to an RGB model? " if x.shape[1] == 1 and expected == 3 else ""
        hint = (f"; the images have {x.shape[1]} channel(s) but {path!r} expects {expected} ({kind}"
                f"e.g. x.expand(-1, {expected}, -1, -1))")
    return RuntimeError(f"the model's forward failed{failed_at(exc, model)}: {type(exc).__name__}: {exc}{hint}")
