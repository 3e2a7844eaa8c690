"""Attribution kernels against independent references: Grad-CAM written here with hooks and torch.autograd,
Captum called directly, and plain input gradients; the model handed back unchanged; bad input refused clearly."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F  # noqa: N812
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from nbviz.kernels.attribution import (
    AttributionInputError,
    attribute,
    grad_cam,
    layer_shapes,
    spatial_layers,
)
from nbviz.kernels.attribution_layers import token_grid
from nbviz.kernels.saliency_confusion import saliency_confusion


def small_cnn(inplace: bool = True, seed: int = 0) -> nn.Sequential:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(inplace=inplace),
        nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(inplace=inplace),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(inplace=inplace),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 5),
    )


def images(n: int = 6, c: int = 3, size: int = 12, seed: int = 1) -> torch.Tensor:
    return torch.randn(n, c, size, size, generator=torch.Generator().manual_seed(seed))


def reference_grad_cam(model: nn.Module, path: str, x: torch.Tensor, target: torch.Tensor | None,
                       signed: bool) -> torch.Tensor:
    """Grad-CAM from its definition, with a forward hook and torch.autograd.grad (no Captum)."""
    model = copy.deepcopy(model).eval()
    for m in model.modules():  # in-place ReLUs would overwrite the saved activation
        if isinstance(m, nn.ReLU):
            m.inplace = False
    layer = dict(model.named_modules())[path]
    saved = {}
    handle = layer.register_forward_hook(lambda _m, _i, out: saved.__setitem__("a", out))
    try:
        logits = model(x)
    finally:
        handle.remove()
    target = logits.argmax(1) if target is None else target
    score = logits.gather(1, target[:, None]).sum()
    (grad,) = torch.autograd.grad(score, saved["a"])
    weights = grad.mean(dim=(2, 3), keepdim=True)
    cam = (weights * saved["a"]).sum(1, keepdim=True)
    cam = cam if signed else F.relu(cam)
    return F.interpolate(cam, size=x.shape[2:], mode="bilinear", align_corners=False)[:, 0].detach()


def module_at(model: nn.Module, path: str) -> nn.Module:
    return dict(model.named_modules())[path]


@pytest.mark.parametrize("signed", [False, True])
@pytest.mark.parametrize("path", ["2", "4", "7"])
def test_grad_cam_matches_a_hand_written_reference(signed, path):
    model, x = small_cnn(), images()
    ours = grad_cam(model, path, x, signed=signed)
    ref = reference_grad_cam(small_cnn(inplace=False), path, x, None, signed)
    assert ours.shape == (6, 12, 12) and ours.dtype == torch.float32
    assert float((ours - ref).abs().max()) <= 1e-5
    if signed:
        assert float(ours.min()) < 0 < float(ours.max())  # negative evidence is kept
    else:
        assert float(ours.min()) >= 0


def test_explicit_targets_per_image_and_for_all():
    model, x = small_cnn(), images()
    t = torch.tensor([0, 1, 2, 3, 4, 0])
    ref = reference_grad_cam(model, "4", x, t, signed=True)
    assert float((grad_cam(model, "4", x, target=t.tolist(), signed=True) - ref).abs().max()) <= 1e-5
    ref3 = reference_grad_cam(model, "4", x, torch.full((6,), 3), signed=True)
    assert float((grad_cam(model, "4", x, target=3, signed=True) - ref3).abs().max()) <= 1e-5
    # Different classes give different maps (the test would pass vacuously otherwise).
    assert float((ref3 - ref).abs().max()) > 1e-4


def test_equals_captum_layer_gradcam_called_directly():
    from captum.attr import LayerAttribution, LayerGradCam

    model, x = small_cnn(), images()
    model.eval()
    layer = module_at(model, "6")
    target = model(x).argmax(1)
    direct = LayerGradCam(model, layer).attribute(x, target=target, relu_attributions=True)
    direct = LayerAttribution.interpolate(direct, (12, 12), "bilinear")[:, 0].detach()
    ours = grad_cam(model, layer, x)
    assert float((ours - direct).abs().max()) <= 1e-5


class _PairConv(nn.Module):
    """A layer returning (maps, extra): the kernel hands such layers to Captum."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)

    def forward(self, x):
        y = self.conv(x)
        return y, y.mean(dim=(2, 3))


class _PairNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(3)
        self.pair = _PairConv()
        self.head = nn.Sequential(nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 4))

    def forward(self, x):
        y, extra = self.pair(x)
        return self.head(y) + 0.0 * extra[:, :4]  # Captum needs every tuple member in the graph


def test_a_layer_with_tuple_output_is_attributed_at_its_first_tensor():
    model, x = _PairNet(), images(n=3)
    ours = grad_cam(model, "pair", x, signed=True)
    ref = reference_grad_cam(model, "pair.conv", x, None, signed=True)  # same tensor, taken at the inner conv
    assert float(ref.abs().max()) > 1e-3
    assert float((ours - ref).abs().max()) <= 1e-5


def test_a_layer_run_twice_is_attributed_at_its_last_call():
    torch.manual_seed(4)
    conv = nn.Conv2d(3, 3, 3, padding=1)
    model = nn.Sequential(conv, nn.ReLU(), conv, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(3, 2))
    x = images(n=2)
    ours = grad_cam(model, "0", x, signed=True)
    with torch.no_grad():
        first = conv(x).relu()
    tail = nn.Sequential(*list(model)[2:])  # the second call and the head, from the first call's output
    ref = reference_grad_cam(tail, "0", first, model(x).argmax(1), signed=True)
    assert float((ours - ref).abs().max()) <= 1e-5


def test_a_layer_the_score_does_not_depend_on_gives_zero_maps():
    class Dead(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            torch.manual_seed(5)
            self.side = nn.Conv2d(3, 4, 3, padding=1)
            self.head = nn.Sequential(nn.Flatten(), nn.Linear(3 * 12 * 12, 3))

        def forward(self, x):
            self.side(x)  # runs, but nothing downstream uses it
            return self.head(x)

    maps = grad_cam(Dead(), "side", images(n=2), signed=True)
    assert maps.shape == (2, 12, 12) and float(maps.abs().max()) == 0.0


def test_batches_give_the_same_maps_and_logits():
    model, x = small_cnn(), images(n=7)
    whole = attribute(model, x, "4", batch_size=64)
    parts = attribute(model, x, "4", batch_size=3)
    assert torch.allclose(whole.maps, parts.maps, atol=1e-6)
    assert torch.allclose(whole.logits, parts.logits, atol=1e-6)
    assert torch.equal(whole.targets, model.eval()(x).argmax(1))
    assert torch.allclose(whole.probabilities.sum(1), torch.ones(7))


def test_layer_as_child_names_and_module_agree():
    model = nn.Sequential(nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU()), nn.Sequential(
        nn.Conv2d(4, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3)))
    x = images(n=2)
    a = grad_cam(model, "1.0", x)
    b = grad_cam(model, ["1", "0"], x)
    c = grad_cam(model, model[1][0], x)
    assert torch.equal(a, b) and torch.equal(a, c)


def test_uint8_images_are_read_as_0_to_255():
    model = small_cnn()
    x8 = torch.randint(0, 256, (3, 3, 12, 12), dtype=torch.uint8)
    assert torch.allclose(grad_cam(model, "4", x8), grad_cam(model, "4", x8.float() / 255), atol=1e-6)


def test_proc_x_runs_before_the_model():
    model, x = small_cnn(), images(n=3)
    proc = lambda b: (b - 0.5) * 2  # noqa: E731
    assert torch.allclose(grad_cam(model, "4", x, proc_x=proc), grad_cam(model, "4", (x - 0.5) * 2), atol=1e-6)


# -- vision transformer tokens -------------------------------------------------------------------------------
class TinyViT(nn.Module):
    def __init__(self, cls_token: bool = True, patch: int = 4, dim: int = 8) -> None:
        super().__init__()
        torch.manual_seed(3)
        self.patch = nn.Conv2d(3, dim, patch, stride=patch)
        self.cls = nn.Parameter(torch.randn(1, 1, dim)) if cls_token else None
        self.block = nn.Sequential(nn.Linear(dim, dim), nn.GELU())
        self.head = nn.Linear(dim, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = self.patch(x).flatten(2).transpose(1, 2)  # (N, T, C)
        if self.cls is not None:
            t = torch.cat([self.cls.expand(len(t), -1, -1), t], dim=1)
        t = self.block(t)
        return self.head(t.mean(1))


@pytest.mark.parametrize("cls_token", [True, False])
def test_vit_tokens_are_laid_on_their_patch_grid(cls_token):
    model, x = TinyViT(cls_token), images(n=2, size=16)  # 4 x 4 patches (+1 class token)
    ours = grad_cam(model, "block", x, signed=True)
    # Reference: hooks on the block, class token dropped by hand, Grad-CAM on the (C, 4, 4) grid.
    saved = {}
    h = model.block.register_forward_hook(lambda _m, _i, out: saved.__setitem__("a", out))
    logits = model(x)
    h.remove()
    (g,) = torch.autograd.grad(logits.gather(1, logits.argmax(1)[:, None]).sum(), saved["a"])
    a = saved["a"][:, int(cls_token):]
    g = g[:, int(cls_token):]
    grid = lambda t: t.transpose(1, 2).reshape(2, 8, 4, 4)  # noqa: E731
    cam = (grid(g).mean((2, 3), keepdim=True) * grid(a)).sum(1, keepdim=True)
    ref = F.interpolate(cam, size=(16, 16), mode="bilinear", align_corners=False)[:, 0].detach()
    assert ours.shape == (2, 16, 16)
    assert float((ours - ref).abs().max()) <= 1e-5


def test_tokens_that_are_not_a_grid_need_reshape():
    model = TinyViT(cls_token=True)
    model.cls = nn.Parameter(torch.randn(1, 2, 8))  # 16 + 2 tokens: not a square, not a square + 1
    x = images(n=1, size=16)
    with pytest.raises(ValueError, match="neither a square nor a square \\+ 1.*reshape="):
        grad_cam(model, "block", x)
    out = grad_cam(model, "block", x, reshape=lambda t: t[:, 2:].transpose(1, 2).reshape(len(t), 8, 4, 4))
    assert out.shape == (1, 16, 16)


def test_token_grid():
    assert token_grid(196) == (14, 0)
    assert token_grid(197) == (14, 1)
    assert token_grid(50) == (7, 1)
    assert token_grid(18) is None


# -- other methods -------------------------------------------------------------------------------------------
def test_signed_saliency_is_the_input_gradient_summed_over_channels():
    model, x = small_cnn(inplace=False), images(n=3)
    ours = attribute(model, x, method="saliency", signed=True, target=2).maps
    xr = x.clone().requires_grad_()
    (g,) = torch.autograd.grad(model.eval()(xr)[:, 2].sum(), xr)
    assert float((ours - g.sum(1)).abs().max()) <= 1e-6


def test_integrated_gradients_are_complete():
    model, x = small_cnn(inplace=False), images(n=2)
    res = attribute(model, x, method="integrated_gradients", method_kwargs={"n_steps": 200})
    with torch.no_grad():
        f = model.eval()(x).gather(1, res.targets[:, None])[:, 0]
        f0 = model(torch.zeros_like(x)).gather(1, res.targets[:, None])[:, 0]
    assert torch.allclose(res.maps.sum((1, 2)), f - f0, atol=2e-2 * float((f - f0).abs().max()) + 1e-3)


@pytest.mark.parametrize("method", ["occlusion", "guided_gradcam"])
def test_other_methods_give_input_sized_maps_that_depend_on_the_target(method):
    model, x = small_cnn(), images(n=2)
    a = attribute(model, x, "4", target=0, method=method).maps
    b = attribute(model, x, "4", target=1, method=method).maps
    assert a.shape == (2, 12, 12) and torch.isfinite(a).all()
    assert float((a - b).abs().max()) > 0


def test_noise_tunnel_smooths_input_attributions():
    model, x = small_cnn(inplace=False), images(n=2)
    plain = attribute(model, x, method="saliency", signed=True, target=0).maps
    smooth = attribute(model, x, method="saliency", signed=True, target=0,
                       noise_tunnel={"nt_samples": 4, "stdevs": 0.5}).maps
    assert smooth.shape == plain.shape and float((smooth - plain).abs().max()) > 0
    # True means Captum's defaults (it used to be dropped on the way), for the layer method guided_gradcam too.
    for method, layer in (("saliency", None), ("guided_gradcam", "4")):
        base = attribute(model, x, layer, method=method, signed=True, target=0).maps
        by_default = attribute(model, x, layer, method=method, signed=True, target=0, noise_tunnel=True).maps
        assert float((by_default - base).abs().max()) > 0, method
    with pytest.raises(ValueError, match="noise_tunnel"):
        attribute(model, x, "4", method="gradcam", noise_tunnel=True)


# -- saliency confusion matrix -------------------------------------------------------------------------------
def test_saliency_confusion_splits_signed_maps_for_predicted_and_true_class():
    model, x = small_cnn(), images(n=4)
    pred = attribute(model, x, "4", signed=True)
    true = (pred.targets + torch.tensor([0, 1, 0, 2])) % 5
    conf = saliency_confusion(model, "4", x, true.tolist())
    assert conf.maps.shape == (4, 2, 2, 12, 12) and (conf.maps >= 0).all()
    assert np.allclose(conf.maps[:, 0, 0] - conf.maps[:, 0, 1], pred.maps.numpy(), atol=1e-6)
    true_maps = grad_cam(model, "4", x, target=true, signed=True).numpy()
    assert np.allclose(conf.maps[:, 1, 0] - conf.maps[:, 1, 1], true_maps, atol=1e-6)
    assert conf.wrong.tolist() == [False, True, False, True]
    probs = pred.probabilities.numpy()
    assert np.allclose(conf.probabilities[:, 0], probs[np.arange(4), pred.targets.numpy()])
    assert np.allclose(conf.probabilities[:, 1], probs[np.arange(4), true.numpy()])


# -- the model handed back unchanged -------------------------------------------------------------------------
def model_state(model: nn.Module) -> tuple:
    return ([m.training for m in model.modules()], [p.requires_grad for p in model.parameters()],
            [None if p.grad is None else p.grad.clone() for p in model.parameters()],
            [(len(m._forward_hooks), len(m._forward_pre_hooks), len(m._backward_hooks)) for m in model.modules()])


def same_state(a: tuple, b: tuple) -> bool:
    grads_equal = all((x is None and y is None) or (x is not None and y is not None and torch.equal(x, y))
                      for x, y in zip(a[2], b[2], strict=True))
    return a[0] == b[0] and a[1] == b[1] and a[3] == b[3] and grads_equal


@settings(max_examples=15, deadline=None)
@given(train=st.booleans(), frozen=st.lists(st.booleans(), min_size=9, max_size=9), with_grads=st.booleans(),
       user_hook=st.booleans(), fail=st.sampled_from([None, "target", "forward"]),
       method=st.sampled_from(["gradcam", "saliency", "guided_gradcam"]))
def test_model_comes_back_unchanged(train, frozen, with_grads, user_hook, fail, method):
    model, x = small_cnn(), images(n=2)
    model.train(train)
    for p, f in zip(model.parameters(), frozen, strict=False):
        p.requires_grad_(not f)
    if with_grads:
        for p in model.parameters():
            p.grad = torch.randn_like(p)
    if user_hook:
        model[2].register_forward_hook(lambda *_: None)
    if fail == "forward":
        model[6].register_forward_pre_hook(lambda *_: (_ for _ in ()).throw(RuntimeError("boom")))
    before = model_state(model)
    target = 99 if fail == "target" else None
    if fail is None:
        attribute(model, x, "4", target, method=method)
    else:
        with pytest.raises((RuntimeError, ValueError)):
            attribute(model, x, "4", target, method=method)
    assert same_state(model_state(model), before)


def test_forward_failure_names_the_module():
    model, x = small_cnn(), images(n=2)
    model[6].register_forward_pre_hook(lambda *_: (_ for _ in ()).throw(RuntimeError("boom")))
    with pytest.raises(RuntimeError, match="failed in module '6'.*boom"):
        grad_cam(model, "4", x)


def test_results_do_not_depend_on_the_training_flag_and_no_hooks_pile_up():
    model, x = small_cnn(), images(n=3)
    ref = grad_cam(model, "4", x)
    model.train()
    for _ in range(20):
        out = grad_cam(model, "4", x)
    assert torch.equal(out, ref) and model.training
    assert sum(len(m._forward_hooks) + len(m._backward_hooks) for m in model.modules()) == 0


# -- bad input -----------------------------------------------------------------------------------------------
def test_unknown_layer_lists_close_names():
    with pytest.raises(ValueError, match=r"layer '44' is not in the model; closest valid names: \[.*'4'"):
        grad_cam(small_cnn(), "44", images(n=1))


@pytest.mark.parametrize("path, reason", [("10", "no spatial axes"), ("8", "single pixel")])
def test_non_spatial_layers_are_refused_with_the_reason(path, reason):
    with pytest.raises(ValueError, match=f"{reason}.*layers that can be mapped: .*'7'"):
        grad_cam(small_cnn(), path, images(n=1))


def test_grayscale_to_an_rgb_model_says_so():
    with pytest.raises(RuntimeError, match="failed in module '0'.*1 channel.*expects 3.*grayscale images given to an "
                                           "RGB model"):
        grad_cam(small_cnn(), "4", images(n=2, c=1))


@pytest.mark.parametrize("x, match", [
    (torch.zeros(0, 3, 12, 12), "empty batch"),
    (torch.zeros(3, 12, 12), r"\(N, C, H, W\).*x\[None\]"),
    (torch.zeros(12, 12), r"x\[None, None\]"),
    ("img.png", "tensor or numpy array"),
])
def test_bad_images(x, match):
    with pytest.raises((ValueError, TypeError), match=match):
        grad_cam(small_cnn(), "4", x)


@pytest.mark.parametrize("target, match", [(5, "target 5 is out of range.*5 classes"), (-1, "target -1"),
                                           ([0, 1], "one per image"), (1.5, "one per image")])
def test_bad_targets(target, match):
    with pytest.raises((ValueError, AttributionInputError), match=match):
        grad_cam(small_cnn(), "4", images(n=3), target=target)


@pytest.mark.parametrize("kwargs, match", [
    ({"method": "lime"}, "method must be one of"),
    ({"precision": "fp8"}, "precision must be one of"),
    ({"batch_size": 0}, "batch_size must be a positive int"),
    ({"method": "gradcam", "layer": None}, "needs a layer"),
])
def test_bad_options(kwargs, match):
    kwargs = {"layer": "4", **kwargs}
    with pytest.raises(ValueError, match=match):
        attribute(small_cnn(), images(n=1), **kwargs)


def test_layer_shapes_and_spatial_layers():
    model = small_cnn()
    shapes = layer_shapes(model, images(n=4))
    assert shapes[""] == (1, 5) and shapes["4"] == (1, 16, 12, 12) and shapes["6"] == (1, 16, 6, 6)
    assert list(spatial_layers(model, images(n=1))) == ["0", "1", "2", "3", "4", "5", "6", "7"]


def test_bf16_autocast_stays_close_to_fp32():
    model, x = small_cnn(), images(n=2)
    a = grad_cam(model, "6", x, signed=True)
    b = grad_cam(model, "6", x, signed=True, precision="bf16")
    assert b.dtype == torch.float32
    assert float((a - b).abs().max()) <= 0.05 * float(a.abs().max())


# -- no stale layer shapes -----------------------------------------------------------------------------------
def test_a_replaced_head_takes_its_new_classes():
    model, x = small_cnn(), images(n=2)
    grad_cam(model, "4", x, target=4)
    model[10] = nn.Linear(16, 8)  # 8 classes now
    assert grad_cam(model, "4", x, target=7).shape == (2, 12, 12)
    with pytest.raises(AttributionInputError, match="target 8 is out of range: the model scores 8 classes"):
        grad_cam(model, "4", x, target=8)


def test_a_layer_pooled_to_one_pixel_is_refused_after_the_change():
    model, x = small_cnn(), images(n=2)
    assert grad_cam(model, "7", x).shape == (2, 12, 12)
    model[5] = nn.MaxPool2d(12)  # layers 6 and 7 now give 1x1 maps: constant Grad-CAM
    with pytest.raises(ValueError, match="'7' gives .* single pixel.*layers that can be mapped: .*'4'"):
        grad_cam(model, "7", x)
    assert list(spatial_layers(model, x)) == ["0", "1", "2", "3", "4"]


def test_shapes_follow_proc_x_even_when_its_id_is_reused():
    model, x = small_cnn(), images(n=1)
    for scale in (1, 2, 1, 3):  # each lambda dies after its call: CPython reuses its id for the next one
        shapes = layer_shapes(model, x, lambda t, s=scale: F.interpolate(t, scale_factor=s))
        assert shapes["4"] == (1, 16, 12 * scale, 12 * scale)


def test_the_viewers_layer_list_follows_the_model():
    import traitlets

    from nbviz.widgets.gradcam_viewer import GradCamViewer

    model = small_cnn()
    viewer = GradCamViewer(model, images(n=2), layer="4")
    assert viewer.layers == ["0", "1", "2", "3", "4", "5", "6", "7"]
    model[5] = nn.MaxPool2d(12)
    model[2] = nn.Sequential(nn.Conv2d(8, 16, 3, padding=1), nn.Identity())
    viewer.layer = "2.1"  # a module that did not exist when the viewer was made
    assert viewer.layers == ["0", "1", "2.0", "2.1", "2", "3", "4"]  # in the order their outputs come
    with pytest.raises(traitlets.TraitError, match="single pixel"):
        viewer.layer = "7"


# -- NaN is refused, naming the images ---------------------------------------------------------------------------
def test_nan_images_are_refused_with_their_indices():
    x = images(n=5)
    x[1, 0, 2, 2] = float("nan")
    x[3, 2] = float("inf")
    with pytest.raises(ValueError, match=r"^x has NaN or inf values in images 1, 3;"):
        grad_cam(small_cnn(), "4", x)


def test_nan_images_given_to_the_viewer_name_images():
    from torch.utils.data import TensorDataset

    from nbviz.widgets.gradcam_viewer import GradCamViewer

    x = images(n=4)
    x[2, 1, 0, 0] = float("nan")
    with pytest.raises(ValueError, match=r"^images has NaN or inf values in image 2;"):
        GradCamViewer(small_cnn(), x, layer="4")
    with pytest.raises(ValueError, match=r"^images has NaN or inf values in image 2;"):
        GradCamViewer(small_cnn(), TensorDataset(x, torch.arange(4)), layer="4")


class _NanWhereMarked(nn.Module):
    """NaN for the images marked by a first pixel above 100 (a model that diverges on some inputs)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.where(x[:, :1, :1, :1] > 100, float("nan"), x)


def marked(n: int, rows: list[int]) -> torch.Tensor:
    x = images(n=n)
    x[rows, 0, 0, 0] = 1000.0
    return x


@pytest.mark.parametrize("method", ["gradcam", "saliency"])
@pytest.mark.parametrize("rows, named", [([1, 2], "images 1, 2"), ([5], "image 5")])
def test_a_model_giving_nan_names_the_images(method, rows, named):
    model = small_cnn()
    model.insert(0, _NanWhereMarked())
    with pytest.raises(ValueError, match=f"NaN or inf class scores for {named};"):
        attribute(model, marked(6, rows), "5", method=method, batch_size=4)  # image 5: the second batch


def test_the_viewer_refuses_a_model_giving_nan():
    from nbviz.widgets.gradcam_viewer import GradCamViewer

    model = small_cnn()
    model.insert(0, _NanWhereMarked())
    with pytest.raises(ValueError, match="NaN or inf class scores for image 0;"):
        GradCamViewer(model, marked(2, [0]), layer="5")


def test_a_long_batch_reports_progress_and_closes_its_bar(monkeypatch):
    import nbviz.kernels.attribution as A

    made = []

    class Bar:
        def __init__(self, total, **kwargs):
            self.total, self.kwargs, self.done, self.closed = total, kwargs, 0, False
            made.append(self)

        def update(self, k):
            self.done += k

        def close(self):
            self.closed = True

    monkeypatch.setattr(A, "progress_bar", lambda total, **kw: Bar(total, **kw))
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1),
                                torch.nn.Flatten(), torch.nn.Linear(4, 2))
    A.attribute(model, torch.rand(7, 3, 8, 8), "0", batch_size=3, progress=True)
    (bar,) = made
    assert bar.total == 7 and bar.done == 7 and bar.closed and bar.kwargs["disable"] is False
    assert bar.kwargs["delay"] == 0.5  # shown only once the work has taken half a second
    A.attribute(model, torch.rand(2, 3, 8, 8), "0")
    assert made[1].kwargs["disable"] is True and made[1].closed
