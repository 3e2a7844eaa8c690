"""Running a user's model on the recorder's inputs: a torch module, a scikit-learn classifier or a callable.

:func:`run_model` evaluates any of them in batches and names the epoch (and the failing submodule) when the model
fails; a torch module runs in eval mode under ``torch.inference_mode()`` on its own device and is handed back
unchanged. :class:`TorchReplica` is the worker-owned copy of a module that background recording loads snapshots
into, and :func:`has_forward_hooks` says when a module must run on the caller's thread instead (the model graph
uses it too). Split out of the recorder (:mod:`nbviz.kernels.recorder`): how a model is called, apart from
what is done with its output.
"""

from __future__ import annotations

import copy
import weakref
from collections.abc import Callable
from typing import Any, cast

import numpy as np


def optional_torch() -> Any:
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency, but a callable needs no torch
        return None
    return torch


def module_tensors(module: Any) -> list[Any]:
    return [*module.parameters(), *module.buffers()]


def has_forward_hooks(module: Any) -> bool:
    """Whether a forward hook could run: a hook may act outside the module, so it must run on the caller's
    thread, on the model itself."""
    from torch.nn.modules import module as torch_module

    if torch_module._global_forward_hooks or torch_module._global_forward_pre_hooks:
        return True
    return any(m._forward_hooks or m._forward_pre_hooks for m in module.modules())


class TorchReplica:
    """A worker-owned deep copy of a torch module, made once; a snapshot clones the module's parameters and
    buffers, which the worker copies into the replica. The replica only runs in eval mode, so the module's
    training flags need no snapshot (synchronous recording evaluates in eval mode too)."""

    def __init__(self, model: Any, tensors: list[Any], torch: Any) -> None:
        self.torch = torch
        self.source = weakref.ref(model)
        self.layout = self._layout(tensors)
        self.nbytes = sum(t.numel() * t.element_size() for t in tensors)
        self.module = copy.deepcopy(model)  # the copy is the worker's: setting its flags leaves ``model`` alone
        for m in self.module.modules():
            m.training = False  # as handed_back does, per module (a subclass's train() may do more)
        self.module.requires_grad_(False)

    @staticmethod
    def _layout(tensors: list[Any]) -> list[tuple]:
        return [(t.shape, t.dtype, t.device) for t in tensors]

    def serves(self, model: Any, tensors: list[Any]) -> bool:
        """Whether ``model`` (with its ``tensors``) is the module copied, with the same parameters and buffers."""
        return self.source() is model and self._layout(tensors) == self.layout

    def snapshot(self, tensors: list[Any]) -> Callable[[], Any]:
        with self.torch.no_grad():
            tensors = [t.detach().clone() for t in tensors]

        def load() -> Any:
            with self.torch.no_grad():
                for dst, src in zip(module_tensors(self.module), tensors, strict=True):
                    dst.copy_(src)
            return self.module

        return load


def run_model(model: Any, x: np.ndarray, batch_size: int, epoch: int) -> tuple[np.ndarray, str]:
    """Raw outputs of ``model`` on ``x`` in batches, and "probs" when the model said so (predict_proba). A failure
    of the model is raised as a RuntimeError naming ``epoch`` (and the submodule of a torch module)."""
    torch = optional_torch()
    is_torch = torch is not None and isinstance(model, torch.nn.Module)
    if not (is_torch or hasattr(model, "predict_proba") or callable(model)):
        raise TypeError(
            f"model must be a torch.nn.Module, a scikit-learn classifier with predict_proba, or a callable; "
            f"got {type(model).__name__}"
        )
    try:
        if is_torch:
            return _run_torch(model, x, batch_size, torch), "raw"
        if hasattr(model, "predict_proba"):
            return np.concatenate([_to_numpy(model.predict_proba(x[i : i + batch_size]))
                                   for i in range(0, len(x), batch_size)]), "probs"
        return np.concatenate([_to_numpy(model(x[i : i + batch_size])) for i in range(0, len(x), batch_size)]), "raw"
    except Exception as exc:
        if is_torch:
            from .torch_utils import failed_at  # torch is imported only for torch models

            raise RuntimeError(f"the model's forward failed at epoch {epoch}{failed_at(exc, cast(Any, model))}: "
                               f"{type(exc).__name__}: {exc}") from exc
        call = "predict_proba" if hasattr(model, "predict_proba") else "call"
        raise RuntimeError(f"the model's {call} failed at epoch {epoch}: {type(exc).__name__}: {exc}") from exc


def _to_numpy(out: Any) -> np.ndarray:
    if hasattr(out, "detach"):
        out = out.detach().float().cpu().numpy()
    return np.asarray(out, dtype=np.float64)


def _run_torch(model: Any, x: np.ndarray, batch_size: int, torch: Any) -> np.ndarray:
    from .torch_utils import handed_back, model_device, model_dtype  # torch is imported only for torch models

    device, dtype = model_device(model), model_dtype(model)
    outs = []
    # Eval mode per module, restored per module (a BatchNorm frozen inside a training model stays frozen).
    with handed_back(model), torch.inference_mode():
        for i in range(0, len(x), batch_size):
            batch = torch.from_numpy(x[i : i + batch_size]).to(device=device, dtype=dtype)
            outs.append(_to_numpy(model(batch)))
    return np.concatenate(outs)
