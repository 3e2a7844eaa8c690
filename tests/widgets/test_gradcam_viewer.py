"""GradCamViewer state without a browser: traits against the kernels, display rule, bad input, sketchpad."""

from __future__ import annotations

import base64

import numpy as np
import pytest
import torch
import traitlets as t
from PIL import Image
from torch import nn
from torch.utils.data import TensorDataset

from nbviz.colors import colormap_lut
from nbviz.display import colorize_heatmap, composite, quantize_heatmap
from nbviz.kernels.attribution import grad_cam
from nbviz.widgets.gradcam_viewer import CACHE_SINGLE, GradCamViewer


def digits_cnn(channels: int = 1) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(channels, 8, 3, padding=1), nn.ReLU(inplace=True),
        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(inplace=True),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 4),
    )


def batch(n: int = 8, c: int = 1) -> torch.Tensor:
    return torch.rand(n, c, 8, 8, generator=torch.Generator().manual_seed(2))


@pytest.fixture
def viewer() -> GradCamViewer:
    return GradCamViewer(digits_cnn(), batch(), labels=[0, 1, 2, 3] * 2, layer="2", classes=["a", "b", "c", "d"])


def dequantized(q, scale) -> np.ndarray:
    return np.asarray(q, dtype=np.float64) * scale


def test_shown_map_is_the_signed_kernel_map(viewer):
    ref = grad_cam(digits_cnn(), "2", batch(), signed=True).numpy()
    assert viewer.heatmap.dtype == np.int16 and viewer.heatmap.shape == (8, 8)
    assert np.abs(dequantized(viewer.heatmap, viewer.heatmap_scale) - ref[0]).max() <= viewer.heatmap_scale
    assert viewer.batch_peak == pytest.approx(float(np.abs(ref).max()), rel=1e-6)
    assert viewer.layers == ["0", "1", "2", "3"]
    assert viewer.shown_target == int(viewer.predictions[0])


def test_index_and_target_recompute_only_what_is_needed(viewer):
    calls = viewer.computations
    viewer.index = 3
    assert viewer.computations == calls  # the batch's maps are cached
    ref3 = grad_cam(digits_cnn(), "2", batch(), signed=True).numpy()[3]
    assert np.abs(dequantized(viewer.heatmap, viewer.heatmap_scale) - ref3).max() <= viewer.heatmap_scale
    other = (int(viewer.predictions[3]) + 1) % 4
    before = viewer.heatmap.copy()
    viewer.target = other
    assert viewer.computations == calls + 1 and viewer.shown_target == other
    assert not np.array_equal(before, viewer.heatmap)
    ref = grad_cam(digits_cnn(), "2", batch()[3:4], target=other, signed=True).numpy()[0]
    assert np.abs(dequantized(viewer.heatmap, viewer.heatmap_scale) - ref).max() <= viewer.heatmap_scale
    viewer.target = -1
    assert viewer.shown_target == int(viewer.predictions[3])


def test_display_changes_never_call_the_kernel(viewer):
    calls = viewer.computations
    viewer.opacity, viewer.sign, viewer.threshold = 0.9, "negative", 0.3
    viewer.colormap, viewer.normalization, viewer.sort_by = "jet", "batch", "wrong"
    assert viewer.computations == calls
    assert viewer.luts.shape == (len(viewer.colormaps), 256, 4) and viewer.luts.dtype == np.uint8


def test_top_classes_are_sorted_and_names_stay_plain_text():
    v = GradCamViewer(digits_cnn(), batch(), layer="2", classes=["<b>x</b>", "<img src=x onerror=1>", "c", "d"],
                      topk=3)
    probs = [c["probability"] for c in v.top_classes]
    assert len(probs) == 3 and probs == sorted(probs, reverse=True)
    assert {c["name"] for c in v.top_classes} <= {"<b>x</b>", "<img src=x onerror=1>", "c", "d"}
    assert v.class_names[1] == "<img src=x onerror=1>"


def test_layer_switch_compare_and_arrays(viewer):
    viewer.layer = "0"
    ref0 = grad_cam(digits_cnn(), "0", batch(), signed=True).numpy()[0]
    assert np.abs(dequantized(viewer.heatmap, viewer.heatmap_scale) - ref0).max() <= viewer.heatmap_scale
    viewer.compare_layer = "2"
    assert viewer.heatmap2.shape == (8, 8)
    arrays = viewer.arrays()
    assert set(arrays) >= {"image", "map", "map2", "logits", "predictions", "labels"}
    assert np.allclose(arrays["map"], ref0, atol=1e-6)
    viewer.compare_layer = ""
    assert viewer.heatmap2 is None


def test_confusion_splits_predicted_and_true_evidence(viewer):
    wrong = int(np.flatnonzero(viewer.predictions != viewer.label_codes)[0])
    view = viewer.confusion(wrong)
    assert viewer.index == wrong and viewer.show_confusion
    assert view.maps.shape == (2, 2, 8, 8) and (view.maps >= 0).all() and view.wrong
    pred, true = int(viewer.predictions[wrong]), int(viewer.label_codes[wrong])
    for row, cls in enumerate((pred, true)):
        ref = grad_cam(digits_cnn(), "2", batch()[wrong:wrong + 1], target=cls, signed=True).numpy()[0]
        assert np.allclose(view.maps[row, 0] - view.maps[row, 1], ref, atol=1e-6)
    assert viewer.confusion_maps.shape == (2, 2, 8, 8) and viewer.confusion_info["wrong"] is True
    assert viewer.confusion_info["names"] == [viewer.class_names[pred], viewer.class_names[true]]
    assert view._repr_png_().startswith(b"\x89PNG")


def test_confusion_needs_labels():
    v = GradCamViewer(digits_cnn(), batch(), layer="2")
    with pytest.raises(ValueError, match="labels="):
        v.confusion(0)


def test_static_png_shows_the_overlay(viewer):
    data, _ = viewer._repr_mimebundle_()
    img = np.asarray(Image.open(__import__("io").BytesIO(base64.b64decode(data["image/png"]))))
    assert img.shape[1] == 320 and img.shape[0] > 320  # the view, and a caption under it
    viewer.opacity = 0.0
    plain = np.asarray(Image.open(__import__("io").BytesIO(viewer.to_png())))
    assert plain.shape[:2] == (320, 320)
    assert not np.array_equal(img[:320, :, :3], plain[..., :3])


def test_colorize_rule():
    lut = np.zeros((256, 4), dtype=np.uint8)
    lut[:, 0] = np.arange(256)
    v = np.array([[-2.0, -1.0], [0.0, 2.0]])
    both = colorize_heatmap(v, lut, sign="both", opacity=0.5)
    assert both[..., 0].tolist() == [[0, 64], [128, 255]]
    assert both[..., 3].tolist() == [[128, 64], [0, 128]]  # alpha grows with the magnitude: zero shows the image
    pos = colorize_heatmap(v, lut, sign="positive", threshold=0.6, opacity=1.0)
    assert pos[..., 0].tolist() == [[0, 0], [0, 255]] and pos[..., 3].tolist() == [[0, 0], [0, 255]]
    half = colorize_heatmap(v, lut, sign="positive", threshold=0.6, opacity=1.0, diverging=True)
    assert half[..., 0].tolist() == [[128, 128], [128, 255]]  # zero is the neutral middle, not "against"
    neg = colorize_heatmap(v, lut, sign="negative", opacity=1.0)
    assert neg[..., 0].tolist() == [[255, 128], [0, 0]]
    neg_half = colorize_heatmap(v, lut, sign="negative", opacity=1.0, diverging=True)
    assert neg_half[..., 0].tolist() == [[0, 64], [128, 128]]
    batch_norm = colorize_heatmap(v, lut, sign="both", normalization="batch", batch_peak=4.0)
    assert batch_norm[..., 0].tolist() == [[64, 96], [128, 192]]  # entry floor(0.75 * 256)
    mm = colorize_heatmap(v, lut, normalization="minmax")
    assert mm[..., 0].tolist() == [[0, 64], [128, 255]]


def test_zero_attribution_leaves_the_image_as_it_is():
    image = np.random.default_rng(0).integers(0, 256, (5, 6, 3), dtype=np.uint8)
    lut = colormap_lut("RdBu_r")
    values = np.zeros((5, 6))
    values[2, 3] = 1.0
    for sign in ("both", "positive"):
        out = composite(image, colorize_heatmap(values, lut, sign=sign, opacity=0.8, diverging=True))
        unchanged = np.ones((5, 6), bool)
        unchanged[2, 3] = False
        assert np.array_equal(out[unchanged], image[unchanged]) and not np.array_equal(out[2, 3], image[2, 3])


def test_quantize_round_trip():
    v = np.array([[-3.0, 0.5], [1e-4, 3.0]], dtype=np.float32)
    q, s = quantize_heatmap(v)
    assert q.dtype == np.int16 and q.max() == 32767 and q.min() == -32767
    assert np.abs(q * s - v).max() <= s
    assert quantize_heatmap(np.zeros((2, 2)))[1] == 0.0


def test_inputs_as_dataset_and_paths(tmp_path):
    x = batch(4)
    ds = TensorDataset(x, torch.tensor([0, 1, 2, 3]))
    v = GradCamViewer(digits_cnn(), ds, layer="2")
    assert v.label_codes.tolist() == [0, 1, 2, 3]
    paths = []
    for i in range(3):
        p = tmp_path / f"{i}.png"
        Image.fromarray((np.random.default_rng(i).random((8, 8, 3)) * 255).astype(np.uint8)).save(p)
        paths.append(str(p))
    v = GradCamViewer(digits_cnn(channels=3), paths, labels=["b", "a", "d"], classes=["a", "b", "c", "d"], layer="2")
    assert v.label_codes.tolist() == [1, 0, 3] and len(v.predictions) == 3


@pytest.mark.parametrize("kwargs, error, match", [
    ({"labels": [0, 1]}, ValueError, "labels has 2 entries but images has 8"),
    ({"labels": ["zzz"] * 8}, ValueError, "neither a class index nor one of classes"),
    ({"layer": "22"}, ValueError, "closest valid names"),
    ({"layer": "6"}, ValueError, "no spatial axes"),
    ({"classes": ["a"]}, ValueError, "classes has 1 names but the model scores 4"),
    ({"images": batch(2, c=3)}, RuntimeError, "grayscale|3 channel"),
    ({"images": torch.zeros(0, 1, 8, 8)}, ValueError, "empty batch"),
    ({"method": "lime"}, ValueError, "method must be one of"),
    ({"topk": 0}, ValueError, "topk must be a positive int"),
])
def test_bad_input(kwargs, error, match):
    args = {"images": batch(), "layer": "2", **kwargs}
    with pytest.raises(error, match=match):
        GradCamViewer(digits_cnn(), **args)


def test_bad_trait_values(viewer):
    with pytest.raises(t.TraitError, match="index must be an image index in 0..7"):
        viewer.index = 8
    with pytest.raises(t.TraitError, match="target must be -1"):
        viewer.target = 4
    with pytest.raises(t.TraitError, match="no spatial axes"):
        viewer.layer = "5"
    with pytest.raises(t.TraitError, match="opacity must be in"):
        viewer.opacity = 2.0
    with pytest.raises(t.TraitError, match="colormap must be one of"):
        viewer.colormap = "nope"


def test_browser_errors_land_in_the_banner(viewer):
    viewer.set_state({"layer": "nope"})
    assert "closest valid names" in viewer.error and viewer.layer == "2"


def test_other_methods_work_without_a_layer():
    v = GradCamViewer(digits_cnn(), batch(), layer=None, method="saliency")
    assert v.layers == [] and v.layer == "" and v.heatmap.shape == (8, 8)


def test_caches_are_bounded_and_model_is_unchanged():
    model = digits_cnn()
    model.train()
    v = GradCamViewer(model, batch(), layer="2")
    for i in range(CACHE_SINGLE + 20):
        v.index = i % 8
        v.target = (int(v.predictions[i % 8]) + 1 + i % 3) % 4
    assert len(v._singles) <= CACHE_SINGLE
    assert model.training and all(p.requires_grad and p.grad is None for p in model.parameters())


def test_sketchpad_draws_and_the_viewer_follows():
    pad = GradCamViewer.sketchpad(digits_cnn(), "2", (1, 8, 8), ink=16.0, scale=10, classes=list("abcd"))
    assert pad.viewer.heatmap.shape == (8, 8)
    first_image = pad.viewer.image_png
    calls = pad.viewer.computations
    # A stroke as the browser sends it (one batch of pointer positions): inked in Python, the viewer follows once.
    replies = []
    pad.pad.send = lambda content, buffers=None: replies.append(content)
    pad.pad._dispatch_request(None, {"type": "stroke", "id": 1, "points": [[35, 35], [45, 45]]}, [])
    assert replies == [{"type": "stroke", "id": 1}] and pad.pad.error == ""
    assert pad.pixels.max() == pytest.approx(16.0) and pad.pixels[0, 7] == 0
    assert pad.pad.pixels.max() == 255 and pad.pad.pixels.dtype == np.uint8  # what the view paints
    assert pad.viewer.computations == calls + 1 and pad.viewer.image_png != first_image
    # One anywidget view: the pad beside the viewer (renders in marimo, where ipycanvas does not).
    assert pad.view().children == [pad.pad, pad.viewer]
    bad = {"type": "stroke", "id": 2, "points": [[1, "x"]]}
    pad.pad._dispatch_request(None, bad, [])
    assert "y must be a finite number" in replies[-1]["error"]
    pad.clear()
    assert pad.pixels.max() == 0 and pad.pad.pixels.max() == 0


def test_target_true_explains_each_images_label_and_predicted_is_the_default():
    labels = [3, 2, 1, 0, 3, 2, 1, 0]
    x = batch()
    v = GradCamViewer(digits_cnn(), x, labels=labels, layer="2", target="true")
    assert v.target == -2
    for i in range(8):
        v.index = i
        truth = labels[i]
        assert v.shown_target == truth
        ref = grad_cam(digits_cnn(), "2", x[i:i + 1], target=truth, signed=True).numpy()[0]
        np.testing.assert_allclose(v.maps(i), ref, rtol=1e-5, atol=1e-7)
    v.target = -1
    assert v.shown_target == int(v.predictions[v.index])
    assert GradCamViewer(digits_cnn(), x, layer="2", target=2).shown_target == 2
    with pytest.raises(ValueError, match="target must be 'predicted', 'true' or a class index"):
        GradCamViewer(digits_cnn(), x, layer="2", target="label")
    with pytest.raises(t.TraitError, match=r"target -2 \(the true class\) needs labels"):
        GradCamViewer(digits_cnn(), x, layer="2", target="true")
    with pytest.raises(ValueError, match=r"target must be an int in \[0, 3\], got 7"):
        GradCamViewer(digits_cnn(), x, layer="2", target=7)


def test_one_chw_image_is_one_image_and_grey_batches_need_a_one_channel_model():
    rgb = batch(1, 3)[0]  # (3, 8, 8): one RGB image, not three grey ones
    v = GradCamViewer(digits_cnn(3), rgb, layer="2")
    assert v.predictions.shape == (1,)
    np.testing.assert_array_equal(v._x[0], rgb)
    grey = batch(5, 1)[:, 0]  # (5, 8, 8) for a one-channel model: five grey images
    assert GradCamViewer(digits_cnn(1), grey, layer="2").predictions.shape == (5,)
    one_grey = batch(1, 1)[0]  # (1, 8, 8): one grey image
    assert GradCamViewer(digits_cnn(1), one_grey, layer="2").predictions.shape == (1,)
    with pytest.raises(ValueError, match=r"fits neither a 3-channel model's image nor a batch"):
        GradCamViewer(digits_cnn(3), batch(5, 1)[:, 0], layer="2")
