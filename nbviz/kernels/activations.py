"""Activations at any layer of a torch model, extracted in batches with the model handed back unchanged."""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

POOLS = ("avg", "max", "flatten", "cls")


def resolve_layer(model: nn.Module, layer: str | Sequence[str] | nn.Module) -> tuple[str, nn.Module]:
    """A layer by dotted path ("layer3.1"), list of child names (["5", "7"]) or the module; (path, module)."""
    modules = dict(model.named_modules())
    if isinstance(layer, nn.Module):
        for path, m in modules.items():
            if m is layer:
                return path, m
        raise ValueError(f"layer {type(layer).__name__} is not a submodule of the model")
    path = ".".join(layer) if isinstance(layer, (list, tuple)) else layer
    if not isinstance(path, str):
        raise TypeError(f"layer must be a dotted path, a list of child names or a module, got {type(layer).__name__}")
    if path in modules:
        return path, modules[path]
    # The children of the deepest valid prefix, and close spellings anywhere.
    parts = path.split(".")
    prefix = next((".".join(parts[:i]) for i in range(len(parts) - 1, -1, -1) if ".".join(parts[:i]) in modules), "")
    children = [f"{prefix}.{n}" if prefix else n for n, _ in modules[prefix].named_children()]
    close = difflib.get_close_matches(path, [p for p in modules if p], n=5, cutoff=0.5)
    hints = list(dict.fromkeys(close + children))[:10]
    raise ValueError(f"layer {path!r} is not in the model; closest valid names: {hints}")


def _split(item: Any) -> tuple[Any, Any]:
    """(x, y) of an item or batch that is ``(x, y, ...)``; (x, None) otherwise."""
    if isinstance(item, (tuple, list)):
        return item[0], (item[1] if len(item) > 1 else None)
    return item, None


def _batches(data: Any, batch_size: int) -> Iterator[tuple[torch.Tensor, Any]]:
    """(inputs, targets or None) batches from a tensor/array, a Dataset or a DataLoader, in one pass."""
    if isinstance(data, torch.utils.data.DataLoader):
        for batch in data:
            x, y = _split(batch)
            yield torch.as_tensor(x), y
    elif isinstance(data, torch.utils.data.Dataset) and not isinstance(data, torch.Tensor):
        xs, ys = [], []
        for i in range(len(data)):  # type: ignore[arg-type]
            x, y = _split(data[i])
            xs.append(torch.as_tensor(x))
            ys.append(y)
            if len(xs) == batch_size or i == len(data) - 1:  # type: ignore[arg-type]
                yield torch.stack(xs), (None if ys[0] is None else torch.as_tensor(np.asarray(ys)))
                xs, ys = [], []
    else:
        x = torch.as_tensor(np.asarray(data)) if not isinstance(data, torch.Tensor) else data
        for start in range(0, len(x), batch_size):
            yield x[start:start + batch_size], None


def _n_items(data: Any) -> int | None:
    try:
        return len(data.dataset) if isinstance(data, torch.utils.data.DataLoader) else len(data)
    except TypeError:
        return None


def pool_output(out: torch.Tensor, pool: str | None) -> torch.Tensor:
    """(N, C, H, W) conv maps or (N, T, C) tokens -> (N, F) features."""
    if out.ndim <= 2 or pool in (None, "flatten"):
        return out.reshape(len(out), -1)
    if out.ndim == 3:  # tokens
        return out[:, 0] if pool == "cls" else out.mean(1) if pool == "avg" else out.amax(1)
    dims = tuple(range(2, out.ndim))
    return out.mean(dims) if pool == "avg" else out.amax(dims) if pool == "max" else out.reshape(len(out), -1)


def extract(model: nn.Module, data: Any, layer: Any, pool: str | None = "avg", batch_size: int = 256,
            device: Any = None, progress: bool = True, return_targets: bool = False) -> Any:
    """Activations of ``layer`` (or a list of layers -> dict) for all of ``data``, as (N, F) float32.

    Runs under inference mode in eval mode on the model's device (or ``device``); the training flag is
    restored and the hooks removed afterwards, also when the forward pass fails. With ``return_targets``
    also returns the ``y`` of ``(x, y)`` items, gathered in the same pass (so a shuffling DataLoader stays
    aligned), or None.
    """
    if pool not in (*POOLS, None):
        raise ValueError(f"pool must be one of {POOLS} or None, got {pool!r}")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    # A list is several layers, unless it spells one nested path of child names (["5", "7"] -> "5.7").
    nested = isinstance(layer, (list, tuple)) and all(isinstance(p, str) for p in layer) \
        and ".".join(layer) in dict(model.named_modules())
    several = isinstance(layer, (list, tuple)) and not nested
    layers = [resolve_layer(model, item) for item in layer] if several else [resolve_layer(model, layer)]
    from tqdm.auto import tqdm

    params = list(model.parameters())
    if device is None:
        device = params[0].device if params else torch.device("cpu")
    captured: dict[str, list[torch.Tensor]] = {path: [] for path, _ in layers}
    handles = []
    was_training = model.training
    total = _n_items(data)
    bar = tqdm(total=total, desc="nbviz activations", disable=not progress, leave=False)
    targets: list[Any] = []
    try:
        for path, module in layers:
            handles.append(module.register_forward_hook(
                lambda _m, _i, out, path=path: captured[path].append(pool_output(
                    (out[0] if isinstance(out, (tuple, list)) else out).detach().float(), pool).cpu())))
        model.eval()
        with torch.inference_mode():
            for batch_index, (batch, y) in enumerate(_batches(data, batch_size)):
                targets.append(y)
                try:
                    model(batch.to(device))
                except Exception as exc:
                    raise RuntimeError(f"the model's forward failed on batch {batch_index} (items from "
                                       f"{batch_index * batch_size}): {type(exc).__name__}: {exc}") from exc
                bar.update(len(batch))
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
        bar.close()
    out = {path: torch.cat(parts).numpy().astype(np.float32, copy=False) for path, parts in captured.items()}
    feats = out if several else out[layers[0][0]]
    if not return_targets:
        return feats
    ys = None if not targets or any(y is None for y in targets) else \
        np.concatenate([torch.as_tensor(y).cpu().numpy().reshape(-1) for y in targets])
    return feats, ys

