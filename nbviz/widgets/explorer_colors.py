"""How the EmbeddingExplorer colours its points: ``color_by``, the namespaces of its names, value and category colours.

Built-in colourings ("label", "cluster", "value") and metadata columns (``COLUMN_PREFIX + name``) are separate
namespaces; a colouring ends up as the traits the browser and the static picture both read (categories and palette,
or values and a colormap lookup table). :class:`PointColors` is a mixin of
:class:`~nbviz.widgets.embedding_explorer.EmbeddingExplorer`, which holds the traits; it lives here to keep that
module short.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import pandas as pd

from ..checks import as_numpy
from ..colors import categorical_palette, colormap_lut
from ..display import value_colors
from ..kernels.clustering import hierarchical_clusters
from ..labels import encode_labels
from .base import WidgetMixin

if TYPE_CHECKING:
    import traitlets as t

    from ..data import Features

#: ``color_by`` names of the built-in colourings; a metadata column of any name is ``COLUMN_PREFIX + name``.
BUILTIN_COLORINGS = ("label", "cluster", "value")
COLUMN_PREFIX = "column:"

_W = TypeVar("_W", bound="PointColors")


def _spelled(coloring: tuple[str, Any]) -> str:
    """A colouring as color_by spells it: "label", "column:NAME", or "" for none."""
    kind, key = coloring
    return "" if kind == "none" else COLUMN_PREFIX + str(key) if kind == "column" else str(key)


class PointColors(WidgetMixin):
    """The colouring of an explorer's points (a mixin of ``EmbeddingExplorer``: it uses the widget's ``features``,
    its colour traits and the ``colors`` / ``clusters`` / ``colormap`` it was given)."""

    # What this mixin uses of the EmbeddingExplorer (annotations only: the values are the widget's traits and state).
    features: Features
    _clusters: int | None
    _colors_name: str
    colormap: t.Unicode[str, str | bytes]
    colormap_lut: t.Any
    color_options: t.List[str]
    color_source: t.Unicode[str, str | bytes]
    _colors_raw: np.ndarray | None

    @staticmethod
    def _check_colors(colors: Any, n: int) -> np.ndarray:
        values = np.asarray(as_numpy(colors, "colors"), dtype=np.float64).reshape(-1)
        if len(values) != n:
            raise ValueError(f"colors has {len(values)} entries but data has {n} rows")
        if n and not np.isfinite(values).any():
            raise ValueError("colors must hold at least one finite number (NaN / inf points are drawn as the "
                             "lowest colour), got none")
        return values

    @staticmethod
    def _check_clusters(k: Any, n: int) -> int:
        if not isinstance(k, (int, np.integer)) or not 2 <= k <= n:
            raise ValueError(f"clusters must be an int between 2 and N = {n}, got {k!r}")
        return int(k)

    def color_by(self: _W, by: str | None = None) -> _W:
        """Colour points by a built-in colouring or a metadata column; returns the widget.

        Built-in colourings and metadata columns are separate namespaces:

        - ``"label"`` (the labels), ``"cluster"`` (the ``clusters`` given), ``"value"`` (the ``colors`` given);
        - ``"column:NAME"``: the metadata column NAME, whatever it is called (e.g. ``"column:label"`` when the
          metadata has a ``label`` column besides the labels). A bare column name works too when it is none of
          the built-in names above; a bare built-in name always means the built-in;
        - ``None``: the first of value, cluster, label that was given (nothing when none was).

        A numeric column with more than 12 distinct values is coloured by value, any other by category.
        """
        self._apply_coloring(self._coloring(by))
        return self

    def _color_options(self) -> tuple[dict[str, bool], dict[str, Any], list[str]]:
        """Which built-in colourings were given, the metadata columns by name, and every option as color_by spells
        it."""
        f = self.features
        given = {"label": f.labels is not None, "cluster": self._clusters is not None,
                 "value": self._colors_raw is not None}
        columns = {} if f.metadata is None else {str(c): c for c in f.metadata.columns}
        options = [name for name in BUILTIN_COLORINGS if given[name]] + [COLUMN_PREFIX + c for c in columns]
        return given, columns, options

    def _coloring(self, by: object) -> tuple[str, Any]:
        """Check ``by`` (see :meth:`color_by`): ("builtin", name), ("column", the column's key) or ("none", None)."""
        given, columns, options = self._color_options()
        if by is None:
            first = next((o for o in ("value", "cluster", "label") if given[o]), None)
            return ("none", None) if first is None else ("builtin", first)
        if isinstance(by, str):
            if by in BUILTIN_COLORINGS:
                if given[by]:
                    return "builtin", by
            elif by.startswith(COLUMN_PREFIX) and by[len(COLUMN_PREFIX):] in columns:
                return "column", columns[by[len(COLUMN_PREFIX):]]
            elif by in columns:  # a bare column name that is no built-in name
                return "column", columns[by]
        hint = ""
        if by in BUILTIN_COLORINGS:
            needs = {"label": "labels", "cluster": "clusters=k", "value": "colors"}[str(by)]
            hint = f"; color_by={by!r} needs {needs}"
            if by in columns:
                hint += f" (for the metadata column {by!r} pass color_by='{COLUMN_PREFIX}{by}')"
        raise ValueError(f"color_by must be one of {options or ['(nothing to colour by)']}, got {by!r}{hint}")

    def _apply_coloring(self, coloring: tuple[str, Any]) -> None:
        f = self.features
        kind, key = coloring
        with self.hold_sync():
            if kind == "none":
                self._set_categories(None, [], "")
            elif kind == "column":
                assert f.metadata is not None  # _coloring offers it only then; likewise below
                column, title = f.metadata[key], str(key)
                if pd.api.types.is_numeric_dtype(column) and column.nunique() > 12:
                    self._set_values(column.to_numpy(dtype=np.float64), title)
                else:
                    # Coded as labels are (numbers in numeric order); missing values get a category of their own.
                    codes, names = encode_labels(column, f"metadata[{title!r}]", missing="(missing)")
                    self._set_categories(codes, list(names or []), title)
            elif key == "label":
                assert f.label_names is not None
                self._set_categories(f.label_codes, f.label_names, "label")
            elif key == "cluster":
                assert self._clusters is not None
                codes = hierarchical_clusters(f.embeddings, self._clusters)
                self._set_categories(codes, [f"cluster {i}" for i in range(self._clusters)], "cluster")
            else:
                assert self._colors_raw is not None
                self._set_values(self._colors_raw, self._colors_name)
        self._color_source = coloring
        with self.hold_sync():
            self.color_options = self._color_options()[2]
            self.color_source = _spelled(coloring)

    def _pick_coloring(self, spelled: str) -> None:
        """``color_source`` changed (the view's menu, or Python): the same path as color_by(); a bad name raises,
        the old value comes back (a browser's change ends in the banner); the colouring's own spelling does
        nothing."""
        if spelled != _spelled(self._color_source):
            self.color_by(spelled or None)

    def _set_categories(self, codes: np.ndarray | None, names: list[str], title: str) -> None:
        k = max(len(names), 1)
        dtype = np.uint8 if k <= 256 else np.uint16
        self.categories = None if codes is None else np.asarray(codes).astype(dtype)
        self.category_names = [str(n) for n in names]
        self.palette = categorical_palette(k)
        self.hidden_categories = []
        self.color_title, self.color_mode = title, "category"

    def _set_values(self, raw: np.ndarray, title: str) -> None:
        finite = raw[np.isfinite(raw)]
        lo, hi = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 1.0)
        self.values = ((raw - lo) / (hi - lo if hi > lo else 1.0)).astype(np.float32)
        self.colormap_lut = colormap_lut(self.colormap)
        self.value_range = [lo, hi]
        self.color_title, self.color_mode = title, "value"

    def _point_colors(self) -> np.ndarray:
        if self.color_mode == "value":
            return value_colors(self.values, self.colormap_lut)
        pal = np.asarray(self.palette)
        return pal[np.asarray(self.categories)] if self.categories is not None else pal[0]
