"""Grad-CAM throughput: nbviz's kernel against Captum's LayerGradCam called directly, pytorch-grad-cam's GradCAM
(when it imports) and the floor, one plain forward pass of the model at the same batch.

Models: the digits CNN of the viewer's tests (1 x 8 x 8, two convs), a typical small CNN (3 x 32 x 32, three conv
blocks) and a ResNet-50-shaped model (Bottleneck blocks 3-4-6-3, 224 x 224, random weights; defined here, no
torchvision), Grad-CAM at the last conv stage ("2" / "8" / "layer4"). Ways, alternating order:

- **forward**: ``model(x)`` under ``torch.inference_mode()`` — the floor;
- **nbviz**: ``nbviz.kernels.attribution.grad_cam(model, layer, x)`` (predicted class chosen inside, maps upsampled to
  the input size);
- **captum**: ``LayerGradCam(model, layer).attribute(x, target, relu_attributions=True)`` + ``LayerAttribution.
  interpolate`` to the input size, the target precomputed outside the timing (what the user would pass);
- **pytorch-grad-cam**: ``GradCAM(model, [layer])(x, targets)`` when the package imports.

Also: re-targeting latency of the viewer (one image, another class) on the digits CNN and memory over 1,000 calls.
Run ``python benchmarks/gradcam.py --help`` for options; results go to benchmarks/results/gradcam.{md,json}.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
from pathlib import Path

import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.common import RESULTS, host, median, version, wait_quiet  # noqa: E402 - the repo root first
from benchmarks.models import ResNet50Shaped  # noqa: E402

WAYS = ("forward", "nbviz", "captum", "pytorch-grad-cam")


# -- models ----------------------------------------------------------------------------------------------------
def digits_cnn() -> nn.Module:
    return nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(inplace=True), nn.Conv2d(16, 32, 3, padding=1),
                         nn.ReLU(inplace=True), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 10))


def cifar_cnn() -> nn.Module:
    """A typical small CNN (CIFAR-sized, 3 x 32 x 32): three conv blocks, Grad-CAM at the last conv ("8")."""
    def block(cin: int, cout: int) -> list[nn.Module]:
        return [nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]

    return nn.Sequential(*block(3, 32), nn.MaxPool2d(2), *block(32, 64), nn.MaxPool2d(2),
                         nn.Conv2d(64, 128, 3, padding=1), nn.ReLU(inplace=True),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(128, 10))


def _stub_torchvision() -> str:
    """Stand-ins for the torchvision names pytorch-grad-cam imports at package level, when torchvision cannot be
    imported (PyPI's torchvision does not load beside this machine's CPU torch build). Its GradCAM path (activations,
    gradients, ``scale_cam_image`` with OpenCV) uses none of them: calling one raises."""
    import types

    try:
        import torchvision  # noqa: F401
        return ""
    except Exception:  # noqa: BLE001 - any import failure: stub it
        pass

    def unavailable(*_args, **_kwargs):
        raise RuntimeError("torchvision stub: not available on this machine")

    tv = types.ModuleType("torchvision")
    transforms = types.ModuleType("torchvision.transforms")
    functional = types.ModuleType("torchvision.transforms.functional")
    ops = types.ModuleType("torchvision.ops")
    transforms.Compose = transforms.Normalize = transforms.ToTensor = unavailable
    functional.resize = ops.box_iou = unavailable
    transforms.functional, tv.transforms, tv.ops = functional, transforms, ops
    sys.modules.update({"torchvision": tv, "torchvision.transforms": transforms,
                        "torchvision.transforms.functional": functional, "torchvision.ops": ops})
    return "imported beside a torchvision stub (torchvision cannot load here; GradCAM's path does not use it)"


def pytorch_grad_cam() -> tuple[object | None, str]:
    """pytorch-grad-cam's GradCAM class, or None and why it cannot be used here; and a note on how it was loaded."""
    stub = _stub_torchvision()
    try:
        from pytorch_grad_cam import GradCAM
        from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
    except Exception as exc:  # noqa: BLE001 - reported in the table
        return None, f"pytorch-grad-cam {version('grad-cam')} does not import: {type(exc).__name__}: {exc}"
    return (GradCAM, ClassifierOutputTarget), f"pytorch-grad-cam {version('grad-cam')} {stub}".strip()


# -- timing ----------------------------------------------------------------------------------------------------
def runner(way: str, model: nn.Module, layer_path: str, x: torch.Tensor, pgc: object | None):
    """A no-argument function doing one pass of ``way``, or None when that way is unavailable."""
    from captum.attr import LayerAttribution, LayerGradCam

    from nbviz.kernels.attribution import grad_cam

    layer = dict(model.named_modules())[layer_path]
    with torch.no_grad():  # not inference_mode: Captum's backward cannot use inference tensors
        target = model(x).argmax(1)
    if way == "forward":
        def run():
            with torch.inference_mode():
                return model(x)
    elif way == "nbviz":
        def run():
            return grad_cam(model, layer_path, x, batch_size=len(x))
    elif way == "captum":
        lgc = LayerGradCam(model, layer)

        def run():
            cam = lgc.attribute(x, target=target, relu_attributions=True)
            return LayerAttribution.interpolate(cam, tuple(x.shape[2:]), "bilinear")
    else:
        if pgc is None:
            return None
        cls, out_target = pgc
        cam = cls(model=model, target_layers=[layer])
        targets = [out_target(int(t)) for t in target]

        def run():
            return cam(input_tensor=x, targets=targets)
    return run


def bench_case(name: str, model: nn.Module, layer: str, shape: tuple, batch: int, repeats: int,
               pgc: object | None) -> dict:
    x = torch.randn(batch, *shape, generator=torch.Generator().manual_seed(0))
    runs = {w: runner(w, model, layer, x, pgc) for w in WAYS}
    times: dict[str, list[float]] = {w: [] for w in WAYS if runs[w] is not None}
    for w in times:  # warm-up
        runs[w]()
    for r in range(repeats):
        order = list(times) if r % 2 == 0 else list(times)[::-1]
        for w in order:
            t0 = time.perf_counter()
            runs[w]()
            times[w].append(time.perf_counter() - t0)
    ips = {w: batch / median(ts) for w, ts in times.items()}
    return {"model": name, "layer": layer, "batch": batch, "images_per_s": ips,
            "seconds": {w: ts for w, ts in times.items()},
            "nbviz_vs_forward": ips["nbviz"] / ips["forward"], "nbviz_vs_captum": ips["nbviz"] / ips["captum"]}


def retarget_latency(repeats: int) -> dict:
    """Viewer: milliseconds from setting ``target`` (another class, shown image) to the new map in the traits."""
    from nbviz.widgets.gradcam_viewer import GradCamViewer

    torch.manual_seed(0)
    model = digits_cnn()
    v = GradCamViewer(model, torch.rand(64, 1, 8, 8), layer="2")
    ms = []
    for r in range(repeats):
        v.index = r % 64
        pred = int(v.predictions[v.index])
        t0 = time.perf_counter()
        v.target = (pred + 1 + r % 9) % 10
        ms.append(1000 * (time.perf_counter() - t0))
    return {"median_ms": median(ms), "max_ms": max(ms), "n": len(ms)}


def memory_growth(calls: int) -> dict:
    """RSS before and after ``calls`` Grad-CAM calls on the digits CNN (after a warm-up of 50)."""
    from nbviz.kernels.attribution import grad_cam

    def rss_mib() -> float:
        return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

    model, x = digits_cnn(), torch.rand(8, 1, 8, 8)
    for _ in range(50):
        grad_cam(model, "2", x)
    before = rss_mib()
    for _ in range(calls):
        grad_cam(model, "2", x)
    return {"calls": calls, "rss_before_mib": round(before, 1), "rss_after_mib": round(rss_mib(), 1)}


# -- report ----------------------------------------------------------------------------------------------------
def table(rows: list[dict], note: str) -> str:
    head = ["model", "batch", *[f"{w} img/s" for w in WAYS], "nbviz / forward", "nbviz / captum"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        ips = r["images_per_s"]
        cells = [r["model"], str(r["batch"]), *[f"{ips[w]:,.0f}" if w in ips else "n/a" for w in WAYS],
                 f"{r['nbviz_vs_forward']:.0%}", f"{r['nbviz_vs_captum']:.2f}x"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + (f"\n\npytorch-grad-cam: {note}" if note else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 32, 128])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--resnet-repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--skip-resnet", action="store_true")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    quiet = wait_quiet(60, 0.5)
    pgc, note = pytorch_grad_cam()
    torch.manual_seed(0)
    cases = [("digits CNN 1x8x8", digits_cnn().eval(), "2", (1, 8, 8), args.repeats),
             ("small CNN 3x32x32", cifar_cnn().eval(), "8", (3, 32, 32), args.repeats)]
    if not args.skip_resnet:
        cases.append(("ResNet-50-shaped 3x224x224", ResNet50Shaped().eval(), "layer4", (3, 224, 224),
                      args.resnet_repeats))
    rows = []
    for name, model, layer, shape, repeats in cases:
        for b in args.batches:
            rows.append(bench_case(name, model, layer, shape, b, repeats, pgc))
            print(f"{name} batch {b}: " + ", ".join(f"{w} {v:,.1f} img/s" for w, v in rows[-1]["images_per_s"].items()),
                  flush=True)
    retarget = retarget_latency(100)
    memory = memory_growth(1000)
    result = {"command": "python " + " ".join(shlex.quote(a) for a in sys.argv), "host": host(), "quiet": quiet,
              "torch": torch.__version__, "captum": version("captum"), "torch_threads": torch.get_num_threads(),
              "rows": rows, "pytorch_grad_cam": note or version("grad-cam"), "retarget": retarget, "memory": memory}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "gradcam.json").write_text(json.dumps(result, indent=1))
    md = [f"Command: `{result['command']}`  ", f"Machine: {result['host']['cpu']}, {result['host']['nproc']} CPUs, "
          f"torch {torch.__version__} ({result['torch_threads']} threads), captum {result['captum']}; "
          f"CPU busy before: {quiet['cpu_busy_before']:.0%}", "", table(rows, note), "",
          f"Viewer re-target (digits CNN, one image, another class): median {retarget['median_ms']:.1f} ms, "
          f"max {retarget['max_ms']:.1f} ms over {retarget['n']} (goal <= 150 ms).", "",
          f"Memory: RSS {memory['rss_before_mib']} MiB before and {memory['rss_after_mib']} MiB after "
          f"{memory['calls']:,} more grad_cam calls."]
    (RESULTS / "gradcam.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
