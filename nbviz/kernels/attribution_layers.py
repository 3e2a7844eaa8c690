"""Which layers Grad-CAM can map onto the image, and why not the others: convolution maps of more than one pixel
and token sequences that lie on a square patch grid (a class token dropped). :func:`check_layer` refuses a layer with
the reason and the layers that can be mapped; :class:`LayerCheck` does the same inside an attribution's own pass.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from .activations import resolve_layer


def output_tensor(out: Any) -> torch.Tensor | None:
    """A module's output tensor, or the first tensor of a tuple / list it returns (None when there is none)."""
    return out if isinstance(out, torch.Tensor) else next(
        (o for o in (out if isinstance(out, (tuple, list)) else ()) if isinstance(o, torch.Tensor)), None)


def token_grid(tokens: int) -> tuple[int, int] | None:
    """(side, dropped) for a token count that is a square (dropped = 0) or a square + 1 class token; else None."""
    for dropped in (0, 1):
        side = math.isqrt(tokens - dropped)
        if side > 0 and side * side == tokens - dropped:
            return side, dropped
    return None


def spatial_reason(path: str, shape: tuple[int, ...]) -> str | None:
    """Why a layer's output cannot be mapped onto the image (None when it can)."""
    shown = repr(path) if path else "the model itself"
    shape_text = "(N, " + ", ".join(map(str, shape[1:])) + ")"
    if len(shape) == 4:
        if shape[2] * shape[3] > 1:
            return None
        return (f"layer {shown} gives {shape_text} maps of a single pixel (after global pooling), so there is "
                "nothing to map onto the image; pick an earlier layer")
    if len(shape) == 3:
        if token_grid(shape[1]) is not None:
            return None
        return (f"layer {shown} gives tokens {shape_text} whose count {shape[1]} is neither a square nor a square + 1 "
                "class token, so they cannot be laid on a patch grid; pass reshape=fn mapping (N, T, C) to "
                "(N, C, h, w)")
    return (f"layer {shown} gives outputs of shape {shape_text}, which have no spatial axes, so there is nothing to "
            "map onto the image; pick a layer before the global pooling / flatten")


def mappable_layers(shapes: dict[str, tuple[int, ...]]) -> dict[str, tuple[int, ...]]:
    """The layers among :func:`layer_shapes` whose output Grad-CAM can map."""
    return {p: s for p, s in shapes.items() if p and spatial_reason(p, s) is None}


def check_layer(model: nn.Module, layer: Any, shapes: dict[str, tuple[int, ...]],
                reshape: Callable | None = None) -> tuple[str, nn.Module, tuple[int, ...]]:
    """(path, module, output shape) of a layer Grad-CAM can map, given :func:`layer_shapes`; else a ValueError that
    says why and lists the layers that can be mapped."""
    path, module = resolve_layer(model, layer)
    shape = shapes.get(path)
    if shape is None:
        raise ValueError(not_run(path))
    reason = None if reshape is not None else spatial_reason(path, shape)
    if reason is not None:
        raise ValueError(with_mappable(reason, shapes))
    return path, module, shape


def not_run(path: str) -> str:
    return f"layer {path!r} did not run in the model's forward pass (nothing to attribute)"


def with_mappable(reason: str, shapes: dict[str, tuple[int, ...]]) -> str:
    good = list(mappable_layers(shapes))[-4:]
    return f"{reason}; layers that can be mapped: {good}"


class NotMappable(ValueError):
    """The attributed layer's output cannot be mapped onto the image (raised from the pass, completed after it)."""


class LayerCheck:
    """Forward hook on the attributed layer that checks its output in the attribution's own first pass.

    A separate probe forward costs as much as a whole one-image Grad-CAM, and a cached one goes stale when the
    model changes; the pass itself sees the shape for free.
    """

    def __init__(self, path: str, reshape: Callable | None) -> None:
        self.path, self.reshape = path, reshape
        self.shape: tuple[int, ...] | None = None

    def __call__(self, _module: nn.Module, _inputs: Any, out: Any) -> None:
        if self.shape is not None:
            return
        tensor = output_tensor(out)
        self.shape = () if tensor is None else tuple(tensor.shape)
        reason = None if self.reshape is not None or tensor is None else spatial_reason(self.path, self.shape)
        if reason is not None:
            raise NotMappable(reason)

    def ran(self) -> None:
        """Raise when the layer did not run in the forward pass that just ended."""
        if self.shape is None:
            raise ValueError(not_run(self.path))


def tokens_to_maps(tokens: torch.Tensor) -> torch.Tensor:
    """(N, T, C) tokens as (N, C, side, side) maps, the class token dropped when T is a square + 1."""
    grid = token_grid(tokens.shape[1])
    if grid is None:
        raise ValueError(f"cannot lay {tokens.shape[1]} tokens on a square grid; pass reshape=")
    side, dropped = grid
    return tokens[:, dropped:].transpose(1, 2).reshape(len(tokens), tokens.shape[2], side, side)
