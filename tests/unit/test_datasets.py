"""nbviz.datasets.shapes: deterministic, balanced, boxes that hold the shape; a CNN that learns it and whose
Grad-CAM points at the object; the pointing game against a loop written here."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nbviz.datasets import SHAPES, shapes, shapes_cnn, train_shapes_cnn
from nbviz.kernels.attribution import grad_cam
from nbviz.kernels.pointing import pointing_game


def test_shapes_are_deterministic_balanced_and_boxed():
    a, b = shapes(40, size=48, seed=3), shapes(40, size=48, seed=3)
    assert np.array_equal(a.images, b.images) and np.array_equal(a.boxes, b.boxes)
    assert not np.array_equal(a.images, shapes(40, size=48, seed=4).images)
    assert a.images.shape == (40, 48, 48, 3) and a.images.dtype == np.uint8
    assert np.bincount(a.labels).tolist() == [10, 10, 10, 10] and a.class_names == list(SHAPES[:4])
    x0, y0, x1, y1 = a.boxes.T
    assert (x0 >= 0).all() and (y0 >= 0).all() and (x1 <= 48).all() and (y1 <= 48).all()
    assert ((x1 - x0) >= 0.2 * 48).all() and ((y1 - y0) >= 0.2 * 48).all()
    # The shape's dark outline lies inside its box: the darkest pixels of each image are in it.
    for img, (bx0, by0, bx1, by1) in zip(a.images, a.boxes, strict=True):
        dark = np.argwhere(img.sum(-1) < 100)
        assert len(dark) and ((dark[:, 1] >= bx0 - 1) & (dark[:, 1] < bx1 + 1)
                              & (dark[:, 0] >= by0 - 1) & (dark[:, 0] < by1 + 1)).mean() > 0.9
    x, y = a.tensors()
    assert x.shape == (40, 3, 48, 48) and x.dtype == torch.float32 and float(x.max()) <= 1.0
    assert torch.equal(y, torch.from_numpy(a.labels))


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"n": 0}, "n must be an int >= 1"), ({"size": 8}, "size must be an int >= 16"),
    ({"classes": ["circle", "hexagon"]}, "classes must be distinct names from"),
    ({"classes": ["circle", "circle"]}, "classes must be distinct"), ({"clutter": -1}, "clutter must be"),
])
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        shapes(**kwargs)


def test_pointing_game_against_a_loop():
    rng = np.random.default_rng(0)
    maps = rng.random((30, 20, 24))
    boxes = np.c_[rng.uniform(0, 12, (30, 2)), rng.uniform(12, 24, (30, 2))][:, [0, 1, 2, 3]]
    boxes[:, [1, 3]] *= 20 / 24
    for tol in (0, 2.5):
        got = pointing_game(torch.from_numpy(maps), boxes, tolerance=tol)
        for i in range(30):
            y, x = divmod(int(np.argmax(maps[i])), 24)
            inside = boxes[i, 0] - tol <= x < boxes[i, 2] + tol and boxes[i, 1] - tol <= y < boxes[i, 3] + tol
            assert got.hits[i] == inside and tuple(got.points[i]) == (x, y)
        assert got.accuracy == pytest.approx(np.mean(got.hits))
    with pytest.raises(ValueError, match=r"boxes must be \(N, 4\)"):
        pointing_game(maps, boxes[:5])
    with pytest.raises(ValueError, match="tolerance must be"):
        pointing_game(maps, boxes, tolerance=-1)
    with pytest.raises(ValueError, match=r"maps must be \(N, H, W\)"):
        pointing_game(maps[0], boxes)


def test_the_small_cnn_learns_shapes_and_grad_cam_points_at_them():
    torch.set_num_threads(2)
    net = train_shapes_cnn(shapes(2000, seed=0), epochs=6)
    test = shapes(200, seed=1)
    x, y = test.tensors()
    with torch.no_grad():
        accuracy = (net(x).argmax(1) == y).float().mean().item()
    assert accuracy > 0.85, accuracy
    score = pointing_game(grad_cam(net, "conv4", x, target=y), test.boxes).accuracy
    assert score >= 0.8, score
    # The same CNN untrained points at random places: the game tells the two apart.
    torch.manual_seed(0)
    chance = pointing_game(grad_cam(shapes_cnn().eval(), "conv4", x, target=y), test.boxes).accuracy
    assert chance < score - 0.2, (chance, score)
