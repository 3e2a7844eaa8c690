"""GradCamViewer: where an image classifier looks, at any layer, for any class, signed, over a batch.

Raw maps travel quantised (int16 with a scale); opacity, colormap, sign, threshold and normalisation are applied in
the browser (``js/src/gradcam_viewer/heatmap.ts``) and, identically, here for the static PNG
(:func:`~nbviz.display.colorize_heatmap`). Traits follow ``js/src/gradcam_viewer/protocol.ts``; both sides
change together. The saliency confusion matrix (:mod:`~nbviz.widgets.gradcam_confusion`), the offline HTML page
(:mod:`~nbviz.widgets.gradcam_page`) and the sketchpad (:mod:`~nbviz.widgets.sketchpad`) live in their own modules.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import traitlets as t
from torch import nn

from ..colors import colormap_lut, is_diverging
from ..display import colorize_heatmap, composite, dequantize_heatmap, quantize_heatmap
from ..export import scale_png, stacked, text_panel, to_png
from ..kernels import attribution as attr
from ..kernels import images as image_kernels
from ..kernels.attribution_layers import check_layer, mappable_layers
from ..labels import encode_labels
from .base import Array, NbvizWidget, check_number, check_png_width, validate_number
from .gradcam_confusion import ShowsConfusion
from .gradcam_inputs import as_batch, display_images, first_in_channels
from .gradcam_page import GradCamPage

if TYPE_CHECKING:
    from .sketchpad import Sketchpad

SIGNS = ("positive", "negative", "both")
NORMALIZATIONS = ("image", "batch", "minmax")
SORTS = ("index", "confidence", "wrong", "class")
#: Colormaps offered in the browser; their lookup tables are all sent once, so switching needs no round trip.
COLORMAPS = ("RdBu_r", "jet", "inferno", "viridis", "coolwarm")
#: Batches of maps kept per (layer, method), and single re-targeted maps kept, before the oldest is dropped.
CACHE_LAYERS, CACHE_SINGLE = 4, 64
GRID_CELL = 48
#: ``target`` values besides a class index: each image's predicted class, or its true class (its label).
PREDICTED, TRUE = -1, -2
TARGETS = {"predicted": PREDICTED, "true": TRUE}


class GradCamViewer(ShowsConfusion, GradCamPage, NbvizWidget):
    """Grad-CAM (signed or not) and Captum attributions of an image classifier over a batch, in the browser.

    Parameters
    ----------
    model
        A ``torch.nn.Module`` returning class scores (N, K); handed back unchanged after every call.
    images
        (N, C, H, W) tensor or array, one (C, H, W) image, a torch Dataset of ``x`` or ``(x, y)`` items, or image
        file paths. A 3-D input is one image when its first axis is the channels the model's first convolution
        takes (or 1, 3, 4 without a convolution), and a batch of grey images for a one-channel model.
    labels
        True class per image (indices, or names found in ``classes``); taken from a Dataset's ``y`` when omitted.
    layer
        Layer to attribute: a dotted path, a list of child names (``["5", "7"]``) or the module itself.
    classes
        Class names (K of them); shown as text.
    method
        "gradcam" | "integrated_gradients" | "saliency" | "occlusion" | "guided_gradcam".
    precision
        "fp32" | "bf16" (autocast; meant for GPUs).
    proc_x
        Preprocessing applied before the model (normalisation), on the model's device.
    unproc_x
        Maps ``images`` back to image space ([0, 1], (N, 1 | 3, H, W)) for display; without it each image is
        min-max scaled.
    target
        The class explained: "predicted" (each image's predicted class), "true" (each image's label; the predicted
        class where it has none) or a class index. The ``target`` trait holds -1, -2 or the index.
    topk
        How many top classes are listed (click one to re-target).
    colormap, opacity, sign, threshold, normalization
        Initial display settings (all changed in the browser without calling the model).
    reshape
        For token layers that are not a square grid: (N, T, C) -> (N, C, h, w).
    batch_size
        Images per kernel pass.
    """

    _bundle = "gradcam_viewer"
    _picture_traits = ("image_png", "heatmap", "heatmap2", "colormap", "opacity", "sign", "threshold",
                       "normalization", "batch_peak")

    index = t.Int(0, help="the image shown large").tag(sync=True)
    layer = t.Unicode("", help="dotted path of the attributed layer").tag(sync=True)
    layers = t.List(t.Unicode(), help="layers whose output can be mapped (the picker); re-read from the model by "
                    "set_images and at every layer pick, so it follows a changed model").tag(sync=True)
    compare_layer = t.Unicode("", help="a second layer shown side by side, '' for none").tag(sync=True)
    target = t.Int(PREDICTED, help="class explained: a class index, -1 for each image's predicted class, -2 for its "
                   "true class").tag(sync=True)
    method = t.Unicode("gradcam", read_only=True, help="set by the constructor").tag(sync=True)

    opacity = t.Float(0.5).tag(sync=True)
    sign = t.Enum(SIGNS, default_value="both").tag(sync=True)
    colormap = t.Unicode("RdBu_r").tag(sync=True)
    colormaps = t.List(t.Unicode()).tag(sync=True)
    luts = Array(help="(M, 256, 4) uint8 lookup tables, one per name in colormaps")
    diverging = t.List(t.Unicode(), help="the names in colormaps that are diverging (one sign on its half)"
                       ).tag(sync=True)
    threshold = t.Float(0.0).tag(sync=True)
    normalization = t.Enum(NORMALIZATIONS, default_value="image").tag(sync=True)
    sort_by = t.Enum(SORTS, default_value="index").tag(sync=True)
    size = t.Int(320, help="side of the large view in CSS px").tag(sync=True)

    image_png = t.Bytes(b"").tag(sync=True)
    heatmap = Array(help="(H, W) int16 raw map of the shown image; value = q * heatmap_scale")
    heatmap_scale = t.Float(0.0).tag(sync=True)
    heatmap2 = Array(help="(H, W) int16 map of compare_layer, or None")
    heatmap2_scale = t.Float(0.0).tag(sync=True)
    batch_peak = t.Float(0.0, help="largest |value| over the batch's maps at this layer").tag(sync=True)
    shown_target = t.Int(-1, help="the class the shown map explains").tag(sync=True)
    top_classes = t.List(t.Dict()).tag(sync=True)

    grid_png = t.Bytes(b"").tag(sync=True)
    grid_columns = t.Int(1).tag(sync=True)
    grid_cell = t.Int(GRID_CELL).tag(sync=True)
    predictions = Array(help="(N,) int32 predicted class")
    confidences = Array(help="(N,) float32 probability of the predicted class")
    label_codes = Array(help="(N,) int32 true class, -1 where unknown")
    class_names = t.List(t.Unicode()).tag(sync=True)

    show_confusion = t.Bool(False).tag(sync=True)
    confusion_maps = Array(help="(2, 2, H, W) int16 for the shown image (rows pred/true, cols pos/neg)")
    confusion_scale = t.Float(0.0).tag(sync=True)
    confusion_info = t.Dict().tag(sync=True)

    computations = t.Int(0, help="kernel calls so far (display changes never add one)").tag(sync=True)

    _check_size = validate_number("size", low=16, high=4096)

    def __init__(self, model: nn.Module, images: Any, labels: Any = None, layer: Any = "layer4", *,
                 classes: Sequence[str] | None = None, method: str = "gradcam", precision: str = "fp32",
                 proc_x: Callable | None = None, unproc_x: Callable | None = None, topk: int = 5,
                 colormap: str = "RdBu_r", opacity: float = 0.5, sign: str = "both", threshold: float = 0.0,
                 normalization: str = "image", reshape: Callable | None = None, batch_size: int = 64,
                 size: int = 320, target: int | str = "predicted", **kwargs: Any) -> None:
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        if isinstance(target, str) and target not in TARGETS:
            raise ValueError(f"target must be 'predicted', 'true' or a class index, got {target!r}")
        attr.check_choice(method, "method", attr.METHODS)
        attr.check_choice(precision, "precision", attr.PRECISIONS)
        if isinstance(topk, bool) or not isinstance(topk, (int, np.integer)) or topk < 1:
            raise ValueError(f"topk must be a positive int, got {topk!r}")
        for name, fn in (("proc_x", proc_x), ("unproc_x", unproc_x), ("reshape", reshape)):
            if fn is not None and not callable(fn):
                raise TypeError(f"{name} must be a callable taking and returning a batch (or None), "
                                f"got {type(fn).__name__} {fn!r}"[:200])
        if isinstance(classes, (str, bytes)) or (classes is not None and not hasattr(classes, "__len__")):
            raise TypeError(f"classes must be a sequence of class names, got {type(classes).__name__} {classes!r}"
                            [:200])
        batch_size = check_number(batch_size, "batch_size", low=1, integer=True)
        opacity = check_number(opacity, "opacity", low=0, high=1)
        threshold = check_number(threshold, "threshold", low=0, high=1)
        size = check_number(size, "size", low=16, high=4096, integer=True)
        self._model, self._method, self._precision = model, method, precision
        self._proc_x, self._unproc_x, self._reshape = proc_x, unproc_x, reshape
        self._batch_size, self._topk = int(batch_size), int(topk)
        self._classes_arg, self._labels_arg = classes, labels
        self._quiet = False
        self._batches: OrderedDict[tuple, attr.Attribution] = OrderedDict()
        self._singles: OrderedDict[tuple, np.ndarray] = OrderedDict()
        luts = np.stack([colormap_lut(name) for name in dict.fromkeys((colormap, *COLORMAPS))])
        names = list(dict.fromkeys((colormap, *COLORMAPS)))
        super().__init__(colormaps=names, luts=luts, colormap=colormap, diverging=[n for n in names if is_diverging(n)],
                         opacity=opacity, sign=sign, threshold=threshold, normalization=normalization, size=size,
                         **kwargs)
        self.set_trait("method", method)  # read-only: the method is fixed when the viewer is made
        self._layer_arg = layer
        self.set_images(images, labels)
        self.target = TARGETS[target] if isinstance(target, str) else check_number(
            target, "target", low=0, high=len(self.class_names) - 1, integer=True)

    # -- input -------------------------------------------------------------------------------------------
    def set_images(self, images: Any, labels: Any = None) -> GradCamViewer:
        """Show another batch (the sketchpad calls this as you draw); returns the widget."""
        x, ds_labels = as_batch(images, first_in_channels(self._model))
        labels = labels if labels is not None else ds_labels
        self._x = x
        self._images = display_images(x, self._unproc_x)
        # One probe of the current model gives the picker's list and checks the layer (no cache: it went stale).
        shapes = attr.layer_shapes(self._model, x, self._proc_x) if self._method in attr.LAYER_METHODS else {}
        spatial = mappable_layers(shapes)
        path = self._layer_path(self._layer_arg if not self.layer else self.layer, shapes) \
            if self._method in attr.LAYER_METHODS else ""
        self._batches.clear()
        self._singles.clear()
        first = self._batch(path)
        names = self._class_names(self._classes_arg, first.logits.shape[1])
        codes = self._label_codes(labels, len(x), names)
        png, columns = image_kernels.atlas(list(self._images), GRID_CELL)
        self._quiet = True  # one refresh at the end, not one per trait set here
        try:
            self._set_batch_traits(path, spatial, first, names, codes, png, columns)
        finally:
            self._quiet = False
        with self.hold_sync():
            self._refresh()
        return self

    def _set_batch_traits(self, path: str, spatial: dict, first: attr.Attribution, names: list[str],
                          codes: np.ndarray, png: bytes, columns: int) -> None:
        k = first.logits.shape[1]
        with self.hold_sync():
            self.class_names = names
            self.layers = list(spatial)
            self.layer = path
            self.predictions = first.targets.numpy().astype(np.int32)
            self.confidences = first.probabilities.max(1).values.numpy().astype(np.float32)
            self.label_codes = codes
            self.grid_png, self.grid_columns = png, columns
            self.index = min(self.index, len(self._x) - 1)
            self.target = self.target if self.target < k and (self.target != TRUE or (codes >= 0).any()) else PREDICTED

    def _layer_path(self, layer: Any, shapes: dict[str, tuple[int, ...]]) -> str:
        path, _, _ = check_layer(self._model, layer, shapes, self._reshape)
        return path

    @staticmethod
    def _class_names(classes: Sequence[str] | None, k: int) -> list[str]:
        if classes is None:
            return [str(i) for i in range(k)]
        names = [str(c) for c in classes]
        if len(names) != k:
            raise ValueError(f"classes has {len(names)} names but the model scores {k} classes")
        return names

    @staticmethod
    def _label_codes(labels: Any, n: int, names: list[str]) -> np.ndarray:
        """True classes as indices into the model's columns (ints, whole floats, or names in ``classes``)."""
        if labels is None:
            return np.full(n, -1, dtype=np.int32)
        codes, _ = encode_labels(labels, "labels", names)
        if len(codes) != n:
            raise ValueError(f"labels has {len(codes)} entries but images has {n}")
        return codes.astype(np.int32)

    # -- kernels ------------------------------------------------------------------------------------------
    def _attribute(self, x: torch.Tensor, layer: str, target: Any) -> attr.Attribution:
        self.computations += 1
        # A bar for the batch's maps when they take a while; one re-targeted image is quick.
        return attr.attribute(self._model, x, layer or None, target, method=self._method, signed=True,
                              proc_x=self._proc_x, reshape=self._reshape, batch_size=self._batch_size,
                              precision=self._precision, progress=len(x) > 1)

    def _batch(self, layer: str) -> attr.Attribution:
        """Maps of the whole batch for each image's predicted class at ``layer`` (cached)."""
        key = (layer, self._method)
        if key not in self._batches:
            self._batches[key] = self._attribute(self._x, layer, None)
            while len(self._batches) > CACHE_LAYERS:
                self._batches.popitem(last=False)
        self._batches.move_to_end(key)
        return self._batches[key]

    def maps(self, i: int, layer: str | None = None, target: int | None = None) -> np.ndarray:
        """The raw signed (H, W) map of image ``i`` at ``layer`` for class ``target`` (None: as shown)."""
        i = check_number(i, "i", low=0, high=len(self._x) - 1, integer=True)
        if layer is None:
            layer = self.layer
        elif not isinstance(layer, str) or layer not in {self.layer, *self.layers}:
            raise ValueError(f"layer must be one of the viewer's layers {self.layers or ['']} (see .layers), "
                             f"got {layer!r}"[:300])
        k = len(self.class_names) or None
        wanted = self.target if target is None else int(check_number(target, "target", low=TRUE,
                                                                      high=k and k - 1, integer=True))
        batch = self._batch(layer)
        target = self._explained(i, wanted)
        if target == int(batch.targets[i]):
            return batch.maps[i].numpy()
        key = (layer, self._method, i, target)
        if key not in self._singles:
            self._singles[key] = self._attribute(self._x[i:i + 1], layer, target).maps[0].numpy()
            while len(self._singles) > CACHE_SINGLE:
                self._singles.popitem(last=False)
        return self._singles[key]

    def _explained(self, i: int, target: int) -> int:
        """The class ``target`` (an index, PREDICTED or TRUE) means for image ``i``."""
        predicted = int(self._batch(self.layer).targets[i])
        if target == TRUE:
            label = int(self.label_codes[i])
            return label if label >= 0 else predicted
        return predicted if target == PREDICTED else target

    # -- state --------------------------------------------------------------------------------------------
    @t.validate("index")
    def _check_index(self, proposal: dict) -> int:
        n = len(self._x) if hasattr(self, "_x") else 1
        if not 0 <= proposal["value"] < n:
            raise t.TraitError(f"index must be an image index in 0..{n - 1}, got {proposal['value']}")
        return proposal["value"]

    @t.validate("target")
    def _check_target(self, proposal: dict) -> int:
        k, value = len(self.class_names), proposal["value"]
        if value == TRUE and self.label_codes is not None and not (np.asarray(self.label_codes) >= 0).any():
            raise t.TraitError("target -2 (the true class) needs labels: pass labels= (or a Dataset of (x, y))")
        if k and not TRUE <= value < k:
            raise t.TraitError(f"target must be -1 (the predicted class), -2 (the true class) or a class index in "
                               f"0..{k - 1}, got {value}")
        return value

    @t.validate("layer", "compare_layer")
    def _check_layer_trait(self, proposal: dict) -> str:
        value = proposal["value"]
        if not hasattr(self, "_x") or (proposal["trait"].name == "compare_layer" and value == ""):
            return value
        if self._method not in attr.LAYER_METHODS:
            if value:
                raise t.TraitError(f"method {self._method!r} attributes to the input; it takes no layer")
            return value
        if self._quiet:  # set_images checked it on the same probe
            return value
        try:
            # The model may have changed since the list was made (a head replaced): probe it as it is now, and
            # refresh the picker's list with what it finds.
            shapes = attr.layer_shapes(self._model, self._x, self._proc_x)
            self.layers = list(mappable_layers(shapes))
            return self._layer_path(value, shapes)
        except ValueError as exc:
            raise t.TraitError(f"{proposal['trait'].name}: {exc}") from None

    @t.validate("colormap")
    def _check_colormap(self, proposal: dict) -> str:
        if self.colormaps and proposal["value"] not in self.colormaps:
            raise t.TraitError(f"colormap must be one of {self.colormaps}, got {proposal['value']!r}")
        return proposal["value"]

    @t.validate("opacity", "threshold")
    def _check_unit(self, proposal: dict) -> float:
        if not 0.0 <= proposal["value"] <= 1.0:
            raise t.TraitError(f"{proposal['trait'].name} must be in [0, 1], got {proposal['value']}")
        return proposal["value"]

    @t.observe("index", "layer", "compare_layer", "target", "show_confusion")
    def _on_view(self, change: dict) -> None:
        if hasattr(self, "_x") and not self._quiet:
            with self.hold_sync():
                self._refresh()

    def _refresh(self) -> None:
        i = self.index
        batch = self._batch(self.layer)
        probs = batch.probabilities[i].numpy()
        order = np.argsort(-probs)[: self._topk]
        q, scale = quantize_heatmap(self.maps(i))
        self.image_png = image_kernels.encode_png(self._images[i])
        self.heatmap, self.heatmap_scale = q, scale
        self.batch_peak = float(batch.maps.abs().max())
        self.shown_target = self._explained(i, self.target)
        self.top_classes = [{"index": int(c), "name": self.class_names[c], "probability": float(probs[c])}
                            for c in order]
        if self.compare_layer:
            self.heatmap2, self.heatmap2_scale = quantize_heatmap(self.maps(i, self.compare_layer))
        else:
            self.heatmap2, self.heatmap2_scale = None, 0.0
        if self.show_confusion and self.label_codes[i] >= 0:
            view = self._confusion_view(i)
            q4, s4 = quantize_heatmap(view.maps)
            self.confusion_maps, self.confusion_scale = q4, s4
            self.confusion_info = {"classes": [int(c) for c in view.classes], "names": view.names,
                                   "probabilities": [float(p) for p in view.probabilities], "wrong": view.wrong}
        else:
            self.confusion_maps, self.confusion_scale, self.confusion_info = None, 0.0, {}

    # -- export ------------------------------------------------------------------------------------------
    def arrays(self) -> dict[str, np.ndarray]:
        """The shown state as arrays: image, raw map, logits of the batch, predictions, labels."""
        batch = self._batch(self.layer)
        out = {"image": self._images[self.index], "map": self.maps(self.index), "logits": batch.logits.numpy(),
               "predictions": batch.targets.numpy(), "labels": np.asarray(self.label_codes)}
        if self.compare_layer:
            out["map2"] = self.maps(self.index, self.compare_layer)
        return out

    def to_png(self, width: int | None = None, *, scale: int | None = None) -> bytes:
        """The large view (and the compared layer beside it) as the browser draws it, as PNG bytes: ``scale`` screen
        pixels per image pixel (None: the view's ``size``), then resized to ``width`` pixels when given (nearest
        neighbour: the colours stay the view's)."""
        width = check_png_width(width)
        if scale is not None:
            scale = check_number(scale, "scale", low=1, high=64, integer=True)
        layers = [self.layer] + ([self.compare_layer] if self.compare_layer else [])
        # Through the int16 the view gets, so a pixel at a colour-bin edge takes the view's entry too.
        maps = [dequantize_heatmap(*quantize_heatmap(self.maps(self.index, layer))) for layer in layers]
        png = to_png(self._draw(maps, scale))
        return scale_png(png, width)

    def _draw(self, maps: list[np.ndarray], scale: int | None) -> np.ndarray:
        image = self._images[self.index]
        scale = max(1, self.size // max(image.shape[:2])) if scale is None else scale
        lut = np.asarray(self.luts)[self.colormaps.index(self.colormap)]
        panels = [composite(image, colorize_heatmap(m, lut, sign=self.sign, threshold=self.threshold,
                                                    opacity=self.opacity, normalization=self.normalization,
                                                    batch_peak=self.batch_peak,
                                                    diverging=self.colormap in self.diverging)) for m in maps]
        img = np.concatenate(panels, axis=1)
        return np.repeat(np.repeat(img, scale, axis=0), scale, axis=1)

    def _static_png(self) -> bytes | None:
        # The maps the view paints (the quantised traits): no model call, so it is safe from the picture's timer.
        maps = [dequantize_heatmap(q, scale) for q, scale in
                ((self.heatmap, self.heatmap_scale), (self.heatmap2, self.heatmap2_scale)) if q is not None]
        if not maps:
            return None
        img = self._draw(maps, None)
        names = self.class_names
        shown = names[self.shown_target] if 0 <= self.shown_target < len(names) else ""
        layers = " | ".join(x for x in (self.layer, self.compare_layer) if x) or "input"
        label = int(self.label_codes[self.index])
        truth = f" · true: {names[label]}" if 0 <= label < len(names) else ""
        caption = [f"image {self.index} · {layers}", f"explains {shown}{truth}" if shown else ""]
        return to_png(stacked([img, text_panel([c for c in caption if c], max(img.shape[1], 160))], gap=0))

    # -- sketchpad ---------------------------------------------------------------------------------------
    @classmethod
    def sketchpad(cls, model: nn.Module, layer: Any, shape: tuple[int, int, int] = (1, 8, 8), *,
                  ink: float = 1.0, brush: float = 0.8, scale: int = 24, **kwargs: Any) -> Sketchpad:
        """Draw an input with the mouse and see the prediction and its Grad-CAM update as you draw.

        Parameters
        ----------
        model, layer
            As for the viewer.
        shape
            (C, H, W) of the model's input.
        ink
            Value of a fully inked pixel (16 for scikit-learn's digits, 1 for [0, 1] images).
        brush
            Brush radius in input pixels.
        scale
            CSS px per input pixel on the canvas.
        **kwargs
            Passed to the viewer (classes, proc_x, ...).
        """
        from .sketchpad import Sketchpad  # the composite builds on this module

        return Sketchpad(lambda x: cls(model, x, layer=layer, **kwargs), shape, ink=ink, brush=brush, scale=scale)
