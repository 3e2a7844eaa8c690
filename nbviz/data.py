"""Features: the one container of embeddings, labels, images and metadata handed to the widgets.

Everything a widget needs about a set of N samples travels in a :class:`Features`: an (N, D) float32 embedding
matrix, optional labels (kept as given, plus small integer codes for colouring), optional images (in memory as
uint8, or file paths read lazily) and an optional metadata table. All inputs are checked once, here, so that
widgets and kernels can trust the shapes and dtypes; a bad input raises an error naming the parameter,
what was expected and what came.

The checks of embeddings and metadata live here; the shared conversion :func:`nbviz.checks.as_numpy`, the label
coder (:mod:`nbviz.labels`) and the image input (:mod:`nbviz.image_input`) have modules of their own, below this
one, because kernels and widgets use them without a :class:`Features`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .checks import as_numpy, plural
from .columnar import from_arrow, from_parquet
from .feature_inputs import check_embeddings, check_metadata
from .image_input import check_images, load_image
from .labels import check_labels, encode_labels

# encode_labels is named as nbviz.data.encode_labels in the README: kept importable from here.
__all__ = ["Features", "encode_labels"]


# ------------------------------------------------------------------------------------------------------------
# Features
# ------------------------------------------------------------------------------------------------------------


class Features:
    """Embeddings of N samples with their labels, images and metadata, checked and aligned row by row.

    Parameters
    ----------
    embeddings
        (N, D) numpy array or torch tensor (any device, any real dtype; tensors are detached). Stored as
        float32, C-contiguous. N >= 1 and D >= 1; rows with NaN or inf are an error. The path of a ``.npy``
        file, and memory-mapped arrays (``np.memmap``, ``np.load(..., mmap_mode="r")``), stay mapped, not copied.
    labels
        Optional, one label per row: a list, numpy array, torch tensor or pandas Series of ints, strings or
        other hashable values. Missing values (None, NaN) are an error.
    images
        Optional, one image per row, one of:

        - a uint8 array (N, H, W) or (N, H, W, C) with C in 1, 3, 4; integer arrays with values in 0..255
          and float arrays with values in [0, 1] are converted to uint8. An (N, C, H, W) array is transposed
          when its last axis cannot be the channel axis;
        - a torch tensor (N, C, H, W) (converted to channels-last) or (N, H, W, C) when the last axis is in
          1, 3, 4 and axis 1 is not, or (N, H, W);
        - a list of arrays, tensors or PIL images of one shape;
        - a list of file paths (str or :class:`pathlib.Path`, or a pandas Series of them). Files are checked
          to exist now and read with Pillow only when an image is asked for.

        A single channel is stored as (H, W).
    metadata
        Optional pandas DataFrame with N rows, or dict of columns of length N. Stored as a DataFrame with a
        fresh :class:`pandas.RangeIndex`.
    class_names
        Optional list of names for integer labels: ``class_names[k]`` names label ``k``. The labels must
        then be integers in ``0..len(class_names) - 1``; their codes are the labels themselves and
        :attr:`label_names` is ``class_names`` (classes absent from the data included, so colours match
        across datasets).

    Raises
    ------
    TypeError
        If an argument has the wrong type or dtype; the message names the parameter, what was expected and
        what came.
    ValueError
        If shapes, lengths or values do not fit (lengths mismatching N, NaN/inf rows, images out of range,
        labels out of range of ``class_names``).
    FileNotFoundError
        If image paths do not exist (the message lists them).

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> d = load_digits()
    >>> f = Features(d.data, labels=d.target, images=d.images / 16.0)
    >>> f.n, f.dim, f.label_names[:3], f.image(0).shape
    (1797, 64, ['0', '1', '2'], (8, 8))
    """

    _embeddings: np.ndarray
    _labels: np.ndarray | None
    _label_codes: np.ndarray | None
    _label_names: list[str] | None
    _image_array: np.ndarray | None
    _image_paths: tuple[Path, ...] | None
    _metadata: pd.DataFrame | None

    def __init__(
        self,
        embeddings: Any,
        labels: Any = None,
        images: Any = None,
        metadata: pd.DataFrame | dict[Any, Any] | None = None,
        class_names: Sequence[Any] | None = None,
    ) -> None:
        emb = check_embeddings(embeddings)
        n = emb.shape[0]
        if labels is None:
            if class_names is not None:
                raise ValueError(
                    "class_names was given without labels; pass labels (ints indexing class_names)"
                )
            label_values = codes = names = None
        else:
            label_values, codes, names = check_labels(labels, class_names, n)
        image_array: np.ndarray | None = None
        image_paths: tuple[Path, ...] | None = None
        if images is not None:
            checked = check_images(images, n)
            if isinstance(checked, tuple):
                image_paths = checked
            else:
                image_array = checked
        table = None if metadata is None else check_metadata(metadata, n)
        self._embeddings = emb
        self._labels = label_values
        self._label_codes = codes
        self._label_names = names
        self._image_array = image_array
        self._image_paths = image_paths
        self._metadata = table

    # -- attributes ------------------------------------------------------------------------------------------

    @property
    def embeddings(self) -> np.ndarray:
        """(N, D) float32, C-contiguous."""
        return self._embeddings

    @property
    def labels(self) -> np.ndarray | None:
        """The labels as given, one per row, as a numpy array; ``None`` without labels."""
        return self._labels

    @property
    def label_codes(self) -> np.ndarray | None:
        """Integer code of each row's label, indexing :attr:`label_names` (uint8, uint16 or int32)."""
        return self._label_codes

    @property
    def label_names(self) -> list[str] | None:
        """Name of each label code: the sorted unique labels as text, or ``class_names`` when given."""
        return None if self._label_names is None else list(self._label_names)

    @property
    def metadata(self) -> pd.DataFrame | None:
        """Metadata with one row per sample and a :class:`pandas.RangeIndex`; ``None`` without metadata."""
        return self._metadata

    @property
    def image_paths(self) -> list[Path] | None:
        """The image files when images were given as paths; ``None`` otherwise."""
        return None if self._image_paths is None else list(self._image_paths)

    @property
    def n(self) -> int:
        """Number of samples N."""
        return int(self._embeddings.shape[0])

    @property
    def dim(self) -> int:
        """Embedding dimension D."""
        return int(self._embeddings.shape[1])

    @property
    def n_images(self) -> int:
        """Number of images: N when images were given, 0 otherwise."""
        if self._image_array is not None:
            return len(self._image_array)
        if self._image_paths is not None:
            return len(self._image_paths)
        return 0

    def __len__(self) -> int:
        return self.n

    # -- images ----------------------------------------------------------------------------------------------

    def image(self, i: int) -> np.ndarray:
        """Image ``i`` as uint8 (H, W), (H, W, 3) or (H, W, 4).

        Parameters
        ----------
        i
            Row index, ``-N <= i < N``.

        Returns
        -------
        numpy.ndarray
            For images held in memory, a view into them (do not write to it); for paths, freshly read.
        """
        if self.n_images == 0:
            raise ValueError("this Features has no images; pass images= when constructing it")
        if isinstance(i, (bool, np.bool_)) or not isinstance(i, (int, np.integer)):
            raise TypeError(f"i must be an int; got {type(i).__name__}")
        n = self.n_images
        if not -n <= i < n:
            raise IndexError(f"i must be in {-n}..{n - 1}; got {i}")
        i = int(i) % n
        if self._image_array is not None:
            return self._image_array[i]
        assert self._image_paths is not None
        return load_image(self._image_paths[i], f"images[{i}]")

    def images_uint8(self, indices: Any) -> np.ndarray | list[np.ndarray]:
        """The uint8 images of several rows.

        Parameters
        ----------
        indices
            Row indices (list, numpy array or tensor of ints, or a boolean mask of length N).

        Returns
        -------
        numpy.ndarray or list of numpy.ndarray
            An array (k, H, W[, C]) when the images are held in memory (all one shape); a list of arrays when
            they are read from files (sizes may differ).
        """
        if self.n_images == 0:
            raise ValueError("this Features has no images; pass images= when constructing it")
        idx = self._check_indices(indices, "indices")
        if self._image_array is not None:
            return self._image_array[idx]
        return [self.image(int(i)) for i in idx]

    # -- selection -------------------------------------------------------------------------------------------

    def _check_indices(self, indices: Any, name: str) -> np.ndarray:
        """Indices as a 1-D int64 array of non-negative row numbers, with errors naming ``name``."""
        if isinstance(indices, slice):
            return np.arange(self.n, dtype=np.int64)[indices]
        if isinstance(indices, range):
            indices = list(indices)
        if isinstance(indices, (int, np.integer)) and not isinstance(indices, (bool, np.bool_)):
            indices = [indices]
        try:
            arr = as_numpy(indices, name)
        except TypeError:
            raise TypeError(
                f"{name} must be a list, array or tensor of row indices, or a boolean mask; got "
                f"{type(indices).__name__}"
            ) from None
        if arr.ndim != 1:
            raise ValueError(f"{name} must be 1-D; got shape {arr.shape}")
        if arr.dtype.kind == "b":
            if len(arr) != self.n:
                raise ValueError(
                    f"{name} is a boolean mask of length {len(arr)} but embeddings has {self.n} rows"
                )
            return np.flatnonzero(arr)
        if len(arr) == 0:
            return np.zeros(0, dtype=np.int64)
        if arr.dtype.kind not in "iu":
            raise TypeError(f"{name} must hold integer row indices; got dtype {arr.dtype}")
        arr = arr.astype(np.int64)
        bad = np.flatnonzero((arr < -self.n) | (arr >= self.n))
        if len(bad):
            raise IndexError(f"{name} must be in {-self.n}..{self.n - 1}; {name}[{bad[0]}] is {arr[bad[0]]}")
        return arr % self.n

    @classmethod
    def from_model(
        cls,
        model: Any,
        data: Any,
        layer: Any = "layer3",
        pool: str | None = "avg",
        batch_size: int = 256,
        device: Any = None,
        labels: Any = None,
        images: Any = None,
        metadata: pd.DataFrame | dict[Any, Any] | None = None,
        progress: bool = True,
        engine: str = "local", output: str | os.PathLike | None = None,
    ) -> Features | dict[str, Features]:
        """Features from the activations of one or several layers of a torch model.

        Runs :func:`nbviz.kernels.activations.extract`: forward hooks, ``torch.inference_mode()``, eval mode,
        batches with a progress bar; the model comes back unchanged (training flags, hooks, ``requires_grad``,
        gradients), also when its forward fails.

        Parameters
        ----------
        model
            A ``torch.nn.Module`` (a Lightning module too).
        data
            A tensor or numpy array (N, ...), a torch Dataset (items are tensors or ``(x, y, ...)``), a
            DataLoader (batches of tensors or ``(x, y, ...)``), or a folder of images: a path (read as
            ``ImageFolder(path)``) or an :class:`~nbviz.image_folder.ImageFolder` (for a ``size``, ``sort_key`` or
            ``transform``). A folder's files are the thumbnails and its subfolder names the label names.
        layer
            A dotted path ("layer3.1"), a list of child names (``["5", "7"]``), the submodule itself, or a list
            of several layers.
        pool
            (N, C, H, W) maps: "avg" (global average pool), "max" or "flatten"; (N, T, C) tokens: "avg",
            "max", "cls" (first token) or "flatten"; None is "flatten".
        batch_size
            Items per forward pass (a DataLoader keeps its own batches).
        device
            Where to run; None = the model's device.
        labels
            One label per item; when None and ``data`` yields ``(x, y)``, the ``y`` are the labels (gathered
            in the same pass, so a shuffling DataLoader stays aligned). Labels given here must be in the order
            ``data`` yields its items.
        images, metadata
            As for :class:`Features`, one per item.
        progress
            Show a ``tqdm`` progress bar.
        engine, output
            "local" runs here; "ray" runs on a Ray cluster over a ``ray.data.Dataset``, into Parquet part files in
            ``output`` (new or empty; None: a temporary folder) read by :meth:`from_parquet`: :mod:`nbviz.ray_engine`.

        Returns
        -------
        Features or dict of str to Features
            One :class:`Features`; for several layers a dict layer path -> :class:`Features`, all sharing the
            same labels, images and metadata.

        Raises
        ------
        ValueError
            Unknown layer (the message lists the closest names), a ``pool`` that does not fit the layer, or
            labels/images/metadata whose length is not N.
        RuntimeError
            When the model's forward fails (the message names the batch and the submodule).

        Examples
        --------
        >>> import torch
        >>> net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
        >>> Features.from_model(net, torch.randn(10, 4), layer="1", progress=False).embeddings.shape
        (10, 8)
        """
        from .image_folder import ImageFolder  # torch, only when a model runs
        from .kernels.activations import extract
        from .ray_engine import check_engine, features_on_ray

        if check_engine(engine) == "ray":
            return features_on_ray(cls, extract, model, data, layer, pool, batch_size, device, labels, images,
                                   metadata, output, progress)
        if isinstance(data, (str, os.PathLike)):
            data = ImageFolder(data)
        class_names = None
        if isinstance(data, ImageFolder):
            images = data.paths if images is None else images
            class_names = data.label_names if labels is None else None
        feats, targets = extract(model, data, layer, pool=pool, batch_size=batch_size, device=device,
                                 progress=progress, return_targets=True)
        if labels is None:
            labels = targets

        def make(embeddings: np.ndarray) -> Features:
            return cls(embeddings, labels=labels, images=images, metadata=metadata, class_names=class_names)

        if isinstance(feats, dict):
            return {path: make(f) for path, f in feats.items()}
        return make(feats)

    @classmethod
    def from_checkpoint(cls, path: str | os.PathLike, module_class: Any = None, data: Any = None,
                        layer: Any = None, pool: str | None = "avg", **kwargs: Any) -> Features | dict[str, Features]:
        """Features of ``data`` from a model checkpoint, in one call (e.g. a self-supervised model's embeddings).

        Parameters
        ----------
        path
            A PyTorch Lightning ``.ckpt``, or a ``.pt``/``.pth`` file with a ``state_dict`` (read weights-only).
        module_class
            The ``LightningModule`` class it was trained with (``load_from_checkpoint`` rebuilds it from the saved
            hyper-parameters), or an ``nn.Module`` class or instance to load the ``state_dict`` into (an instance
            is copied first, so it stays as it was).
        data
            What :meth:`from_model` takes, a folder of images included.
        layer
            None: the representation self-supervised methods evaluate, before the projection head: the output
            of the model's backbone child (named ``backbone``, ``encoder``, ``feature_extractor``, ``convnet`` ...)
            or else the input of its projection head (``projection_head``, ``projector``, ``head`` ...). Anything
            :meth:`from_model` takes otherwise.
        pool, **kwargs
            As for :meth:`from_model`.

        Raises
        ------
        TypeError
            No ``module_class``, or one of the wrong kind.
        ValueError
            A checkpoint that does not fit the module (missing and unexpected keys listed), no ``data``, or
            ``layer=None`` on a model with no backbone or head child.
        ImportError
            A Lightning checkpoint without ``lightning`` installed (how to install it is in the message).
        """
        from .kernels.checkpoints import embedding_layer, load_checkpoint

        if data is None:
            raise ValueError("data is needed: the items to embed (a tensor, Dataset, DataLoader or image folder)")
        model = load_checkpoint(path, module_class)
        return cls.from_model(model, data, layer=embedding_layer(model) if layer is None else layer, pool=pool,
                              **kwargs)

    @classmethod
    def from_folder(cls, path: str | os.PathLike, sort_key: Any = None, labels: str | None = "subfolders",
                    extensions: Any = None, size: int | tuple[int, int] = 32,
                    mode: str = "RGB", metadata: pd.DataFrame | dict[Any, Any] | None = None) -> Features:
        """The images of a folder with their pixels as the features: a first look at a dataset before any model.

        For a model's features of the same folder pass its path as ``data=`` to :meth:`from_model` or
        :meth:`from_checkpoint`; the listing, order and labels are the same.

        Parameters
        ----------
        path, sort_key, labels, extensions, mode
            As for :class:`~nbviz.image_folder.ImageFolder` (``extensions=None``: its default list): torchvision's
            layout (one subfolder per class, whose names become :attr:`label_names`) or a flat folder; ordered by
            ``sort_key(path)`` (ties and the default: by path). The files are :attr:`image_paths`, read lazily for
            thumbnails.
        size
            The pixels are taken at ``size`` x ``size`` (or (height, width)), in ``mode``, scaled to [0, 1] and
            flattened channels first: an (N, channels * height * width) embedding.
        metadata
            As for :class:`Features`, one row per image in the listed order.

        Raises
        ------
        FileNotFoundError
            ``path`` is not a folder.
        ValueError
            No images there, an unreadable image (named), or bad ``size``, ``labels`` or ``extensions``.
        """
        from .image_folder import IMAGE_EXTENSIONS, ImageFolder  # torch, only when a folder is read

        folder = ImageFolder(path, sort_key=sort_key, labels=labels, extensions=extensions or IMAGE_EXTENSIONS,
                             size=size, mode=mode)
        pixels = np.stack([folder.model_input(i).numpy().reshape(-1) for i in range(len(folder))])
        return cls(pixels, labels=folder.label_codes, images=folder.paths, metadata=metadata,
                   class_names=folder.label_names)

    #: ``Features.from_parquet(path, embedding="embedding", columns=None, labels=None, ...)``: a Parquet file or folder,
    #: embeddings memory-mapped through a float32 cache; see :func:`nbviz.columnar.from_parquet`.
    from_parquet = classmethod(from_parquet)
    #: ``Features.from_arrow(table_or_path, embedding="embedding", ...)``: an Arrow table or IPC / Feather file,
    #: zero-copy where Arrow's layout allows; see :func:`nbviz.columnar.from_arrow`.
    from_arrow = classmethod(from_arrow)

    def subset(self, indices: Any) -> Features:
        """The rows ``indices`` of everything, still aligned.

        Parameters
        ----------
        indices
            Row indices (list, numpy array, tensor, range or slice; repeats allowed) or a boolean mask of
            length N.

        Returns
        -------
        Features
            A new container with those rows. Labels keep their codes and :attr:`label_names` (also names
            absent from the subset), so colours stay the same; metadata gets a fresh RangeIndex.
        """
        idx = self._check_indices(indices, "indices")
        if len(idx) == 0:
            raise ValueError("indices selects no rows; a Features needs at least 1 row")
        out = object.__new__(Features)
        out._embeddings = np.ascontiguousarray(self._embeddings[idx])
        out._labels = None if self._labels is None else self._labels[idx]
        out._label_codes = None if self._label_codes is None else self._label_codes[idx]
        out._label_names = None if self._label_names is None else list(self._label_names)
        out._image_array = None if self._image_array is None else self._image_array[idx]
        out._image_paths = None if self._image_paths is None else tuple(self._image_paths[i] for i in idx)
        out._metadata = None if self._metadata is None else self._metadata.iloc[idx].reset_index(drop=True)
        return out

    def __repr__(self) -> str:
        parts = [f"n={self.n}", f"dim={self.dim}"]
        if self._label_names is not None:
            k = len(self._label_names)
            parts.append(f"labels={k} class{'' if k == 1 else 'es'}")
        if self._image_array is not None:
            shape = "x".join(str(s) for s in self._image_array.shape[1:])
            parts.append(f"images={shape} uint8")
        elif self._image_paths is not None:
            parts.append(f"images={plural(len(self._image_paths), 'file')}")
        if self._metadata is not None:
            cols = [str(c) for c in self._metadata.columns]
            shown = ", ".join(cols[:5]) + (f", ... ({len(cols)} columns)" if len(cols) > 5 else "")
            parts.append(f"metadata=[{shown}]")
        return f"Features({', '.join(parts)})"
