"""Export features to TensorBoard's embedding projector (tensors, metadata TSV, sprite, config)."""

from __future__ import annotations

import math
import os
import socket
import struct
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..data import Features
from ..files import check_target, expand_path, write_atomic
from ..labelling import check_folder_name

#: TensorBoard refuses sprites larger than this many pixels per side.
SPRITE_MAX_PX = 8192
CONFIG_NAME = "projector_config.pbtxt"


def _crc32c_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1  # Castagnoli polynomial, reflected
        table.append(crc)
    return table


_CRC32C = _crc32c_table()


def _masked_crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for b in data:
        crc = _CRC32C[(crc ^ b) & 0xFF] ^ (crc >> 8)
    crc ^= 0xFFFFFFFF
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF  # TFRecord's masking


def _record(data: bytes) -> bytes:
    """One TFRecord: length, its masked CRC32C, the data, its masked CRC32C."""
    length = struct.pack("<Q", len(data))
    return length + struct.pack("<I", _masked_crc32c(length)) + data + struct.pack("<I", _masked_crc32c(data))


def event_file(wall_time: float) -> bytes:
    """An event file holding only the version event: what makes TensorBoard list a folder as a run. The Event
    protobuf is written by hand (wall_time = field 1, double; file_version = field 3, string) so no TensorFlow or
    protobuf is needed."""
    version = b"brain.Event:2"
    event = b"\x09" + struct.pack("<d", wall_time) + b"\x1a" + bytes([len(version)]) + version
    return _record(event)


def _tsv_cell(value: object) -> str:
    # Tabs and newlines would break the TSV's columns and rows.
    return str(value).replace("\t", " ").replace("\n", " ").replace("\r", " ")


def export_projector(features: Features, logdir: str | os.PathLike, name: str = "nbviz",
                     sprite_size: int = 32, *, run: str | None = None, overwrite: bool = False) -> Path:
    """Write ``tensors.tsv``, ``metadata.tsv``, ``sprite.png`` (when there are images) and
    ``projector_config.pbtxt`` into ``logdir`` (into ``logdir/run`` with a ``run`` name, the run TensorBoard
    lists when started with ``--logdir logdir``); returns the config's path.

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

    if run is not None:
        out = out / check_folder_name(run, "run")
        if out.is_symlink() or (out.exists() and not out.is_dir()):
            raise NotADirectoryError(f"run folder {str(out)!r} is a file or a symbolic link; nbviz writes only into "
                                     "a plain folder inside logdir")
        # TensorBoard lists a folder as a run only when it holds an event file.
        if not any(out.glob("events.out.tfevents.*")):
            now = time.time()
            files[f"events.out.tfevents.{int(now)}.{socket.gethostname()}.nbviz"] = (
                lambda tmp: tmp.write_bytes(event_file(now)))

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
