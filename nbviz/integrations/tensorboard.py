"""Export features to TensorBoard's embedding projector (tensors, metadata TSV, sprite, config)."""

from __future__ import annotations

import math
import os
import warnings
from pathlib import Path

import numpy as np

from ..data import Features

#: TensorBoard refuses sprites larger than this many pixels per side.
SPRITE_MAX_PX = 8192


def _tsv_cell(value: object) -> str:
    # Tabs and newlines would break the TSV's columns and rows.
    return str(value).replace("\t", " ").replace("\n", " ").replace("\r", " ")


def export_projector(features: Features, logdir: str | os.PathLike, name: str = "nbviz",
                     sprite_size: int = 32) -> Path:
    """Write ``tensors.tsv``, ``metadata.tsv``, ``sprite.png`` (when there are images) and
    ``projector_config.pbtxt`` into ``logdir``; returns the config's path.

    The sprite is one square grid (TensorBoard's format); cells shrink below ``sprite_size`` when that is the
    only way to keep the sprite within 8192 px, and the sprite is left out (with a warning) when even 1 px
    cells would not fit.
    """
    from ..kernels.images import atlas

    out = Path(logdir)
    out.mkdir(parents=True, exist_ok=True)
    np.savetxt(out / "tensors.tsv", features.embeddings, delimiter="\t", fmt="%.6g")

    columns: dict[str, list] = {}
    if features.labels is not None:
        columns["label"] = list(features.labels)
    if features.metadata is not None:
        for col in features.metadata.columns:
            columns[str(col)] = list(features.metadata[col])
    lines = []
    if len(columns) > 1:
        lines.append("\t".join(_tsv_cell(c) for c in columns))  # a header only with several columns
    for i in range(len(features)):
        lines.append("\t".join(_tsv_cell(v[i]) for v in columns.values()))
    if columns:
        (out / "metadata.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")

    config = [f'embeddings {{\n  tensor_name: "{name}"\n  tensor_path: "tensors.tsv"']
    if columns:
        config.append('  metadata_path: "metadata.tsv"')
    if features.n_images:
        per_row = math.ceil(math.sqrt(len(features)))
        size = min(sprite_size, SPRITE_MAX_PX // per_row)
        if size < 1:
            warnings.warn(f"{len(features)} images cannot fit a {SPRITE_MAX_PX}px sprite; sprite left out",
                          stacklevel=2)
        else:
            png, _ = atlas(features.images_uint8(np.arange(len(features))), size)
            (out / "sprite.png").write_bytes(png)
            config.append(f'  sprite {{\n    image_path: "sprite.png"\n    single_image_dim: {size}\n'
                          f'    single_image_dim: {size}\n  }}')
    config.append("}\n")
    path = out / "projector_config.pbtxt"
    path.write_text("\n".join(config), encoding="utf-8")
    return path
