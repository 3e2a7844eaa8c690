"""Image folders as users keep them: the torchvision ``ImageFolder`` layout (one subfolder per class) or flat.

:class:`ImageFolder` lists the files once, in a stated order, and reads an image only when it is asked for, so a
folder of 100k photos costs a directory walk, not a load. It is a torch ``Dataset`` of ``(image, label)`` items,
which :meth:`nbviz.Features.from_model` runs a model over, and its paths become the :class:`~nbviz.Features`'
thumbnails. Bottom layer: it imports only :mod:`nbviz.image_input`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from .image_input import load_image

__all__ = ["IMAGE_EXTENSIONS", "ImageFolder"]

#: File suffixes read as images unless ``extensions=`` says otherwise (what Pillow reads without plugins).
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm")
LABEL_SOURCES = ("subfolders", None)
MODES = ("RGB", "L")


def _check_extensions(extensions: Iterable[str] | str) -> tuple[str, ...]:
    if isinstance(extensions, str):
        extensions = [extensions]
    out = []
    for ext in extensions:
        if not isinstance(ext, str) or not ext.strip("."):
            raise ValueError(f"extensions must be file suffixes such as '.png'; got {ext!r}")
        out.append("." + ext.lower().lstrip("."))
    if not out:
        raise ValueError("extensions must name at least one file suffix, such as '.png'")
    return tuple(out)


def _list_files(root: Path, extensions: tuple[str, ...], recursive: bool) -> list[Path]:
    walk = root.rglob("*") if recursive else root.iterdir()
    # Hidden files and folders (.ipynb_checkpoints, .DS_Store) are never images of the set.
    return [p for p in walk if p.suffix.lower() in extensions and p.is_file()
            and not any(part.startswith(".") for part in p.relative_to(root).parts)]


def _order(paths: list[Path], sort_key: Callable[[Path], Any] | None) -> list[Path]:
    by_path = sorted(paths, key=lambda p: p.as_posix())
    if sort_key is None:
        return by_path
    if not callable(sort_key):
        raise TypeError(f"sort_key must be a function of a path, or None; got {type(sort_key).__name__}")
    keys = []
    for p in by_path:
        try:
            keys.append(sort_key(p))
        except Exception as exc:
            raise ValueError(f"sort_key failed on {str(p)!r}: {type(exc).__name__}: {exc}") from exc
    # A stable sort of the path-ordered list: ties keep the path order.
    try:
        order = sorted(range(len(by_path)), key=keys.__getitem__)
    except TypeError as exc:
        raise TypeError(f"sort_key must return values that compare with each other: {exc}") from None
    return [by_path[i] for i in order]


class ImageFolder(Dataset):
    """The images under a folder, in a stated order, read lazily.

    Parameters
    ----------
    path
        The folder. With ``labels="subfolders"`` the images are its subfolders' files (torchvision's
        ``ImageFolder`` layout: ``path/<class>/<image>``, nested folders included), labelled by subfolder; with
        ``labels=None`` every image under it (recursively), unlabelled.
    sort_key
        A function of a file's :class:`~pathlib.Path` giving the order (e.g. ``lambda p: int(p.stem)`` for
        ``1.png, 2.png, 10.png``); ties, and the default, in path order.
    labels
        "subfolders" (a folder without subfolders is read flat, unlabelled) or None.
    extensions
        File suffixes read as images (case-insensitive); :data:`IMAGE_EXTENSIONS` by default.
    size
        Resize every image to ``size`` (int: square, or (height, width)) when it becomes a model input; None
        keeps the files' size (all images must then have one size to be batched).
    mode
        "RGB" (3 channels) or "L" (1 channel): the model input's channels.
    transform
        Optional function PIL image -> tensor that replaces the default input (resize to ``size``, ``mode``,
        float32 in [0, 1], channels first), e.g. a torchvision transform with the model's normalisation.

    Attributes
    ----------
    paths
        The image files, in order.
    label_codes
        int64 (N,) subfolder index per image (subfolders sorted by name), or None.
    label_names
        The subfolder names (paths relative to ``path``), or None.

    Raises
    ------
    FileNotFoundError
        ``path`` is not a folder.
    ValueError
        No images under it (the message names the suffixes looked for), bad ``size``, ``mode`` or ``labels``.
    """

    def __init__(self, path: str | os.PathLike, sort_key: Callable[[Path], Any] | None = None,
                 labels: str | None = "subfolders", extensions: Iterable[str] | str = IMAGE_EXTENSIONS,
                 size: int | tuple[int, int] | None = None, mode: str = "RGB",
                 transform: Callable[[Any], Any] | None = None) -> None:
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"path must be a folder path (str or pathlib.Path); got {type(path).__name__}")
        root = Path(path).expanduser()
        if not root.is_dir():
            raise FileNotFoundError(f"path {str(root)!r} is not a folder")
        if labels not in LABEL_SOURCES:
            raise ValueError(f"labels must be one of {LABEL_SOURCES}; got {labels!r}")
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}; got {mode!r}")
        if transform is not None and not callable(transform):
            raise TypeError(f"transform must be a function of a PIL image, or None; got {type(transform).__name__}")
        exts = _check_extensions(extensions)
        self.root, self.size, self.mode, self.transform = root, _check_size(size), mode, transform
        self._first_size: tuple[int, tuple[int, int]] | None = None  # (index, size) of the first image read
        classes = sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
        if not classes:
            labels = None  # a flat folder: no subfolder names a class
        files: list[Path] = []
        codes: list[int] = []
        if labels == "subfolders":
            if _list_files(root, exts, recursive=False):
                raise ValueError(
                    f"path {str(root)!r} holds images beside its subfolders; with labels='subfolders' every image "
                    "must sit in a class subfolder (pass labels=None to take them all, unlabelled)")
            for code, folder in enumerate(classes):
                found = _list_files(folder, exts, recursive=True)
                files += found
                codes += [code] * len(found)
        else:
            files = _list_files(root, exts, recursive=True)
        if not files:
            where = "its subfolders" if labels == "subfolders" else "it"
            raise ValueError(f"path {str(root)!r} has no images in {where} (looked for {', '.join(exts)})")
        code_of = dict(zip(files, codes, strict=False))  # codes is empty when unlabelled
        self.paths = _order(files, sort_key)
        self.label_codes = (np.array([code_of[p] for p in self.paths], dtype=np.int64)
                            if labels == "subfolders" else None)
        self.label_names = [c.name for c in classes] if labels == "subfolders" else None

    def __len__(self) -> int:
        return len(self.paths)

    def image(self, i: int) -> np.ndarray:
        """Image ``i`` as uint8, as read from its file (the thumbnail)."""
        return load_image(self.paths[i], f"image {i}")

    def __getitem__(self, i: int) -> Any:
        x = self.model_input(i)
        return x if self.label_codes is None else (x, int(self.label_codes[i]))

    def model_input(self, i: int) -> Any:
        """Image ``i`` as the model sees it: ``transform(image)``, or a float32 (C, H, W) tensor in [0, 1]."""
        from PIL import Image, UnidentifiedImageError

        path = self.paths[i]
        try:
            with Image.open(path) as img:
                img = img.convert(self.mode)
        except (OSError, UnidentifiedImageError) as exc:
            raise ValueError(f"could not read image {i} ({str(path)!r}): {exc}") from exc
        if self.transform is not None:
            return self.transform(img)
        if self.size is not None:
            img = img.resize(self.size[::-1], Image.Resampling.BILINEAR)
        else:
            # Batches stack one size: say so here rather than in torch's collate error.
            if self._first_size is None:
                self._first_size = (i, img.size)
            first = self._first_size
            if img.size != first[1]:
                raise ValueError(
                    f"image {i} ({str(path)!r}) is {img.size[0]}x{img.size[1]} but image {first[0]} is "
                    f"{first[1][0]}x{first[1][1]}; pass size= to resize them to one size (or a transform=)")
        arr = np.asarray(img, dtype=np.float32) / 255.0
        arr = arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)
        return torch.from_numpy(np.ascontiguousarray(arr))

    def __repr__(self) -> str:
        classes = "" if self.label_names is None else f", {len(self.label_names)} classes"
        return f"ImageFolder({str(self.root)!r}, {len(self)} images{classes})"


def _check_size(size: Any) -> tuple[int, int] | None:
    if size is None:
        return None
    pair = (size, size) if isinstance(size, (int, np.integer)) and not isinstance(size, bool) else size
    if (not isinstance(pair, (tuple, list)) or len(pair) != 2
            or not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s >= 1 for s in pair)):
        raise ValueError(f"size must be a positive int or a (height, width) pair of them, or None; got {size!r}")
    return int(pair[0]), int(pair[1])
