"""Attributions of image classifiers: Grad-CAM at any layer (signed or ReLU'd), input attributions on Captum, and
the saliency confusion matrix, in batches on the model's device with the model handed back unchanged.

Grad-CAM computes what Captum's ``LayerGradCam`` computes (tested equal to it) in a leaner pass: Captum's per-call
bookkeeping costs more than a small model's whole forward, and Grad-CAM needs only a forward plus a backward
through the layers after the attributed one.

Maps are kept raw (signed, unnormalised): normalisation is a display choice made by the viewer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812 - the usual name
from torch import nn

from .activations import resolve_layer
from .attribution_layers import (
    LayerCheck,
    NotMappable,
    mappable_layers,
    output_tensor,
    tokens_to_maps,
    with_mappable,
)
from .progress import progress_bar
from .torch_utils import first_tensor, forward_failed, handed_back, model_device, model_dtype

METHODS = ("gradcam", "integrated_gradients", "saliency", "occlusion", "guided_gradcam")
PRECISIONS = ("fp32", "bf16")
#: Methods that attribute to a layer and so need ``layer``.
LAYER_METHODS = ("gradcam", "guided_gradcam")

class AttributionInputError(ValueError):
    """Bad input found while the model runs (a target out of range): raised as is, never as a forward failure."""


@dataclass
class Attribution:
    """What one attribution pass gives.

    Attributes
    ----------
    maps
        (N, H, W) float32 on the CPU, at the input's size; raw and signed unless ReLU'd was asked for.
    logits
        (N, K) float32 on the CPU: the model's scores for the same inputs.
    targets
        (N,) int64: the class each map explains.
    """

    maps: torch.Tensor
    logits: torch.Tensor
    targets: torch.Tensor

    @property
    def probabilities(self) -> torch.Tensor:
        """(N, K) softmax of the logits."""
        return torch.softmax(self.logits, dim=1)


# -- input checks ----------------------------------------------------------------------------------------------
def check_images(x: Any, name: str = "x") -> torch.Tensor:
    """``x`` as an (N, C, H, W) tensor, or a ``ValueError`` that says what was expected."""
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(np.ascontiguousarray(x))
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be an (N, C, H, W) tensor or numpy array, got {type(x).__name__}")
    if x.ndim != 4:
        hint = {3: " (one (C, H, W) image: x[None]; a batch of grayscale (N, H, W) images: x[:, None])",
                2: " (one grayscale image: x[None, None])"}.get(x.ndim, "")
        raise ValueError(f"{name} must be a batch of images (N, C, H, W), got shape {tuple(x.shape)}{hint}")
    if len(x) == 0:
        raise ValueError(f"{name} is an empty batch (N = 0); give at least one image")
    if not (x.is_floating_point() or x.dtype == torch.uint8):
        raise TypeError(f"{name} must hold floats (or uint8), got {x.dtype}")
    bad = nonfinite_images(x)
    if bad:
        raise ValueError(f"{name} has NaN or inf values in {_images_text(bad)}; drop or fix those images")
    return x


def nonfinite_images(values: torch.Tensor) -> list[int]:
    """Indices of the items (along axis 0) holding a NaN or an inf."""
    if not values.is_floating_point():
        return []
    finite = torch.isfinite(values.detach()).reshape(len(values), -1).all(1)
    return [] if bool(finite.all()) else torch.nonzero(~finite)[:, 0].tolist()


def _images_text(indices: Sequence[int], offset: int = 0) -> str:
    """"image 3" / "images 0, 4, 9" (the first ten, then how many more)."""
    shown = ", ".join(str(offset + i) for i in indices[:10])
    more = f" and {len(indices) - 10} more" if len(indices) > 10 else ""
    return f"image{'s' if len(indices) > 1 else ''} {shown}{more}"


def check_choice(value: Any, name: str, options: Sequence[str]) -> str:
    if value not in options:
        raise ValueError(f"{name} must be one of {list(options)}, got {value!r}")
    return value


def check_targets(target: Any, n: int, k: int | None = None) -> torch.Tensor | None:
    """``target`` as (N,) int64 (None stays None: the predicted class); range-checked when ``k`` is known."""
    if target is None:
        return None
    if isinstance(target, (bool, np.bool_)):
        raise TypeError(f"target must be a class index (int) or one per image, got {target!r}")
    if isinstance(target, (int, np.integer)):
        t = torch.full((n,), int(target), dtype=torch.int64)
    else:
        a = np.asarray(target.cpu() if isinstance(target, torch.Tensor) else target)
        if a.ndim != 1 or len(a) != n or a.dtype.kind not in "iu":  # strings, floats, bools: not class indices
            raise ValueError(f"target must be an int or {n} ints (one per image), got shape {a.shape} of {a.dtype}")
        t = torch.from_numpy(a.astype(np.int64))
    if k is not None and len(t) and (int(t.min()) < 0 or int(t.max()) >= k):
        bad = int(t.min()) if int(t.min()) < 0 else int(t.max())
        raise AttributionInputError(f"target {bad} is out of range: the model scores {k} classes (0..{k - 1})")
    return t


def _logits(out: Any) -> torch.Tensor:
    scores = first_tensor(out, "the model")
    if scores.ndim != 2:
        raise ValueError(
            f"the model must return class scores (N, K), got shape {tuple(scores.shape)}; wrap it so it does"
        )
    return scores


# -- layers ----------------------------------------------------------------------------------------------------
def layer_shapes(model: nn.Module, x: Any, proc_x: Callable | None = None) -> dict[str, tuple[int, ...]]:
    """Output shape of every module of ``model`` for one image of ``x`` ("" is the model's own output).

    Runs one image through the model (no gradients, eval mode, model handed back unchanged). Not cached: what the
    shapes depend on (the modules, their attributes, the forward's code, ``proc_x``) has no cheap key, and a stale
    answer refuses valid layers; :func:`attribute` checks its layer inside its own pass instead.
    """
    x = check_images(x)
    shapes: dict[str, tuple[int, ...]] = {}
    names = {id(m): path for path, m in model.named_modules()}

    def record(module: nn.Module, _inputs: Any, out: Any) -> None:
        tensor = output_tensor(out)
        if tensor is not None:
            shapes[names[id(module)]] = tuple(tensor.shape)

    with handed_back(model):
        for m in model.modules():
            m.register_forward_hook(record)  # removed by handed_back, also when the forward fails
        xb = _prepared(x[:1], model, proc_x)
        with torch.no_grad():
            try:
                shapes[""] = tuple(_logits(model(xb)).shape)
            except ValueError:
                raise
            except Exception as exc:
                raise forward_failed(exc, model, xb) from exc
    return shapes


def spatial_layers(model: nn.Module, x: Any, proc_x: Callable | None = None) -> dict[str, tuple[int, ...]]:
    """The layers whose output Grad-CAM can map (convolution maps or square token grids), with their shapes."""
    return mappable_layers(layer_shapes(model, x, proc_x))


# -- attribution passes ----------------------------------------------------------------------------------------
def _prepared(xb: torch.Tensor, model: nn.Module, proc_x: Callable | None) -> torch.Tensor:
    """A batch on the model's device and dtype, detached from the caller's graph, then ``proc_x`` applied."""
    device = model_device(model)
    if xb.dtype == torch.uint8:
        xb = xb.float() / 255
    xb = xb.detach().to(device=device, dtype=model_dtype(model))
    return proc_x(xb) if proc_x is not None else xb


class _ScoreModule(nn.Module):
    """The scorer as a module: Captum's guided backprop hooks the ReLUs it finds in a module's children."""

    def __init__(self, scorer: _Scorer) -> None:
        super().__init__()
        self.model = scorer.model
        self._scores = scorer.scores

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return self._scores(inputs)


class _Scorer:
    """Forward function for Grad-CAM: the target class's score per image, remembering the logits.

    The target is chosen inside the one forward pass (the predicted class when none is given), so a map and the
    scores it explains cost one forward and one backward.
    """

    def __init__(self, model: nn.Module, targets: torch.Tensor | None, autocast: bool,
                 check: LayerCheck | None = None) -> None:
        self.model, self.targets, self.autocast, self.check = model, targets, autocast, check
        self.logits: torch.Tensor | None = None
        self.chosen: torch.Tensor | None = None

    def scores(self, inputs: torch.Tensor) -> torch.Tensor:
        """All class scores (N, K) as float32, under bf16 autocast when asked."""
        if not self.autocast:  # entering even a disabled autocast context costs milliseconds per call
            out = _logits(self.model(inputs)).float()
        else:
            with torch.autocast(inputs.device.type, dtype=torch.bfloat16):
                out = _logits(self.model(inputs)).float()
        if self.check is not None:
            self.check.ran()
        return out

    def __call__(self, inputs: torch.Tensor) -> torch.Tensor:
        out = self.scores(inputs)
        if self.targets is None:
            t = out.detach().argmax(1)
        else:
            t = self.targets.to(out.device)
            check_targets(t.cpu(), len(t), out.shape[1])
        self.logits, self.chosen = out.detach(), t
        return out.gather(1, t[:, None]).squeeze(1)


def _layer_grads_and_acts(scorer: _Scorer, module: nn.Module, xb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The layer's output and the gradient of the target scores with respect to it, from one pass.

    What Captum's ``compute_layer_gradients_and_eval`` gives, at a fraction of its per-call cost (which dominates on
    small models): no parameter needs a gradient here (``handed_back``), so the layers before ``module`` record no
    graph, and the backward runs through the head only. A layer returning a tuple is left to Captum.
    """
    kept: list[torch.Tensor] = []

    def keep(_module: nn.Module, _inputs: Any, out: Any) -> Any:
        if not isinstance(out, torch.Tensor):
            return None
        act = out.detach().requires_grad_(True)
        kept[:] = [act]  # a layer run twice is attributed at its last call, as Captum does
        return act.clone()  # an in-place op after the layer (ReLU(inplace=True)) must not touch the kept output

    handle = module.register_forward_hook(keep)
    try:
        with torch.enable_grad():
            scores = scorer(xb)
            if kept and scores.requires_grad:
                (grads,) = torch.autograd.grad(scores.sum(), kept, allow_unused=True)
            else:
                grads = None
    finally:
        handle.remove()
    if not kept:
        from captum._utils.gradient import compute_layer_gradients_and_eval

        grads_t, evals_t = compute_layer_gradients_and_eval(scorer, module, xb)
        return grads_t[0], evals_t[0]
    act = kept[0].detach()
    return (torch.zeros_like(act) if grads is None else grads), act  # None: the scores do not depend on the layer


def _gradcam_maps(scorer: _Scorer, module: nn.Module, xb: torch.Tensor, signed: bool,
                  reshape: Callable | None) -> torch.Tensor:
    """Grad-CAM as Captum's ``LayerGradCam``: channel weights = mean gradient over the map, weighted channel sum."""
    grads, acts = _layer_grads_and_acts(scorer, module, xb)
    if acts.ndim != 4 or reshape is not None:
        fold = reshape or tokens_to_maps  # tokens (ViT) laid on their patch grid first
        grads, acts = fold(grads), fold(acts)
    # One contraction instead of a weighted (N, C, h, w) temporary and its sum.
    cam = torch.einsum("nc,nchw->nhw", grads.mean(dim=(2, 3)), acts)[:, None]
    return cam if signed else F.relu(cam)


def _input_maps(method: str, scorer: _Scorer, module: nn.Module | None, xb: torch.Tensor, signed: bool,
                noise_tunnel: dict | None, method_kwargs: dict) -> torch.Tensor:
    from captum.attr import GuidedGradCam, IntegratedGradients, NoiseTunnel, Occlusion, Saliency

    # These run the model on changed inputs (interpolated, occluded, noisy): the scores and the target class come
    # from the real inputs first, and Captum is given the target.
    with torch.no_grad():
        scorer.logits = scorer.scores(xb)
    scorer.chosen = scorer.logits.argmax(1) if scorer.targets is None else scorer.targets.to(xb.device)
    check_targets(scorer.chosen.cpu(), len(xb), scorer.logits.shape[1])
    forward = scorer.scores
    xb = xb.requires_grad_()
    kwargs = dict(method_kwargs)
    if method == "integrated_gradients":
        algo: Any = IntegratedGradients(forward)
        kwargs.setdefault("n_steps", 32)
        kwargs.setdefault("internal_batch_size", max(len(xb), 1) * 8)
    elif method == "saliency":
        algo = Saliency(forward)
        kwargs.setdefault("abs", not signed)
    elif method == "occlusion":
        algo = Occlusion(forward)
        side = max(1, min(xb.shape[2:]) // 7)
        kwargs.setdefault("sliding_window_shapes", (xb.shape[1], side, side))
        kwargs.setdefault("strides", (xb.shape[1], max(1, side // 2), max(1, side // 2)))
        kwargs.setdefault("perturbations_per_eval", 16)
    else:
        assert module is not None  # guided_gradcam is a layer method: attribute() resolved it
        algo = GuidedGradCam(_ScoreModule(scorer), module)
    if noise_tunnel is not None:
        nt = {"nt_type": "smoothgrad", "nt_samples": 8, "stdevs": 0.1, **noise_tunnel}
        attr = NoiseTunnel(algo).attribute(xb, **nt, target=scorer.chosen, **kwargs)
    else:
        attr = algo.attribute(xb, target=scorer.chosen, **kwargs)
    return cast(torch.Tensor, attr).sum(dim=1, keepdim=True)  # one input, so one tensor


def attribute(
    model: nn.Module,
    x: Any,
    layer: Any = None,
    target: Any = None,
    *,
    method: str = "gradcam",
    signed: bool = True,
    proc_x: Callable | None = None,
    reshape: Callable | None = None,
    batch_size: int = 64,
    precision: str = "fp32",
    noise_tunnel: dict | bool | None = None,
    method_kwargs: dict | None = None,
    progress: bool = False,
) -> Attribution:
    """Attribution maps of a classifier for a batch of images, with its scores.

    Parameters
    ----------
    model
        A ``torch.nn.Module`` returning class scores (N, K) (or a tuple / dict whose first tensor is that).
    x
        (N, C, H, W) tensor or array, floats (or uint8, read as 0..255); moved to the model's device and dtype.
    layer
        For "gradcam" and "guided_gradcam": a dotted path, a list of child names or the module itself. Its output
        must be spatial: (N, C, h, w) maps or (N, T, C) tokens with T a square (+1 class token), or ``reshape``.
    target
        None (each image's predicted class), a class index, or one index per image.
    method
        "gradcam" | "integrated_gradients" | "saliency" | "occlusion" | "guided_gradcam" (``captum.attr``).
    signed
        Keep negative evidence (raw maps). False: Grad-CAM's ReLU, absolute saliency.
    proc_x
        Preprocessing applied to each batch on the device before the model (normalisation, resizing).
    reshape
        Maps the layer's output (and its gradient) to (N, C, h, w), for token layers that are not square grids.
    batch_size
        Images per pass.
    precision
        "fp32", or "bf16": the model runs under bfloat16 autocast (meant for GPUs; maps come back as float32).
    noise_tunnel
        Smooth input attributions with Captum's NoiseTunnel: True or its arguments (nt_type, nt_samples, stdevs).
    method_kwargs
        Passed to the Captum method's ``attribute`` (n_steps, baselines, sliding_window_shapes, ...).
    progress
        A ``tqdm.auto`` bar over the images, shown once the work has taken half a second (and gone when done).

    Returns
    -------
    Attribution
        maps (N, H, W) at the size of ``x`` (Grad-CAM upsampled bilinearly), logits, targets.

    Raises
    ------
    ValueError
        Bad ``x`` (rank, empty), unknown layer (with the closest names), a layer that is not spatial (with the
        reason), a target out of range, an unknown method or precision.
    RuntimeError
        When the model's forward fails, naming the submodule where it failed.
    """
    check_choice(method, "method", METHODS)
    check_choice(precision, "precision", PRECISIONS)
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    if proc_x is not None and not callable(proc_x):
        raise TypeError(f"proc_x must be a function of a batch tensor, got {type(proc_x).__name__}")
    x = check_images(x)
    n, size = len(x), tuple(x.shape[2:])
    targets = check_targets(target, n)
    module, check = None, None
    if method in LAYER_METHODS:
        if layer is None:
            raise ValueError(f"method={method!r} needs a layer (a dotted path, child names or the module)")
        path, module = resolve_layer(model, layer)
        check = LayerCheck(path, reshape)  # the layer's shape is checked in the first pass, not by a probe
    # True (or {}): SmoothGrad with the defaults of _input_maps; None or False: none.
    tunnel = {} if noise_tunnel is True else None if noise_tunnel is None or noise_tunnel is False else noise_tunnel
    if tunnel is not None and method == "gradcam":
        raise ValueError("noise_tunnel smooths input attributions; use it with method='integrated_gradients', "
                         "'saliency', 'occlusion' or 'guided_gradcam'")
    maps, logits, chosen = [], [], []
    bar = progress_bar(n, desc=f"nbviz {method}", unit="image", disable=not progress, delay=0.5)
    try:
        with handed_back(model):
            if module is not None and check is not None:
                module.register_forward_hook(check)  # removed by handed_back
            for start in range(0, n, int(batch_size)):
                xb = _prepared(x[start:start + batch_size], model, proc_x)
                tb = None if targets is None else targets[start:start + batch_size]
                scorer = _Scorer(model, tb, precision == "bf16", check)
                try:
                    if method == "gradcam":
                        assert module is not None  # a layer method: resolved above
                        cam = _gradcam_maps(scorer, module, xb, signed, reshape)
                    else:
                        cam = _input_maps(method, scorer, module, xb, signed, tunnel,
                                          method_kwargs or {})
                except (AttributionInputError, ValueError):
                    raise
                except Exception as exc:
                    raise forward_failed(exc, model, xb) from exc
                batch_logits, batch_chosen = scorer.logits, scorer.chosen
                assert batch_logits is not None and batch_chosen is not None  # set by the pass above
                if start == 0 and targets is not None:  # every target, before the other batches run
                    check_targets(targets, n, batch_logits.shape[1])
                _check_finite(batch_logits, cam, start)
                cam = cam.float()
                if tuple(cam.shape[2:]) != size:
                    cam = F.interpolate(cam, size=size, mode="bilinear", align_corners=False)
                maps.append(cam[:, 0].detach().cpu())
                logits.append(batch_logits.cpu())
                chosen.append(batch_chosen.cpu())
                bar.update(len(xb))
    except NotMappable as exc:  # the model is handed back: the layers that can be mapped are probed now
        raise ValueError(with_mappable(str(exc), layer_shapes(model, x, proc_x))) from None
    finally:
        bar.close()
    return Attribution(torch.cat(maps), torch.cat(logits), torch.cat(chosen))


def _check_finite(logits: torch.Tensor, cam: torch.Tensor, start: int) -> None:
    """Refuse NaN / inf scores or maps from the model, naming the images (a blank map would say nothing)."""
    bad = nonfinite_images(logits)
    if bad:
        raise ValueError(f"the model gave NaN or inf class scores for {_images_text(bad, start)}; check the model "
                         "(and proc_x) on those images")
    bad = nonfinite_images(cam)
    if bad:
        raise ValueError(f"the attribution maps of {_images_text(bad, start)} hold NaN or inf values (the "
                         "model's activations or gradients are not finite there)")


def grad_cam(model: nn.Module, layer: Any, x: Any, target: Any = None, signed: bool = False,
             proc_x: Callable | None = None, **kwargs: Any) -> torch.Tensor:
    """Grad-CAM maps (N, H, W) float32 at the input's size, equal to Captum's ``LayerGradCam`` upsampled bilinearly.

    Parameters
    ----------
    model, layer, x, target, proc_x
        See :func:`attribute`.
    signed
        False (default): Grad-CAM as published, negative evidence ReLU'd away. True: the raw signed map.
    **kwargs
        ``reshape``, ``batch_size``, ``precision`` (see :func:`attribute`).

    Returns
    -------
    torch.Tensor
        (N, H, W) float32 on the CPU.
    """
    return attribute(model, x, layer, target, method="gradcam", signed=signed, proc_x=proc_x, **kwargs).maps
