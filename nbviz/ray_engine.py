"""Features of a model on a Ray cluster: ``Features.from_model(..., engine="ray")`` hands the work to this module.

The model runs over a ``ray.data.Dataset`` with ``map_batches`` in a pool of actors, each holding one copy of the model
(sent once through the object store, put on a GPU when the cluster has them). The features stream back to this
process in the dataset's order and are written as Parquet part files (``part-00000.parquet`` ...), whose sorted
names are row order, with an int64 ``index`` column, ``embedding`` as ``fixed_size_list<float32>[D]`` and ``label``
when there are labels. :meth:`nbviz.data.Features.from_parquet` then reads them, memory-mapped.

The files are written here, not by the workers: a driver-local ``output`` is where the returned Features reads them,
and workers on other nodes could not write there. The features are small beside the inputs (D floats per item).

The caller's model is never run here: the workers run pickled copies (the layer and pool are checked first by calling
the extraction with no items: no forward, the model handed back as by the local path). What one
batch turns into is a function given by the caller (``extract_batch``: the local path's extraction), so this module
holds only the Ray and Parquet plumbing and imports no kernel.
"""

from __future__ import annotations

import copy
import functools
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["ENGINES", "INPUT_COLUMNS", "LABEL_COLUMNS", "check_engine", "extract_on_ray", "features_on_ray",
           "require_ray"]

#: The values of ``engine=``.
ENGINES = ("local", "ray")
#: Columns read as the model's input when the dataset has several (``from_numpy`` names it "data", ``from_torch``
#: "item"), in this order of preference.
INPUT_COLUMNS = ("x", "image", "data", "item")
#: Columns read as labels when ``labels`` is None, in this order of preference.
LABEL_COLUMNS = ("y", "label", "labels")
#: Rows per Parquet part file (each batch from the workers is one row group).
ROWS_PER_PART = 1 << 18


def check_engine(engine: Any) -> str:
    if not isinstance(engine, str) or engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}; got {engine!r}")
    return engine


def require_ray() -> Any:
    """The ``ray`` module with Ray Data, or an ImportError saying how to install it."""
    try:
        import pyarrow  # noqa: F401  (the part files are written with it)
        import ray
        import ray.data
    except ImportError as exc:
        raise ImportError(f'engine="ray" needs Ray Data and pyarrow: pip install "nbviz[ray]" ({exc})') from exc
    return ray


# -- the dataset ---------------------------------------------------------------------------------------------------


def as_ray_dataset(data: Any, ray: Any, block_rows: int = 8 * 256) -> Any:
    """``data`` as a ``ray.data.Dataset``: datasets as they are; arrays, tensors and map-style torch Datasets are
    copied into the object store (handy to try the engine; at scale read the data with ``ray.data.read_*``)."""
    if isinstance(data, ray.data.Dataset):
        return data
    if hasattr(data, "detach") and hasattr(data, "cpu"):
        data = data.detach().cpu().numpy()
    if isinstance(data, np.ndarray):
        if data.ndim == 0:
            raise ValueError("data must have a batch axis (N, ...); got a scalar")
        # blocks of ``block_rows``: one block is one actor's work, so a single block would use one actor
        return ray.data.from_numpy(np.array_split(data, max(1, -(-len(data) // block_rows))))
    try:
        import torch
        from torch.utils.data import DataLoader, Dataset, IterableDataset
    except ImportError:  # pragma: no cover - torch is a dependency
        torch = None
    if torch is not None:
        if isinstance(data, Dataset) and not isinstance(data, IterableDataset):
            return ray.data.from_torch(data)
        kind = "a DataLoader" if isinstance(data, DataLoader) else None
    else:  # pragma: no cover
        kind = None
    raise TypeError(
        f'data must be a ray.data.Dataset (or a numpy array, tensor or torch Dataset) with engine="ray"; got '
        f"{kind or type(data).__name__}. Read files with ray.data.read_images / read_parquet / ..., or use "
        'engine="local"'
    )


def pick_columns(columns: list[str], labels: Any) -> tuple[str, str | None]:
    """(input column, label column or None) of a dataset with ``columns``; ``labels`` may name the label column."""
    if isinstance(labels, str):
        if labels not in columns:
            raise ValueError(f"labels={labels!r} names no column of the dataset; its columns are {columns}")
        label_col: str | None = labels
    elif labels is None and len(columns) > 1:
        label_col = next((c for c in LABEL_COLUMNS if c in columns), None)
    else:
        label_col = None
    rest = [c for c in columns if c != label_col]
    if len(rest) == 1:
        return rest[0], label_col
    found = next((c for c in INPUT_COLUMNS if c in rest), None)
    if found is None:
        raise ValueError(
            f"data (a ray.data.Dataset) has columns {columns}: the model's input must be its only column besides the "
            f"labels, or one named {' / '.join(INPUT_COLUMNS)} (ds.rename_columns / ds.select_columns)"
        )
    return found, label_col


def _stack(values: Any, column: str) -> np.ndarray:
    """An object column (tensors, arrays, scalars one per row) as one array."""
    try:
        return np.stack([np.asarray(v) for v in values])
    except ValueError as exc:
        raise ValueError(f"column {column!r} holds items of different shapes; the model needs one shape per batch "
                         f"({exc})") from None


class BatchExtractor:
    """The actor of the pool: gets the model once, then turns each batch of rows into features (and labels)."""

    def __init__(self, model: Any, extract_batch: Callable[[Any, np.ndarray], Any], input_col: str,
                 label_col: str | None, use_gpu: bool) -> None:
        import ray
        import torch

        # Sent once through the object store: every actor reads the same copy, not one pickled per actor.
        self.model = ray.get(model) if isinstance(model, ray.ObjectRef) else model
        if use_gpu and torch.cuda.is_available():
            self.model.to("cuda")  # this actor's copy; the caller's model stays where it is
        self.extract_batch, self.input_col, self.label_col = extract_batch, input_col, label_col

    def __call__(self, batch: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        x, y = batch[self.input_col], None if self.label_col is None else batch[self.label_col]
        if x.dtype == object:
            # from_torch rows: an item is a tensor or an (x, y, ...) tuple, as in the local path
            if len(x) and isinstance(x[0], (tuple, list)):
                if y is None and len(x[0]) > 1:
                    y = _stack([item[1] for item in x], self.input_col)
                x = [item[0] for item in x]
            x = _stack(x, self.input_col)
        feats = self.extract_batch(self.model, x)
        out = feats_columns(feats)
        if y is not None:
            y = np.asarray(y)
            out["label"] = _stack(y, self.label_col or self.input_col) if y.dtype == object else y
        return out


def feats_columns(feats: np.ndarray | Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The embedding column(s) of one layer ("embedding") or of several ("embedding:<layer path>")."""
    if isinstance(feats, Mapping):
        return {embedding_column(path): np.asarray(f, dtype=np.float32) for path, f in feats.items()}
    return {"embedding": np.asarray(feats, dtype=np.float32)}


def embedding_column(path: str | None) -> str:
    return "embedding" if path is None else f"embedding:{path}"


# -- the output folder ---------------------------------------------------------------------------------------------


def prepare_output(output: str | os.PathLike | None) -> tuple[Path, bool]:
    """(folder, whether it was made here); a folder given must be empty or new (never overwritten)."""
    if output is None:
        return Path(tempfile.mkdtemp(prefix="nbviz-ray-features-")), True
    if not isinstance(output, (str, os.PathLike)):
        raise TypeError(f"output must be a folder path (str or os.PathLike) or None; got {type(output).__name__}")
    folder = Path(output).expanduser()
    if folder.exists():
        if not folder.is_dir():
            raise ValueError(f"output must be a folder for the Parquet part files; {str(folder)!r} is a file")
        if any(folder.iterdir()):
            raise ValueError(f"output {str(folder)!r} is not empty; pass a new or empty folder (nbviz does not "
                             "overwrite files), or output=None for a temporary one")
        return folder, False
    folder.mkdir(parents=True)
    return folder, True


def _clean(folder: Path, made: bool) -> None:
    """Undo a failed run: the folder if it was made here, else the part files written into it."""
    if made:
        shutil.rmtree(folder, ignore_errors=True)
    else:
        for part in folder.glob("part-*.parquet"):
            part.unlink(missing_ok=True)


# -- the run -------------------------------------------------------------------------------------------------------


def _model_for_workers(model: Any) -> Any:
    """A CPU copy when the model has tensors elsewhere (a worker without a GPU could not load it); else the model."""
    tensors = [*model.parameters(), *model.buffers()]
    if all(t.device.type == "cpu" for t in tensors):
        return model
    twin = copy.deepcopy(model)
    return twin.to("cpu")


def pool_args(ray: Any, actors: int | None) -> dict[str, Any]:
    """One GPU per actor when the cluster has GPUs, else one CPU each. Without ``actors`` the pool grows from 1 to
    one actor per GPU (or CPU) as Ray Data sees fit, which leaves CPUs to the tasks that read the data (a fixed pool
    taking every CPU starves them: ``from_torch`` and ``range`` on 2 CPUs hung)."""
    if actors is not None and (isinstance(actors, bool) or not isinstance(actors, int) or actors < 1):
        raise ValueError(f"actors must be a positive int or None; got {actors!r}")
    resources = ray.cluster_resources()
    gpus, cpus = int(resources.get("GPU", 0)), max(1, int(resources.get("CPU", 1)))
    if actors:  # a fixed pool: as asked (a pool taking every CPU leaves none to read tasks)
        return {"num_gpus" if gpus else "num_cpus": 1, "compute": ray.data.ActorPoolStrategy(size=actors)}
    return {"num_gpus" if gpus else "num_cpus": 1,
            "compute": ray.data.ActorPoolStrategy(min_size=1, max_size=gpus or cpus)}


def _worker_error(exc: Exception) -> Exception:
    """A failure in a worker (the model's forward, an odd batch) as a RuntimeError carrying the worker's own error
    line: Ray passes it on only as text (a RayTaskError wrapping a UserCodeException, the original not attached)."""
    if not type(exc).__module__.startswith("ray"):
        return exc
    lines = [m.group(0) for m in re.finditer(r"^\w*(?:Error|Exception): .+$", str(exc), re.MULTILINE)]
    own = [line for line in lines if not line.startswith(("UserCodeException", "RayTaskError"))]
    return RuntimeError(f"extraction failed on a Ray worker: {own[-1] if own else str(exc).splitlines()[0]}")


def extract_on_ray(model: Any, data: Any, extract_batch: Callable[[Any, np.ndarray], Any], *, batch_size: int = 256,
                   labels: Any = None, metadata: Any = None, output: str | os.PathLike | None = None,
                   progress: bool = True, actors: int | None = None) -> tuple[Path, str | None, list[str]]:
    """Run ``extract_batch(model_copy, x)`` over a Ray dataset's batches and write the features as Parquet.

    Parameters
    ----------
    model
        A ``torch.nn.Module``; a copy goes to each actor through the object store (a model with tensors off the CPU
        is copied to the CPU first, and each actor puts its copy on its GPU when it has one).
    data
        A ``ray.data.Dataset`` (or a numpy array, tensor or map-style torch Dataset, copied into one). The model's
        input is its only column besides the labels, or the first of :data:`INPUT_COLUMNS`; rows of
        ``from_torch`` are items as in the local path (a tensor or ``(x, y, ...)``).
    extract_batch
        ``(model, x) -> (B, D) array`` or a dict layer path -> array, for a numpy batch ``x`` (picklable: the
        workers run it).
    batch_size
        Rows per ``map_batches`` call (one forward pass and one Parquet row group).
    labels
        None: the first of :data:`LABEL_COLUMNS` when the dataset has one, or the ``y`` of ``(x, y)`` items; a
        column name; or one label per row, in the dataset's order.
    metadata
        None, or a pandas DataFrame (or dict of columns) with one row per item in the dataset's order: its columns
        are written beside the features.
    output
        An empty or new folder for the part files; None: a new temporary folder (kept: the features are read from
        it). A folder that holds anything raises (nothing is overwritten).
    progress
        Show Ray Data's progress bars.
    actors
        None: a pool that Ray Data grows from 1 actor up to one per GPU (or per CPU) of the cluster; an int: a
        fixed pool of that many (it may starve the tasks that read the data when it takes every CPU).

    Returns
    -------
    (pathlib.Path, str or None, list of str)
        The folder, the label column ("label") or None without labels, and the metadata columns.

    Raises
    ------
    ImportError
        Ray Data or pyarrow missing (how to install them is in the message).
    TypeError, ValueError
        Bad ``data``, ``output``, ``labels``, ``metadata``, ``actors`` or columns, or a model that cannot be pickled.
    RuntimeError
        ``extract_batch`` failed on a worker (a failing forward, a pool that does not fit the layer): Ray passes the
        error on as text only, so the message quotes the worker's error line.
    """
    ray = require_ray()
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int; got {batch_size!r}")
    given = None
    if labels is not None and not isinstance(labels, str):
        given = np.asarray(labels.detach().cpu() if hasattr(labels, "detach") else labels)
        if given.ndim != 1:
            raise ValueError(f"labels must be a column name or one label per row (1-D); got shape {given.shape}")
    extra = _metadata_table(metadata)
    ds = as_ray_dataset(data, ray, 8 * int(batch_size))
    input_col, label_col = pick_columns(list(ds.columns()), labels)
    pool = pool_args(ray, actors)
    folder, made = prepare_output(output)
    try:
        model_ref = ray.put(_model_for_workers(model))
    except Exception as exc:
        _clean(folder, made)
        raise TypeError(f"model could not be pickled for the Ray workers: {type(exc).__name__}: {exc}") from exc
    feats = ds.map_batches(BatchExtractor, batch_size=int(batch_size), batch_format="numpy",
                           fn_constructor_args=(model_ref, extract_batch, input_col, label_col, "num_gpus" in pool),
                           **pool)
    context = getattr(feats, "context", None) or ray.data.DataContext.get_current()
    saved = (context.execution_options.preserve_order, context.enable_progress_bars)
    # Rows in the dataset's order (the default lets blocks finish in any order); set and put back, since the
    # context is shared with the caller's dataset.
    context.execution_options.preserve_order, context.enable_progress_bars = True, bool(progress)
    try:
        n = write_parts(feats.iter_batches(batch_size=None, batch_format="numpy"), folder, given, extra)
    except Exception as exc:
        _clean(folder, made)
        raise _worker_error(exc) from exc
    finally:
        context.execution_options.preserve_order, context.enable_progress_bars = saved
    if n == 0:
        _clean(folder, made)
        raise ValueError("data holds no items")
    if given is not None and len(given) != n:
        _clean(folder, made)
        raise ValueError(f"labels has {len(given)} values but data has {n} items")
    if extra is not None and extra.num_rows != n:
        _clean(folder, made)
        raise ValueError(f"metadata has {extra.num_rows} rows but data has {n} items")
    has_label = label_col is not None or given is not None or _has_label(folder)
    return folder, ("label" if has_label else None), ([] if extra is None else list(extra.column_names))


def _metadata_table(metadata: Any) -> Any:
    """``metadata`` as an Arrow table (converted once, so every part file gets the same schema)."""
    if metadata is None:
        return None
    import pandas as pd
    import pyarrow as pa

    if isinstance(metadata, dict):
        metadata = pd.DataFrame(metadata)
    if not isinstance(metadata, pd.DataFrame):
        raise TypeError(f"metadata must be a pandas DataFrame, a dict of columns or None; got "
                        f"{type(metadata).__name__}")
    names = [str(c) for c in metadata.columns]
    taken = [c for c in names if c in ("index", "label") or c.startswith("embedding")]
    if taken or len(set(names)) != len(names):
        raise ValueError(f"metadata columns must be distinct and not named index, label or embedding*; got {names}")
    return pa.Table.from_pandas(metadata.set_axis(names, axis=1), preserve_index=False)


def _has_label(folder: Path) -> bool:
    import pyarrow.parquet as pq

    return "label" in pq.read_schema(next(iter(sorted(folder.glob("part-*.parquet"))))).names


def write_parts(batches: Iterator[Mapping[str, np.ndarray]], folder: Path, labels: np.ndarray | None = None,
                extra: Any = None, rows_per_part: int = ROWS_PER_PART) -> int:
    """Write feature batches, in order, as ``part-00000.parquet`` ... with a running int64 ``index``; the rows.

    Each batch is one row group; a part file is closed after ``rows_per_part`` rows. ``labels`` (one per row
    overall) become the ``label`` column; the columns of the Arrow table ``extra`` (one row per row) are added.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    writer, part, in_part, start = None, 0, 0, 0
    try:
        for batch in batches:
            size = len(next(iter(batch.values())))
            if size == 0:
                continue
            columns: dict[str, Any] = {"index": pa.array(np.arange(start, start + size, dtype=np.int64))}
            for name, values in batch.items():
                if name.startswith("embedding"):
                    flat = np.ascontiguousarray(values, dtype=np.float32)
                    columns[name] = pa.FixedSizeListArray.from_arrays(pa.array(flat.reshape(-1)), flat.shape[1])
            if labels is not None:
                if start + size > len(labels):
                    raise ValueError(f"labels has {len(labels)} values but data has more items")
                columns["label"] = pa.array(labels[start:start + size])
            elif "label" in batch:
                columns["label"] = pa.array(np.asarray(batch["label"]))
            if extra is not None:
                if start + size > extra.num_rows:
                    raise ValueError(f"metadata has {extra.num_rows} rows but data has more items")
                columns.update(zip(extra.column_names, extra.slice(start, size).columns, strict=True))
            table = pa.table(columns)
            if writer is None or in_part >= rows_per_part:
                if writer is not None:
                    writer.close()
                writer = pq.ParquetWriter(folder / f"part-{part:05d}.parquet", table.schema)
                part, in_part = part + 1, 0
            writer.write_table(table)
            in_part, start = in_part + size, start + size
    finally:
        if writer is not None:
            writer.close()
    return start


# -- Features.from_model(engine="ray") -----------------------------------------------------------------------------


def layer_paths(model: Any, layer: Any) -> Any:
    """``layer`` with submodules replaced by their dotted paths: the workers' copies have their own submodules."""
    names = {id(m): path for path, m in model.named_modules()}
    if isinstance(layer, (list, tuple)):
        return type(layer)(names.get(id(item), item) if hasattr(item, "named_modules") else item for item in layer)
    return names.get(id(layer), layer) if hasattr(layer, "named_modules") else layer


def features_on_ray(features_cls: Any, extract: Callable[..., Any], model: Any, data: Any, layer: Any,
                    pool: str | None, batch_size: int, device: Any, labels: Any, images: Any, metadata: Any,
                    output: str | os.PathLike | None, progress: bool) -> Any:
    """What ``Features.from_model(..., engine="ray")`` returns: :func:`extract_on_ray` with ``extract`` run on each
    batch, then ``features_cls.from_parquet`` over the part files (a dict layer -> Features for several layers)."""
    if device is not None:
        raise ValueError(f'device must be None with engine="ray" (each actor runs on its GPU when the cluster has '
                         f"GPUs, else on its CPU); got {device!r}")
    extract_batch = functools.partial(extract, layer=layer_paths(model, layer), pool=pool, batch_size=batch_size,
                                      progress=False)
    try:  # layer and pool checked here, as the local path does, before any worker starts: no item, no forward
        extract_batch(model, np.zeros((0,), np.float32))
    except ValueError as exc:
        if "holds no items" not in str(exc):
            raise
    folder, label_col, names = extract_on_ray(model, data, extract_batch, batch_size=batch_size, labels=labels,
                                              metadata=metadata, output=output, progress=progress)
    import pyarrow.parquet as pq

    found = [c for c in pq.read_schema(sorted(folder.glob("part-*.parquet"))[0]).names if c.startswith("embedding")]

    def read(column: str) -> Any:
        return features_cls.from_parquet(folder, embedding=column, labels=label_col, columns=names or None,
                                         images=images, cache_dir=folder / "_cache", progress=progress)

    if found == ["embedding"]:  # one layer; a list of layers gives "embedding:<path>" columns, as extract a dict
        return read("embedding")
    return {c.removeprefix("embedding:"): read(c) for c in found}
