"""Export features to TensorBoard's embedding projector (tensors, metadata TSV, sprite, config)."""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..data import Features
from ..files import check_target, expand_path, write_atomic

#: TensorBoard refuses sprites larger than this many pixels per side.
SPRITE_MAX_PX = 8192
CONFIG_NAME = "projector_config.pbtxt"


def _tsv_cell(value: object) -> str:
    # Tabs and newlines would break the TSV's columns and rows.
    return str(value).replace("\t", " ").replace("\n", " ").replace("\r", " ")


def export_projector(features: Features, logdir: str | os.PathLike, name: str = "nbviz",
                     sprite_size: int = 32, *, overwrite: bool = False) -> Path:
    """Write ``tensors.tsv``, ``metadata.tsv``, ``sprite.png`` (when there are images) and
    ``projector_config.pbtxt`` into ``logdir``; returns the config's path.

    The sprite is one square grid (TensorBoard's format); cells shrink below ``sprite_size`` when that is the
    only way to keep the sprite within 8192 px, and the sprite is left out (with a warning) when even 1 px
    cells would not fit.

    ``logdir`` (``~`` expanded) is made if missing. Files already there are replaced only with
    ``overwrite=True`` (FileExistsError naming the first one otherwise, before anything is written); a symbolic
    link in place of one of them is always refused; each file appears complete or not at all.
    """
    from ..kernels.images import atlas

    out = expand_path(logdir, "logdir")
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"logdir must be a folder, but {str(out)!r} is a file")
    files: dict[str, Callable[[Path], object]] = {
        "tensors.tsv": lambda tmp: np.savetxt(tmp, features.embeddings, delimiter="\t", fmt="%.6g")}

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
        tsv = "\n".join(lines) + "\n"
        files["metadata.tsv"] = lambda tmp: tmp.write_text(tsv, encoding="utf-8")

    quoted = str(name).replace("\\", "\\\\").replace('"', '\\"')  # a pbtxt string literal
    config = [f'embeddings {{\n  tensor_name: "{quoted}"\n  tensor_path: "tensors.tsv"']
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
            files["sprite.png"] = lambda tmp: tmp.write_bytes(png)
            config.append(f'  sprite {{\n    image_path: "sprite.png"\n    single_image_dim: {size}\n'
                          f'    single_image_dim: {size}\n  }}')
    config.append("}\n")
    text = "\n".join(config)
    files[CONFIG_NAME] = lambda tmp: tmp.write_text(text, encoding="utf-8")

    out.mkdir(parents=True, exist_ok=True)
    # Every target is checked before the first is written: a refusal leaves logdir as it was.
    targets = {check_target(out / f, (Path(f).suffix,), overwrite=overwrite): w for f, w in files.items()}
    for target, write in targets.items():
        write_atomic(target, write, overwrite=overwrite)
    return out / CONFIG_NAME
