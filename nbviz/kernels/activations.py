"""Activations at any layer of a torch model, extracted in batches with the model handed back unchanged."""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from .progress import progress_bar
from .torch_utils import failed_at, first_tensor, handed_back, model_device, model_dtype

#: Pooling of a layer's output: conv maps (N, C, H, W) take "avg", "max" or "flatten"; tokens (N, T, C) also "cls".
POOLS = ("avg", "max", "flatten", "cls")


def resolve_layer(model: nn.Module, layer: str | Sequence[str] | nn.Module) -> tuple[str, nn.Module]:
    """Find a layer of ``model``.

    Parameters
    ----------
    model
        Any ``torch.nn.Module``.
    layer
        A dotted path as in ``model.named_modules()`` ("layer3.1", "" for the model itself), a list of child
        names (``["5", "7"]`` is "5.7"), or the submodule itself.

    Returns
    -------
    (str, torch.nn.Module)
        The dotted path and the module.

    Raises
    ------
    ValueError
        If there is no such layer; the message lists the closest valid names (close spellings, then the
        children of the deepest part of the path that exists).
    TypeError
        If ``layer`` is none of the above.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    modules = dict(model.named_modules())
    if isinstance(layer, nn.Module):
        for path, m in modules.items():
            if m is layer:
                return path, m
        raise ValueError(f"layer {type(layer).__name__} is not a submodule of the model")
    if isinstance(layer, (list, tuple)) and all(isinstance(p, str) for p in layer):
        path = ".".join(layer)
    elif isinstance(layer, str):
        path = layer
    else:
        raise TypeError(
            f"layer must be a dotted path, a list of child names or a submodule, got {type(layer).__name__}"
        )
    if path in modules:
        return path, modules[path]
    parts = path.split(".")
    prefix = next(".".join(parts[:i]) for i in range(len(parts) - 1, -1, -1) if ".".join(parts[:i]) in modules)
    children = [f"{prefix}.{n}" if prefix else n for n, _ in modules[prefix].named_children()]
    close = difflib.get_close_matches(path, [p for p in modules if p], n=5, cutoff=0.5)
    hints = list(dict.fromkeys(close + children))[:10]
    raise ValueError(f"layer {path!r} is not in the model; closest valid names: {hints}")


#: A layer path ending in this suffix ("projection_head:input") takes what the layer receives, not what it gives.
INPUT_SUFFIX = ":input"


def _resolve_one(model: nn.Module, layer: Any) -> tuple[str, nn.Module]:
    if isinstance(layer, str) and layer.endswith(INPUT_SUFFIX):
        path, module = resolve_layer(model, layer[: -len(INPUT_SUFFIX)])
        return path + INPUT_SUFFIX, module
    return resolve_layer(model, layer)


def _resolve_layers(model: nn.Module, layer: Any) -> tuple[list[tuple[str, nn.Module]], bool]:
    """(path, module) pairs and whether ``layer`` named several layers (so the result is a dict)."""
    if not isinstance(layer, (list, tuple)):
        return [_resolve_one(model, layer)], False
    if len(layer) == 0:
        raise ValueError("layer must name at least one layer, got an empty list")
    if all(isinstance(p, str) for p in layer):
        modules = dict(model.named_modules())
        # ["layer1", "layer2"] are two layers; ["5", "7"] is one path of child names when only that reads.
        if not all(p in modules or p.endswith(INPUT_SUFFIX) for p in layer) and ".".join(layer) in modules:
            return [resolve_layer(model, list(layer))], False
    resolved = [_resolve_one(model, item) for item in layer]
    unique = list({path: (path, m) for path, m in resolved}.values())
    return unique, True


class PoolError(ValueError):
    """A ``pool`` that does not fit a layer's output (raised as is, not wrapped as a forward failure)."""


def pool_output(out: torch.Tensor, pool: str | None, where: str = "the layer") -> torch.Tensor:
    """A layer's output as (N, F) features.

    Parameters
    ----------
    out
        (N,) or (N, F) features (kept as they are), (N, T, C) tokens, or (N, C, H, W) maps (and (N, C, D, H, W)).
    pool
        Tokens: "avg" (mean over tokens), "max", "cls" (the first token) or "flatten"; maps: "avg" (global
        average pool), "max" (global max pool) or "flatten". None is "flatten".
    where
        The layer's name, for the error message.
    """
    if out.ndim <= 2:
        return out.reshape(len(out), -1)
    if pool in (None, "flatten"):
        return out.reshape(len(out), -1)
    if out.ndim == 3:  # tokens (N, T, C)
        return out[:, 0] if pool == "cls" else out.mean(1) if pool == "avg" else out.amax(1)
    if pool == "cls":
        raise PoolError(
            f"pool='cls' takes the first token of (N, T, C) outputs, but {where} gives {tuple(out.shape)}; "
            "use 'avg', 'max' or 'flatten'"
        )
    dims = tuple(range(2, out.ndim))
    return out.mean(dims) if pool == "avg" else out.amax(dims)


def _split(batch: Any) -> tuple[Any, Any]:
    """(x, y) of a batch that is ``(x, y, ...)``; (x, None) for a bare batch."""
    if isinstance(batch, (tuple, list)):
        if len(batch) == 0:
            raise ValueError("data gave an empty batch (an empty tuple)")
        return batch[0], (batch[1] if len(batch) > 1 else None)
    if isinstance(batch, Mapping):
        raise TypeError(
            f"data gives batches that are dicts (keys {list(batch)[:5]}); pass a tensor, a Dataset of tensors or "
            "(x, y) tuples, or a DataLoader of those"
        )
    return batch, None


def _batches(data: Any, batch_size: int) -> Iterator[tuple[Any, Any]]:
    """(inputs, targets or None) batches from a tensor/array, a Dataset or a DataLoader, in one pass."""
    from torch.utils.data import DataLoader, Dataset, IterableDataset

    if isinstance(data, DataLoader):
        for batch in data:
            yield _split(batch)
    elif isinstance(data, (Dataset, IterableDataset)):
        # The default collate stacks tensors and turns (x, y) items into [X, Y] batches.
        for batch in DataLoader(data, batch_size=batch_size, shuffle=False):
            yield _split(batch)
    else:
        x = data if isinstance(data, torch.Tensor) else torch.as_tensor(np.asarray(data))
        if x.ndim == 0:
            raise ValueError("data must have a batch axis (N, ...), got a scalar")
        for start in range(0, len(x), batch_size):
            yield x[start:start + batch_size], None


def _n_items(data: Any) -> int | None:
    from torch.utils.data import DataLoader

    try:
        return len(data.dataset) if isinstance(data, DataLoader) else len(data)  # pyright: ignore[reportArgumentType] - a Dataset may define __len__; TypeError when not
    except TypeError:
        return None


def _targets_numpy(y: Any) -> np.ndarray:
    a = y.detach().cpu().numpy() if isinstance(y, torch.Tensor) else np.asarray(y)
    return a.reshape(1) if a.ndim == 0 else a


def _run_device(model: nn.Module, device: Any) -> tuple[torch.device, torch.device | None]:
    """(device to run on, device to move the model back to afterwards or None when it is not moved)."""
    if device is None:
        return model_device(model), None
    devices = {t.device for t in (*model.parameters(), *model.buffers())}
    try:
        target = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"device must be a torch device or its name (e.g. 'cuda:0'), got {device!r}") from exc
    if not devices or devices == {target}:
        return target, None
    if len(devices) > 1:
        raise ValueError(
            f"device={device!r} would move a model whose tensors are on several devices "
            f"({sorted(map(str, devices))}), which cannot be put back; pass device=None"
        )
    return target, next(iter(devices))


def extract(model: nn.Module, data: Any, layer: Any, pool: str | None = "avg", batch_size: int = 256,
            device: Any = None, progress: bool = True, return_targets: bool = False) -> Any:
    """Activations of one layer (or several) of a model for all of ``data``, as (N, F) float32.

    Forward hooks catch the layers' outputs while the model runs under ``torch.inference_mode()`` in eval
    mode, in batches, on the model's device (or ``device``; the model is moved there and back). The model
    comes back unchanged, also when the forward pass fails: every module's training flag is restored, the
    hooks are removed, ``requires_grad`` and ``.grad`` are untouched. Any ``nn.Module`` works (a Lightning
    module too).

    Parameters
    ----------
    model
        A ``torch.nn.Module``.
    data
        A tensor or numpy array (N, ...) (floating arrays are cast to the model's floating dtype), a torch
        Dataset (items are tensors or ``(x, y, ...)`` tuples: ``x`` is the input), or a DataLoader (batches
        of tensors or ``(x, y, ...)``).
    layer
        One layer (see :func:`resolve_layer`) -> an array; a list of layers -> a dict path -> array.
        A list of child names that is only readable as one path (``["5", "7"]`` -> "5.7") is one layer.
        A path ending in ":input" ("projection_head:input") takes the layer's input instead of its output.
    pool
        How a layer's output becomes one vector per item: see :func:`pool_output`. (N, C, H, W) maps: "avg",
        "max", "flatten"; (N, T, C) tokens: "avg", "max", "cls", "flatten"; None is "flatten". 3-D outputs are
        read as tokens.
    batch_size
        Items per forward pass (tensors, arrays and Datasets; a DataLoader keeps its own batches).
    device
        Where to run; None = where the model is.
    progress
        Show a ``tqdm.auto`` progress bar.
    return_targets
        Also return the ``y`` of ``(x, y)`` items/batches, gathered in the same pass (a shuffling DataLoader
        stays aligned), as a numpy array, or None when there are none.

    Returns
    -------
    numpy.ndarray or dict of str to numpy.ndarray
        (N, F) float32 per layer; with ``return_targets`` a tuple (that, targets).

    Raises
    ------
    ValueError
        Unknown layer (with the closest names), bad ``pool`` or ``batch_size``, a pool that does not fit the
        layer's output.
    RuntimeError
        When the model's forward fails: the message names the batch, its items, the submodule that failed and
        the original error (chained).
    """
    if pool not in (*POOLS, None):
        raise ValueError(f"pool must be one of {POOLS} or None, got {pool!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    batch_size = int(batch_size)
    layers, several = _resolve_layers(model, layer)
    run_on, move_back = _run_device(model, device)
    in_dtype = model_dtype(model, None)

    captured: dict[str, list[torch.Tensor]] = {path: [] for path, _ in layers}
    shown = {path: repr(path) if path else "the model itself" for path, _ in layers}

    def hook_for(path: str) -> Any:
        def hook(_module: nn.Module, _inputs: Any, out: Any) -> None:
            where = f"layer {shown[path]}"
            pooled = pool_output(first_tensor(out, where).detach().float(), pool, where)
            # A copy, never a view: later in-place ops (ReLU(inplace=True), +=) must not change what was taken.
            captured[path].append(pooled.to("cpu", dtype=torch.float32, copy=True))

        if path.endswith(INPUT_SUFFIX):
            return lambda module, inputs: hook(module, None, inputs)
        return hook

    targets: list[Any] = []
    bar = progress_bar(_n_items(data), desc="nbviz activations", unit="item", disable=not progress)
    done = 0
    try:
        if move_back is not None:
            model.to(run_on)
        with handed_back(model), torch.inference_mode():  # handed_back removes the hooks, also on failure
            for path, module in layers:
                if path.endswith(INPUT_SUFFIX):
                    module.register_forward_pre_hook(hook_for(path))
                else:
                    module.register_forward_hook(hook_for(path))
            for batch_index, (x, y) in enumerate(_batches(data, batch_size)):
                x = x if isinstance(x, torch.Tensor) else torch.as_tensor(np.asarray(x))
                if in_dtype is not None and x.is_floating_point() and x.dtype != in_dtype:
                    x = x.to(in_dtype)
                targets.append(y)
                try:
                    model(x.to(run_on))
                except PoolError:
                    raise
                except Exception as exc:
                    raise _forward_error(exc, model, batch_index, done, len(x), shown) from exc
                done += len(x)
                bar.update(len(x))
    finally:
        if move_back is not None:
            model.to(move_back)
        bar.close()
    if done == 0:
        raise ValueError("data holds no items")
    silent = [shown[path] for path, parts in captured.items() if len(parts) == 0]
    if silent:
        raise ValueError(f"layer {', '.join(silent)} was never called by the model's forward, so it has no "
                         "activations; pick a layer that forward() runs")
    out = {path: torch.cat(parts).numpy() for path, parts in captured.items()}
    feats = out if several else out[layers[0][0]]
    if not return_targets:
        return feats
    ys = None if not targets or any(y is None for y in targets) else np.concatenate(
        [_targets_numpy(y) for y in targets])
    return feats, ys


def _forward_error(exc: Exception, model: nn.Module, batch_index: int, start: int, size: int,
                   shown: dict[str, str]) -> RuntimeError:
    return RuntimeError(
        f"the model's forward failed on batch {batch_index} (items {start}..{start + size - 1})"
        f"{failed_at(exc, model)} while "
        f"extracting {', '.join(shown.values())}: {type(exc).__name__}: {exc}"
    )
