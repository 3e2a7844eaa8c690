"""The display rule in Python (``nbviz.display``), what every static picture of a probability map costs per frame:
the playback blend and the colouring in each mode, on a 200 x 200 grid of 7 classes.

Run: ``python benchmarks/display_rule.py [--size 200] [--classes 7] [--repeats 7]``. Prints one median per step (ms a
frame); the browser's copy (js/src/lib/display.ts) is measured by ``probmap.py``'s playback.
"""

from __future__ import annotations

import argparse
import sys
import timeit
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo's nbviz first

from nbviz.colors import colormap_lut  # noqa: E402
from nbviz.display import BOUNDARY_LOW, REGION_LOW, class_luts, colorize_probabilities, interpolate  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--size", type=int, default=200, help="grid side")
    ap.add_argument("--classes", type=int, default=7)
    ap.add_argument("--repeats", type=int, default=7, help="timed repeats (median), 5 calls each")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    shape = (args.size, args.size)
    a = np.rint(rng.dirichlet(np.ones(args.classes), size=shape) * 255).astype(np.uint8)
    b = np.rint(rng.dirichlet(np.ones(args.classes), size=shape) * 255).astype(np.uint8)
    palette = (rng.random((args.classes, 4)) * 255).astype(np.uint8)
    luts = {"region": class_luts(palette, REGION_LOW), "boundary": class_luts(palette, BOUNDARY_LOW),
            "class": colormap_lut("viridis"), "entropy": colormap_lut("magma")}
    blended = interpolate(a, b, 0.4)
    steps = {
        "blend, linear": lambda: interpolate(a, b, 0.4),
        "blend, geometric": lambda: interpolate(a, b, 0.4, "geometric"),
        **{f"colour, {mode}": (lambda mode=mode: colorize_probabilities(blended, mode, luts))
           for mode in ("region", "boundary", "class", "entropy")},
    }
    print(f"| step ({args.size} x {args.size} x {args.classes}) | ms a frame (median of {args.repeats}) |")
    print("|---|---:|")
    for name, fn in steps.items():
        times = sorted(timeit.repeat(fn, number=5, repeat=args.repeats))
        print(f"| {name} | {times[len(times) // 2] / 5 * 1000:.2f} |")


if __name__ == "__main__":
    main()
