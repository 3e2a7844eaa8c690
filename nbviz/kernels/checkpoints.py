"""Models from checkpoint files, and the layer self-supervised methods read their embeddings from.

A PyTorch Lightning checkpoint is loaded by its ``LightningModule`` class (``load_from_checkpoint``); a plain
``state_dict`` file (or a checkpoint dict holding one) is loaded into a copy of a module, so the module the user
passed comes back untouched. Files are read with ``weights_only=True``: no pickled code runs.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .activations import INPUT_SUFFIX

__all__ = ["BACKBONE_NAMES", "HEAD_NAMES", "embedding_layer", "load_checkpoint"]

#: Child names SSL code gives the encoder whose output is the representation (SimCLR, BYOL, MoCo ... as written
#: in lightly, solo-learn and the Lightning tutorials).
BACKBONE_NAMES = ("backbone", "encoder", "feature_extractor", "convnet", "encoder_q", "online_encoder")
#: Child names of the projection head, whose input is the representation when no backbone child is named.
HEAD_NAMES = ("projection_head", "projector", "proj_head", "projection", "mlp_head", "head")
#: Keys under which training scripts commonly nest the state dict in a checkpoint dict.
STATE_KEYS = ("state_dict", "model_state_dict", "model", "net")
MAX_KEYS_SHOWN = 5


def _lightning_class(module_class: Any) -> bool:
    return isinstance(module_class, type) and callable(getattr(module_class, "load_from_checkpoint", None))


def _lightning_installed() -> bool:
    import importlib.util

    return any(importlib.util.find_spec(name) is not None for name in ("lightning", "pytorch_lightning"))


def _read(path: Path) -> Any:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises UnpicklingError, RuntimeError or OSError depending on the file
        raise ValueError(
            f"path {str(path)!r} is not a weights-only PyTorch checkpoint ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else ''}); nbviz reads checkpoints with weights_only=True, so "
            "a whole pickled model is refused: save model.state_dict() instead"
        ) from exc


def _state_dict(obj: Any, path: Path) -> Mapping[str, torch.Tensor]:
    if isinstance(obj, Mapping):
        for key in STATE_KEYS:
            inner = obj.get(key)
            if isinstance(inner, Mapping) and inner and all(isinstance(v, torch.Tensor) for v in inner.values()):
                return inner
        if obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
            return obj
    raise ValueError(f"path {str(path)!r} holds no state dict (a mapping of parameter names to tensors, itself or "
                     f"under one of the keys {list(STATE_KEYS)})")


def _listed(keys: list[str]) -> str:
    more = f" and {len(keys) - MAX_KEYS_SHOWN} more" if len(keys) > MAX_KEYS_SHOWN else ""
    return f"{keys[:MAX_KEYS_SHOWN]}{more}"


def _load_into(module: nn.Module, state: Mapping[str, torch.Tensor], path: Path) -> nn.Module:
    own = module.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    reshaped = [f"{k} {tuple(state[k].shape)} vs {tuple(v.shape)}" for k, v in own.items()
                if k in state and tuple(state[k].shape) != tuple(v.shape)]
    if missing or unexpected or reshaped:
        parts = [f"missing {_listed(missing)}" if missing else "",
                 f"unexpected {_listed(unexpected)}" if unexpected else "",
                 f"other shapes (file vs module): {_listed(reshaped)}" if reshaped else ""]
        raise ValueError(
            f"the checkpoint {str(path)!r} does not match module_class {type(module).__name__}: "
            + "; ".join(p for p in parts if p) + "; pass the module the checkpoint was saved from")
    module.load_state_dict(state)
    return module


def load_checkpoint(path: str | os.PathLike, module_class: Any = None) -> nn.Module:
    """The model saved in ``path``, on the CPU, in eval mode.

    Parameters
    ----------
    path
        A ``.ckpt`` from PyTorch Lightning or a ``.pt``/``.pth`` file with a ``state_dict`` (itself, or under
        "state_dict", "model_state_dict", "model" or "net").
    module_class
        A ``LightningModule`` subclass (loaded with its ``load_from_checkpoint``, hyper-parameters included), an
        ``nn.Module`` subclass that takes no arguments, or an ``nn.Module`` instance: the weights are loaded into a
        deep copy of it, so the instance passed stays as it was.

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        A file that is not a weights-only checkpoint, or whose weights do not fit the module (missing,
        unexpected and reshaped keys are listed).
    TypeError
        ``module_class`` is missing or of the wrong kind.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a checkpoint file path; got {type(path).__name__}")
    file = Path(path).expanduser()
    if not file.is_file():
        raise FileNotFoundError(f"path {str(file)!r} is not a file")
    if _lightning_class(module_class):
        try:
            model = module_class.load_from_checkpoint(file, map_location="cpu")
        except (RuntimeError, KeyError) as exc:
            detail = " ".join(line.strip() for line in str(exc).splitlines()[:4] if line.strip())
            raise ValueError(f"the checkpoint {str(file)!r} does not load into {module_class.__name__}: "
                             f"{detail}") from exc
    elif isinstance(module_class, nn.Module):
        model = _load_into(copy.deepcopy(module_class), _state_dict(_read(file), file), file)
    elif isinstance(module_class, type) and issubclass(module_class, nn.Module):
        try:
            fresh = module_class()
        except TypeError as exc:
            raise TypeError(f"module_class {module_class.__name__}() needs arguments ({exc}); pass an instance "
                            "made with them instead (its weights are not changed)") from None
        model = _load_into(fresh, _state_dict(_read(file), file), file)
    elif module_class is None:
        saved = _read(file)
        version = saved.get("pytorch-lightning_version") if isinstance(saved, Mapping) else None
        if version is not None and not _lightning_installed():
            raise ImportError(f"path {str(file)!r} is a PyTorch Lightning {version} checkpoint: install Lightning "
                              "(pip install lightning) and pass its LightningModule class as module_class")
        raise TypeError("module_class is needed: a checkpoint holds weights, not the code of the model; pass the "
                        "LightningModule class it was trained with, or the nn.Module (class or instance) to load "
                        "its state_dict into")
    else:
        raise TypeError(f"module_class must be a LightningModule class, an nn.Module class or an nn.Module instance; "
                        f"got {type(module_class).__name__}")
    return model.eval()


def embedding_layer(model: nn.Module) -> str:
    """The layer whose activations are a self-supervised model's embeddings: the output of its backbone child (the
    first of :data:`BACKBONE_NAMES` it has), else the input of its projection head (:data:`HEAD_NAMES`), as SSL
    methods evaluate (linear probes, kNN) on the representation before the projection.

    Raises
    ------
    ValueError
        The model has neither; the message lists its children.
    """
    children = dict(model.named_children())
    for name in BACKBONE_NAMES:
        if name in children:
            return name
    for name in HEAD_NAMES:
        if name in children:
            return name + INPUT_SUFFIX
    raise ValueError(
        f"layer=None looks for a backbone child ({', '.join(BACKBONE_NAMES)}) or a projection head "
        f"({', '.join(HEAD_NAMES)}), but {type(model).__name__} has children {list(children)[:10]}; pass layer= "
        "(a dotted path, or 'name:input' for what a layer receives)")
