"""The one source of colour: matplotlib colormap names become RGBA lookup tables sent to the browser as bytes.

The browser only indexes these tables and the static exports use the same ones, so a PNG and the live view match.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

#: The accent of the focused / selected item: the browser's ``--nbviz-focus`` default (js/src/lib/theme.ts).
FOCUS = "#e6007e"
#: Companion charts' series: the bars, then the line drawn over them.
SERIES = ("#4c78a8", "#e45756")
#: Static pictures' colours (PNG, SVG, GIF) on a light and a dark page: the views' JupyterLab theme colours, which
#: js/src/lib/theme.ts also gives outside JupyterLab.
PICTURE = {
    "light": {"fg": "#212121", "muted": "#757575", "bg": "#ffffff", "node": "#ffffff", "group": "#bdbdbd",
              "frame": "#eeeeee", "border": "#bdbdbd"},
    "dark": {"fg": "#e8e8e8", "muted": "#9e9e9e", "bg": "#111111", "node": "#1e1e1e", "group": "#424242",
             "frame": "#252526", "border": "#616161"},
}

#: matplotlib's diverging colormaps (a neutral middle between two hues); "_r" reversals are diverging too.
DIVERGING = frozenset({"PiYG", "PRGn", "BrBG", "PuOr", "RdGy", "RdBu", "RdYlBu", "RdYlGn", "Spectral", "coolwarm",
                       "bwr", "seismic", "berlin", "managua", "vanimo"})


def is_diverging(name: str) -> bool:
    """Whether colormap ``name`` is diverging: signed values sit on its two halves, zero on its middle."""
    return name.removesuffix("_r") in DIVERGING


#: Qualitative maps used for categories, smallest first; beyond 20 categories hues are spread evenly.
_QUALITATIVE = (("tab10", 10), ("tab20", 20))


def _colormap(name: str, param: str = "colormap"):
    import matplotlib

    try:
        return matplotlib.colormaps[name]
    except KeyError:
        close = sorted(n for n in matplotlib.colormaps if n.lower().startswith(name.lower()[:3]))[:8]
        raise ValueError(f"{param} {name!r} is not a matplotlib colormap; close names: {close}") from None


def colormap_lut(name: str, n: int = 256, *, param: str = "colormap") -> np.ndarray:
    """A (n, 4) uint8 RGBA lookup table for a matplotlib colormap name (``param``: the argument named in errors)."""
    if not isinstance(name, str):
        raise TypeError(f"{param} must be a matplotlib colormap name (str), got {type(name).__name__}")
    return _lut(name, n, param)


@lru_cache(maxsize=64)
def _lut(name: str, n: int, param: str) -> np.ndarray:
    lut = _colormap(name, param)(np.linspace(0.0, 1.0, n))
    out = np.round(lut * 255).astype(np.uint8)
    out.setflags(write=False)
    return out


def categorical_palette(k: int, name: str | None = None) -> np.ndarray:
    """A (k, 4) uint8 RGBA palette with one distinguishable colour per category."""
    if k < 1:
        return colormap_lut("tab10", 10)[:1].copy()
    if name is not None:
        cmap = _colormap(name)
        n = getattr(cmap, "N", 256)
        # Listed (qualitative) maps cycle their entries; continuous maps are sampled evenly.
        idx = np.arange(k) % n / max(n - 1, 1) if n < 256 else np.linspace(0, 1, k)
        return np.round(cmap(idx) * 255).astype(np.uint8)
    for cmap_name, size in _QUALITATIVE:
        if k <= size:
            return colormap_lut(cmap_name, size)[:k].copy()
    # Golden-ratio hue steps keep neighbouring codes far apart in hue for any k.
    import matplotlib.colors as mcolors

    hues = (np.arange(k) * 0.618033988749895) % 1.0
    sat = 0.55 + 0.35 * ((np.arange(k) // 7) % 2)
    val = 0.95 - 0.25 * ((np.arange(k) // 3) % 2)
    rgb = mcolors.hsv_to_rgb(np.stack([hues, sat, val], axis=1))
    return np.concatenate([np.round(rgb * 255), np.full((k, 1), 255)], axis=1).astype(np.uint8)
