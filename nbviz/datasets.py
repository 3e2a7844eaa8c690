"""Data made in code for the gallery and tests: no download, the same every run for a seed.

:func:`shapes` draws coloured shapes at random places and sizes on textured, cluttered backgrounds and returns the
ground-truth box of each shape, so an attribution method can be scored on whether it points at the object
(:func:`nbviz.kernels.attribution.pointing_game`). A shape's colour says nothing of its class, and the clutter is
drawn in the shapes' colours: a model has to learn the outline. :func:`shapes_cnn` is a small CNN that learns them
in well under a minute on two CPU cores (:func:`train_shapes_cnn`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import torch
    from torch import nn

__all__ = ["SHAPES", "Shapes", "shapes", "shapes_cnn", "train_shapes_cnn"]

#: The classes :func:`shapes` can draw.
SHAPES = ("circle", "square", "triangle", "cross", "star")
#: Saturated colours the shapes (and the clutter) are drawn in.
_COLOURS = np.array([[230, 60, 50], [40, 160, 70], [50, 100, 220], [240, 190, 30], [170, 60, 200], [30, 190, 200],
                     [245, 130, 40]], dtype=np.uint8)


@dataclass(frozen=True)
class Shapes:
    """What :func:`shapes` returns.

    Attributes
    ----------
    images
        (N, size, size, 3) uint8.
    labels
        (N,) int64 class of each image, indexing ``class_names``.
    boxes
        (N, 4) float32 ground-truth box of the shape, (x0, y0, x1, y1) in pixels, x1 / y1 exclusive.
    class_names
        The classes, in label order.
    """

    images: np.ndarray
    labels: np.ndarray
    boxes: np.ndarray
    class_names: list[str]

    def tensors(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(images as a float32 (N, 3, H, W) torch tensor in [0, 1], labels as an int64 tensor): a model's input."""
        import torch

        x = torch.from_numpy(self.images).permute(0, 3, 1, 2).float().div_(255.0)
        return x.contiguous(), torch.from_numpy(self.labels)

    def __len__(self) -> int:
        return len(self.labels)


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    """A smooth colour gradient with low-frequency texture and pixel noise, (size, size, 3) float."""
    yy, xx = np.mgrid[0:size, 0:size] / size
    base = rng.uniform(70, 200, 3)
    tilt = rng.uniform(-50, 50, (2, 3))
    waves = np.zeros((size, size))
    for a in rng.uniform(0, math.pi, 3):  # three plane waves of random direction, frequency and phase
        amplitude, fx, fy = rng.uniform(8, 22), rng.uniform(0.5, 3), rng.uniform(0.5, 3)
        waves += amplitude * np.sin(2 * math.pi * (fx * xx * math.cos(a) + fy * yy * math.sin(a)) + rng.uniform(0, 6))
    img = base + xx[..., None] * tilt[0] + yy[..., None] * tilt[1] + waves[..., None]
    return img + rng.normal(0, 6, (size, size, 3))


def _polygon(kind: str, cx: float, cy: float, r: float, angle: float) -> list[tuple[float, float]]:
    if kind == "square":
        corners = [angle + math.pi / 4 + k * math.pi / 2 for k in range(4)]
        return [(cx + r * math.cos(a), cy + r * math.sin(a)) for a in corners]
    if kind == "triangle":
        return [(cx + r * math.cos(angle + k * 2 * math.pi / 3), cy + r * math.sin(angle + k * 2 * math.pi / 3))
                for k in range(3)]
    if kind == "star":
        return [(cx + (r if k % 2 == 0 else 0.45 * r) * math.cos(angle + k * math.pi / 5),
                 cy + (r if k % 2 == 0 else 0.45 * r) * math.sin(angle + k * math.pi / 5)) for k in range(10)]
    # cross: a plus sign of bars a third of its width
    t = r / 3
    pts = [(-t, -r), (t, -r), (t, -t), (r, -t), (r, t), (t, t), (t, r), (-t, r), (-t, t), (-r, t), (-r, -t), (-t, -t)]
    c, s = math.cos(angle), math.sin(angle)
    return [(cx + x * c - y * s, cy + x * s + y * c) for x, y in pts]


def _clutter(draw: Any, rng: np.random.Generator, size: int, count: int) -> None:
    """Thin strokes and small dots in the shapes' colours: nothing a class could be read from."""
    for _ in range(count):
        colour = tuple(int(v) for v in _COLOURS[rng.integers(len(_COLOURS))])
        if rng.random() < 0.6:
            x0, y0 = rng.uniform(0, size, 2)
            length, a = rng.uniform(size / 8, size / 3), rng.uniform(0, 2 * math.pi)
            draw.line([(x0, y0), (x0 + length * math.cos(a), y0 + length * math.sin(a))],
                      fill=colour, width=1)
        else:
            x, y, r = *rng.uniform(0, size, 2), rng.uniform(1, size / 28 + 1)
            draw.ellipse([x - r, y - r, x + r, y + r], fill=colour)


def shapes(n: int = 1000, size: int = 64, classes: tuple[str, ...] | list[str] = SHAPES[:4], seed: int = 0,
           clutter: int = 6) -> Shapes:
    """``n`` images of one coloured shape each, at a random place, size, rotation and colour, on a textured
    background with ``clutter`` distracting strokes and dots; the classes balanced.

    Parameters
    ----------
    n
        Number of images (>= 1).
    size
        Side of the square images in pixels (>= 16).
    classes
        Which of :data:`SHAPES` to draw; their order is the labels'.
    seed
        The images, labels and boxes are the same for the same arguments.
    clutter
        Distractors per image (>= 0).

    Raises
    ------
    ValueError
        A bad ``n``, ``size`` or ``clutter``, or a class not in :data:`SHAPES` (named).
    """
    from PIL import Image, ImageDraw

    for name, value, low in (("n", n, 1), ("size", size, 16), ("clutter", clutter, 0)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
    names = list(classes)
    unknown = [c for c in names if c not in SHAPES]
    if unknown or not names or len(set(names)) != len(names):
        raise ValueError(f"classes must be distinct names from {SHAPES}, got {classes!r}")
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n) % len(names)).astype(np.int64)
    images = np.empty((n, size, size, 3), dtype=np.uint8)
    boxes = np.empty((n, 4), dtype=np.float32)
    for i, label in enumerate(labels):
        img = Image.fromarray(np.clip(_background(rng, size), 0, 255).astype(np.uint8))
        draw = ImageDraw.Draw(img)
        _clutter(draw, rng, size, int(clutter))
        r = rng.uniform(0.12, 0.24) * size
        cx, cy = rng.uniform(r + 1, size - r - 1, 2)
        colour = tuple(int(v) for v in _COLOURS[rng.integers(len(_COLOURS))])
        kind = names[label]
        if kind == "circle":
            draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=colour, outline=(20, 20, 20))
            x0, y0, x1, y1 = cx - r, cy - r, cx + r, cy + r
        else:
            pts = _polygon(kind, cx, cy, r, rng.uniform(0, 2 * math.pi))
            draw.polygon(pts, fill=colour, outline=(20, 20, 20))
            xs, ys = [p[0] for p in pts], [p[1] for p in pts]
            x0, y0, x1, y1 = min(xs), min(ys), max(xs), max(ys)
        images[i] = np.asarray(img)
        boxes[i] = (max(0.0, x0), max(0.0, y0), min(float(size), x1 + 1), min(float(size), y1 + 1))
    return Shapes(images, labels, boxes, names)


def shapes_cnn(classes: int = 4, width: int = 16) -> nn.Sequential:
    """A small CNN for :func:`shapes` images (3 x 64 x 64): four conv blocks (``conv1`` .. ``conv4``, each conv, batch
    norm, ReLU; max-pooling after the first three), global average pooling, a linear classifier (``fc``). Its last
    conv layer, ``conv4``, keeps an 8 x 8 grid at 64 px: where Grad-CAM can point at the object."""
    from torch import nn

    def block(cin: int, cout: int, pool: bool) -> nn.Sequential:
        layers = [nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]
        return nn.Sequential(*layers, *([nn.MaxPool2d(2)] if pool else []))

    model = nn.Sequential()
    for k, (cin, cout, pool) in enumerate([(3, width, True), (width, 2 * width, True), (2 * width, 4 * width, True),
                                           (4 * width, 4 * width, False)], start=1):
        model.add_module(f"conv{k}", block(cin, cout, pool))
    model.add_module("pool", nn.AdaptiveAvgPool2d(1))
    model.add_module("flatten", nn.Flatten())
    model.add_module("fc", nn.Linear(4 * width, classes))
    return model


def train_shapes_cnn(data: Shapes, epochs: int = 6, batch_size: int = 64, lr: float = 3e-3, seed: int = 0,
                     model: nn.Module | None = None) -> nn.Module:
    """Train :func:`shapes_cnn` (or ``model``) on ``data`` with Adam and light flips; returns it in eval mode."""
    import torch
    from torch import nn

    torch.manual_seed(seed)
    net = model if model is not None else shapes_cnn(len(data.class_names))
    x, y = data.tensors()
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=epochs * math.ceil(len(y) / batch_size))
    g = torch.Generator().manual_seed(seed)
    net.train()
    for _ in range(epochs):
        order = torch.randperm(len(y), generator=g)
        for start in range(0, len(y), batch_size):
            idx = order[start:start + batch_size]
            xb = x[idx]
            flip = torch.rand(len(idx), generator=g) < 0.5
            xb = torch.where(flip[:, None, None, None], xb.flip(3), xb)
            opt.zero_grad()
            nn.functional.cross_entropy(net(xb), y[idx]).backward()
            opt.step()
            sched.step()
    return net.eval()
