import io
import warnings

import numpy as np
from PIL import Image

from nbviz.export import PADDING, fit_to_canvas, rasterize_points, to_png


def test_fit_keeps_aspect_and_padding():
    pts = np.array([[0, 0], [10, 5]], dtype=float)
    px = fit_to_canvas(pts, 200, 100)
    # x (10 units) spans 2*(1-P) GL units; y (5 units) half that; the camera fits y's half extent + P.
    gl_per_px = 2 * (0.5 * (1 - PADDING) + PADDING) / 100
    np.testing.assert_allclose(px[1, 0] - px[0, 0], 2 * (1 - PADDING) / gl_per_px)
    np.testing.assert_allclose(px[0, 1] - px[1, 1], (1 - PADDING) / gl_per_px)  # y grows up in data, down on screen
    np.testing.assert_allclose(px.mean(axis=0), [100, 50])


def test_rasterize_draws_colours_at_positions():
    pts = np.array([[0, 0], [1, 1]], dtype=float)
    colors = np.array([[255, 0, 0, 255], [0, 0, 255, 255]], dtype=np.uint8)
    img = rasterize_points(pts, colors, width=50, height=50, radius=1)
    px = np.round(fit_to_canvas(pts, 50, 50)).astype(int)
    assert tuple(img[px[0, 1], px[0, 0]]) == (255, 0, 0, 255)
    assert tuple(img[px[1, 1], px[1, 0]]) == (0, 0, 255, 255)
    assert tuple(img[0, 0]) == (255, 255, 255, 255)
    png = Image.open(io.BytesIO(to_png(img)))
    assert png.size == (50, 50)


def test_rasterize_empty():
    img = rasterize_points(np.zeros((0, 2)), np.zeros((0, 4), np.uint8), width=10, height=8)
    assert img.shape == (8, 10, 4) and (img == 255).all()


def test_points_the_view_does_not_draw_leave_the_others_in_place():
    pts = np.array([[0, 0], [10, 5], [2, 3]], dtype=float)
    with_nan = np.insert(pts, 1, [[np.nan, 1], [np.inf, 4]], axis=0)
    px = fit_to_canvas(with_nan, 200, 100)
    np.testing.assert_array_equal(px[[0, 3, 4]], fit_to_canvas(pts, 200, 100))
    assert np.isnan(px[[1, 2]]).all()
    colors = np.full((5, 4), (255, 0, 0, 255), np.uint8)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no invalid casts of NaN to pixels
        img = rasterize_points(with_nan, colors, width=200, height=100, radius=1)
    assert (img[..., 1] == 0).sum() == 3 * 5  # three discs of radius 1 (5 pixels each), nothing else
