"""Features that live on disk: Parquet, Arrow IPC / Feather and ``.npy`` files, memory-mapped.

What a :class:`~nbviz.data.Features` over millions of rows needs is an (N, D) float32 matrix numpy can read
without holding it in the process's own memory: a memory-mapped file, whose pages the OS reads on demand and may
drop again (they count as file-backed, not anonymous, memory).

- ``.npy`` files and ``np.memmap`` arrays already are that: they are used as they are (no copy).
- An Arrow IPC file (Feather v2) written uncompressed in one record batch holds the embedding column as one
  contiguous float32 buffer: it is mapped and viewed as numpy, zero-copy.
- Parquet is encoded and compressed, so no numpy view of its bytes exists. Its row groups are streamed
  (``iter_batches``, one batch in memory at a time) into a float32 ``.npy`` **cache file**, which is then mapped.
  The same is done for Arrow files that are compressed or split into several record batches. Converting once and
  mapping is what makes the later passes (PCA, kNN, projections) as cheap as over a ``.npy``; decoding Parquet
  again on every pass would cost each of them the full decode.

The cache folder is ``cache_dir=`` when given, else ``$NBVIZ_CACHE_DIR``, else ``$XDG_CACHE_HOME/nbviz/features``
(``~/.cache/nbviz/features``). A cache file is named after the source and a key of every source file's absolute
path, size and modification time and the embedding column: a changed file gets a new key, and the stale files of
the same source are deleted when the new one is written. Files are written under a temporary name and renamed,
so a crash leaves no half-written cache behind and two processes converting at once do not clash.

pyarrow is an optional extra (``pip install "nbviz[arrow]"``), imported only here, only when used.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["cache_folder", "from_arrow", "from_parquet", "mapped_float32", "open_npy"]

#: Bumped when the cache files' layout changes, so older ones are not read as current.
CACHE_VERSION = 1
#: Rows per Arrow batch read from Parquet: ~32 MB of float32 at D = 128.
BATCH_ROWS = 65_536


def _pyarrow() -> Any:
    try:
        import pyarrow as pa
    except ImportError:
        raise ImportError('reading Parquet and Arrow files needs pyarrow: pip install "nbviz[arrow]"') from None
    return pa


def cache_folder(cache_dir: str | os.PathLike | None = None) -> Path:
    """Where the float32 caches of Parquet/Arrow embedding columns go (see the module docstring)."""
    if cache_dir is not None:
        if not isinstance(cache_dir, (str, os.PathLike)):
            raise TypeError(f"cache_dir must be a folder path (str or Path) or None, got {type(cache_dir).__name__}")
        return Path(cache_dir)
    if os.environ.get("NBVIZ_CACHE_DIR"):
        return Path(os.environ["NBVIZ_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "nbviz" / "features"


def open_npy(path: str | os.PathLike, name: str = "embeddings") -> np.ndarray:
    """A ``.npy`` file, memory-mapped read-only (np.load with ``mmap_mode="r"``): nothing is read until used."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{name}: no .npy file at {str(p)!r}")
    try:
        return np.load(p, mmap_mode="r", allow_pickle=False)
    except ValueError as exc:  # object arrays, a file that is not .npy
        raise ValueError(f"{name}: {str(p)!r} is not a .npy file of numbers ({exc})") from None


# ------------------------------------------------------------------------------------------------------------
# the cache
# ------------------------------------------------------------------------------------------------------------


def _stamp(files: Sequence[Path]) -> list[list[Any]]:
    return [[str(f.resolve()), (s := f.stat()).st_size, s.st_mtime_ns] for f in files]


def _cache_path(source: Path, files: Sequence[Path], embedding: str, folder: Path) -> tuple[Path, str]:
    """(cache file, prefix shared by every cache file of this source and column)."""
    who = hashlib.sha1(json.dumps([str(source.resolve()), embedding]).encode()).hexdigest()[:12]
    key = hashlib.sha1(json.dumps([CACHE_VERSION, _stamp(files)]).encode()).hexdigest()[:16]
    stem = "".join(c if c.isalnum() or c in "-_." else "_" for c in source.stem)[:40]
    prefix = f"{stem}-{who}-"
    return folder / f"{prefix}{key}.npy", prefix


def _write_cache(target: Path, prefix: str, n: int, d: int, blocks: Iterable[np.ndarray], progress: bool) -> None:
    """Stream ``blocks`` (rows in order, N in all) into a float32 (N, D) ``.npy`` at ``target``."""
    from tqdm.auto import tqdm

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f"{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        # Writing through a mapping: the pages are file-backed (the OS writes them back), never anonymous memory.
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(n, d))
        row = 0
        with tqdm(total=n, desc="nbviz: caching the embeddings as float32", unit="rows", disable=not progress,
                  leave=True) as bar:
            for block in blocks:
                out[row:row + len(block)] = block
                row += len(block)
                bar.update(len(block))
        if row != n:
            raise ValueError(f"the files hold {row} rows but their metadata says {n}; were they changed while read?")
        out.flush()
        del out
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    for stale in target.parent.glob(f"{prefix}*.npy"):
        if stale != target:
            stale.unlink(missing_ok=True)  # an earlier version of the same source; open mappings of it stay valid


def _cached(source: Path, files: Sequence[Path], embedding: str, cache_dir: Any, shape: tuple[int, int],
            blocks: Any, progress: bool) -> np.ndarray:
    """The mapped cache of ``source``, written first from ``blocks()`` when missing or stale."""
    target, prefix = _cache_path(source, files, embedding, cache_folder(cache_dir))
    if target.is_file():
        arr = open_npy(target, "cache")
        if arr.shape == shape and arr.dtype == np.float32:
            return arr
    _write_cache(target, prefix, shape[0], shape[1], blocks(), progress)
    return open_npy(target, "cache")


def mapped_float32(arr: np.ndarray, name: str, cache_dir: str | os.PathLike | None = None) -> np.ndarray:
    """A memory-mapped (N, D) array that is not float32 C-contiguous, converted block by block into a mapped float32
    cache beside the others (keyed by its file, offset, dtype, shape and strides); returned as is when its file is
    unknown (an ``mmap.mmap``), for the caller to convert in memory."""
    from .blockwise import row_blocks

    mm = arr
    while isinstance(mm, np.ndarray) and not (isinstance(mm, np.memmap) and getattr(mm, "filename", None)):
        mm = mm.base
    if not isinstance(mm, np.memmap):
        return arr
    source = Path(str(mm.filename))
    view = [arr.dtype.str, list(arr.shape), list(arr.strides), int(mm.offset),
            int(arr.__array_interface__["data"][0] - mm.__array_interface__["data"][0])]
    tag = f"{source.name}:{json.dumps(view)}"

    def blocks() -> Iterator[np.ndarray]:
        for rows in row_blocks(arr.shape[0], arr.shape[1]):
            with np.errstate(over="ignore"):  # beyond the float32 range: inf, reported by the caller's check
                yield np.asarray(arr[rows], dtype=np.float32)

    return _cached(source, [source], tag, cache_dir, (arr.shape[0], arr.shape[1]), blocks, progress=False)


# ------------------------------------------------------------------------------------------------------------
# Arrow columns -> numpy blocks
# ------------------------------------------------------------------------------------------------------------


def _list_type(t: Any, embedding: str, where: str) -> int | None:
    """The fixed width of an embedding column of type ``t`` (None: a variable list), or an error naming it."""
    pa = _pyarrow()
    if isinstance(t, pa.ExtensionType):  # e.g. Ray's tensor columns: their storage is a list
        t = t.storage_type
    fixed = pa.types.is_fixed_size_list(t)
    if not (fixed or pa.types.is_list(t) or pa.types.is_large_list(t)):
        raise TypeError(f"embedding column {embedding!r} of {where} must be fixed_size_list<float32>[D] or "
                        f"list<float32> (one vector per row); got type {t}")
    vt = t.value_type
    if not (pa.types.is_floating(vt) or pa.types.is_integer(vt)):
        raise TypeError(f"embedding column {embedding!r} of {where} must hold numbers; got type {t}")
    return int(t.list_size) if fixed else None


def _vectors(col: Any, d: int | None, embedding: str, where: str, first_row: int) -> np.ndarray:
    """An Arrow list column as (rows, D) numpy (a view when the values are float32 and there are no nulls)."""
    pa = _pyarrow()
    import pyarrow.compute as pc

    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    if isinstance(col.type, pa.ExtensionType):
        col = col.storage
    if col.null_count:
        row = first_row + int(np.flatnonzero(col.is_null().to_numpy(zero_copy_only=False))[0])
        raise ValueError(f"embedding column {embedding!r} of {where} has no vector (null) at row {row}")
    lengths = pc.list_value_length(col).to_numpy(zero_copy_only=False)  # pyright: ignore[reportAttributeAccessIssue]
    width = int(lengths[0]) if d is None and len(lengths) else d
    bad = np.flatnonzero(lengths != width)
    if len(bad):
        raise ValueError(f"embedding column {embedding!r} of {where}: every vector must have D = {width} values; "
                         f"row {first_row + int(bad[0])} has {int(lengths[bad[0]])}")
    values = col.flatten()  # respects the slice offset, unlike .values
    if values.null_count:
        raise ValueError(f"embedding column {embedding!r} of {where} has null values inside its vectors")
    return values.to_numpy(zero_copy_only=False).reshape(len(col), width or 0)


def _names(value: Any, name: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise TypeError(f"{name} must be a column name or a list of column names, got {value!r}"[:200])
    return list(value)


def _check_columns(schema: Any, embedding: Any, labels: Any, columns: Any, images: Any, where: str) -> list[str]:
    """The extra columns to read (labels, metadata, image paths), each checked to be in ``schema``."""
    if not isinstance(embedding, str):
        raise TypeError(f"embedding must be the name of the embedding column (a str), got {embedding!r}"[:200])
    if labels is not None and not isinstance(labels, str):
        raise TypeError(f"labels must be the name of a column (a str) or None, got {labels!r}"[:200])
    present = list(schema.names)
    wanted = [("embedding", embedding), *(("labels", c) for c in _names(labels, "labels")),
              *(("columns", c) for c in _names(columns, "columns"))]
    if isinstance(images, str):
        wanted.append(("images", images))
    for param, col in wanted:
        if col not in present:
            raise ValueError(f"{param}={col!r} is not a column of {where}; its columns are {present}")
    if embedding in _names(columns, "columns"):
        raise ValueError(f"columns lists {embedding!r}, the embedding column; list metadata columns only")
    return list(dict.fromkeys(c for _, c in wanted[1:]))


def _make(cls: Any, emb: np.ndarray, extra: Any, labels: Any, columns: Any, images: Any,
          class_names: Any) -> Any:
    """The Features from the embeddings and the table ``extra`` of the other columns (None without)."""
    lab = meta = None
    if extra is not None:
        if labels is not None:
            lab = extra.column(labels).to_numpy(zero_copy_only=False)
        names = _names(columns, "columns")
        meta = extra.select(names).to_pandas() if names else None
        if isinstance(images, str):
            images = [str(p) for p in extra.column(images).to_pylist()]
    return cls(emb, labels=lab, images=images, metadata=meta, class_names=class_names)


# ------------------------------------------------------------------------------------------------------------
# Parquet
# ------------------------------------------------------------------------------------------------------------


def _parquet_files(path: Path) -> list[Path]:
    """A file, or a folder's ``*.parquet`` files (any depth) sorted by their path within it; ``_``/``.``-prefixed
    names (``_SUCCESS``, ``_metadata``, hidden files) skipped as Spark, Dask and Ray write them."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise FileNotFoundError(f"path: no Parquet file or folder at {str(path)!r}")
    files = sorted((p for p in path.rglob("*.parquet") if p.is_file() and not any(
        part.startswith(("_", ".")) for part in p.relative_to(path).parts)), key=lambda p: p.relative_to(path).parts)
    if not files:
        raise FileNotFoundError(f"path: the folder {str(path)!r} holds no .parquet files")
    return files


def from_parquet(cls: Any, path: str | os.PathLike, embedding: str = "embedding",
                 columns: Sequence[str] | str | None = None, labels: str | None = None, *, images: Any = None,
                 class_names: Sequence[Any] | None = None, cache_dir: str | os.PathLike | None = None,
                 progress: bool = True) -> Any:
    """Features over a Parquet file, or a folder of part files, with the embeddings memory-mapped.

    Parameters
    ----------
    path
        A ``.parquet`` file or a folder of them (read recursively, in sorted path order, rows in file order).
    embedding
        The embedding column: ``fixed_size_list<float32>[D]`` (or of another number type, converted), or
        ``list<...>`` with D values in every row.
    columns
        Names of columns to keep as :attr:`~Features.metadata` (read into memory).
    labels
        Name of a column used as labels.
    images
        Name of a column of image file paths, or anything :class:`~nbviz.data.Features` takes.
    class_names
        As for :class:`~nbviz.data.Features`.
    cache_dir
        Folder of the float32 cache (see :mod:`nbviz.columnar`); default ``$NBVIZ_CACHE_DIR`` or
        ``~/.cache/nbviz/features``.
    progress
        Show a progress bar while the cache is written.

    Raises
    ------
    FileNotFoundError
        No file or folder at ``path``, or a folder with no ``.parquet`` files.
    ValueError
        A name that is not a column (named with the parameter), vectors of different lengths, null vectors.
    TypeError
        An embedding column that is not a list of numbers.
    """
    _pyarrow()
    import pyarrow.parquet as pq

    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a Parquet file or folder (str or Path), got {type(path).__name__}")
    source = Path(path)
    files = _parquet_files(source)
    # memory_map and no pre-buffering: the compressed pages are read from the mapping, only the decoded batch is
    # allocated (pre-buffering keeps whole row groups, and the pool keeps what it grew to).
    parts = [pq.ParquetFile(f, memory_map=True, pre_buffer=False) for f in files]
    names = _check_columns(parts[0].schema_arrow, embedding, labels, columns, images, str(files[0]))
    width: int | None = None
    for f, part in zip(files, parts, strict=True):
        schema = part.schema_arrow
        _check_columns(schema, embedding, labels, columns, images, str(f))
        w = _list_type(schema.field(embedding).type, embedding, str(f))
        if w is not None and width is not None and w != width:
            raise ValueError(f"embedding column {embedding!r} has D = {width} in {files[0]} but D = {w} in {f}")
        width = width if w is None else w
    n = sum(part.metadata.num_rows for part in parts)
    if n == 0:
        raise ValueError(f"path: {str(source)!r} holds no rows")

    def batches() -> Iterator[tuple[Path, int, Any]]:
        row = 0
        for f, part in zip(files, parts, strict=True):
            for batch in part.iter_batches(batch_size=BATCH_ROWS, columns=[embedding], use_threads=False):
                yield f, row, batch.column(0)
                row += batch.num_rows

    if width is None:  # variable lists: D is the length of the first vector, checked against every other
        f, row, col = next(b for b in batches() if len(b[2]))
        width = _vectors(col.slice(0, 1), None, embedding, str(f), row).shape[1]

    def blocks() -> Iterator[np.ndarray]:
        for f, row, col in batches():
            yield _vectors(col, width, embedding, str(f), row)

    assert width is not None  # set above from the first vector
    emb = _cached(source, files, embedding, cache_dir, (n, width), blocks, progress)
    extra = None
    if names:
        pa = _pyarrow()
        extra = pa.concat_tables([part.read(columns=names, use_threads=False) for part in parts])
    return _make(cls, emb, extra, labels, columns, images, class_names)


# ------------------------------------------------------------------------------------------------------------
# Arrow
# ------------------------------------------------------------------------------------------------------------


def _open_ipc(path: Path) -> tuple[Any, tuple[int, int]]:
    """A reader of an Arrow IPC file (Feather v2) or stream over a memory map of it, and the map's address range."""
    pa = _pyarrow()
    if not path.is_file():
        raise FileNotFoundError(f"table_or_path: no Arrow IPC / Feather file at {str(path)!r}")
    source = pa.memory_map(str(path), "r")
    whole = source.read_buffer(source.size())  # a view of the map, to tell mapped buffers from decoded ones
    source.seek(0)
    span = (whole.address, whole.address + whole.size)
    try:
        return pa.ipc.open_file(source), span
    except pa.ArrowInvalid:
        source.seek(0)
        try:
            return pa.ipc.open_stream(source), span
        except pa.ArrowInvalid as exc:
            raise ValueError(f"table_or_path: {str(path)!r} is not an Arrow IPC file or stream ({exc})") from None


def _zero_copy(col: Any) -> np.ndarray | None:
    """(N, D) float32 numpy viewing one Arrow chunk's buffer, or None when that would need a copy."""
    pa = _pyarrow()
    if isinstance(col, pa.ChunkedArray):
        if col.num_chunks != 1:
            return None
        col = col.chunk(0)
    if isinstance(col.type, pa.ExtensionType):
        col = col.storage
    t = col.type
    if not pa.types.is_fixed_size_list(t) or t.value_type != pa.float32() or col.null_count:
        return None
    values = col.flatten()
    if values.null_count:
        return None
    return values.to_numpy(zero_copy_only=True).reshape(len(col), t.list_size)


def from_arrow(cls: Any, table_or_path: Any, embedding: str = "embedding",
               columns: Sequence[str] | str | None = None, labels: str | None = None, *, images: Any = None,
               class_names: Sequence[Any] | None = None, cache_dir: str | os.PathLike | None = None,
               progress: bool = True) -> Any:
    """Features over an Arrow table, record batch, or Arrow IPC / Feather v2 file, without copying the embeddings
    where Arrow's layout allows it.

    A file is memory-mapped. Its embedding column is viewed as numpy in place when it is
    ``fixed_size_list<float32>[D]``, uncompressed and in one record batch (``pyarrow.feather.write_feather(table,
    path, compression="uncompressed", chunksize=len(table))``); otherwise (compressed, several batches, another
    number type) it is converted batch by batch into the float32 cache that :func:`from_parquet` uses. A table in
    memory is viewed when it has one chunk of float32, else copied into one array. An IPC *stream* (not file) has no
    index of its batches: they are all read first (in place when uncompressed). The other parameters are those of
    :func:`from_parquet`.
    """
    pa = _pyarrow()
    if isinstance(table_or_path, (str, os.PathLike)):
        path = Path(table_or_path)
        reader, span = _open_ipc(path)
        where = str(path)
        names = _check_columns(reader.schema, embedding, labels, columns, images, where)
        width = _list_type(reader.schema.field(embedding).type, embedding, where)
        if isinstance(reader, pa.ipc.RecordBatchFileReader):
            count = reader.num_record_batches
            get = reader.get_batch
        else:  # a stream reads only forwards: its batches are read once, kept as (mapped or decoded) Arrow data
            got = list(reader)
            count, get = len(got), got.__getitem__
        emb = None
        if count == 1:
            emb = _zero_copy(get(0).column(embedding))
            # A compressed file is decoded into Arrow's memory pool: then it is no view of the mapped file.
            if emb is not None and not span[0] <= emb.__array_interface__["data"][0] < span[1]:
                emb = None
        if emb is None:
            # The file's footer knows the row count; a stream's batches are in memory already.
            n = reader.count_rows() if hasattr(reader, "count_rows") else sum(get(i).num_rows for i in range(count))
            if n == 0:
                raise ValueError(f"table_or_path: {where!r} holds no rows")
            if width is None:
                first = next(b for b in map(get, range(count)) if b.num_rows)
                width = _vectors(first.column(embedding).slice(0, 1), None, embedding, where, 0).shape[1]

            def blocks() -> Iterator[np.ndarray]:
                row = 0
                for i in range(count):
                    col = get(i).column(embedding)
                    yield _vectors(col, width, embedding, where, row)
                    row += len(col)

            emb = _cached(path, [path], embedding, cache_dir, (n, width), blocks, progress)
        extra = pa.Table.from_batches([get(i).select(names) for i in range(count)]) if names else None
        return _make(cls, emb, extra, labels, columns, images, class_names)
    if isinstance(table_or_path, pa.RecordBatch):
        table_or_path = pa.Table.from_batches([table_or_path])
    if not isinstance(table_or_path, pa.Table):
        raise TypeError(f"table_or_path must be a pyarrow Table or RecordBatch, or the path of an Arrow IPC / Feather "
                        f"file; got {type(table_or_path).__name__}")
    table = table_or_path
    names = _check_columns(table.schema, embedding, labels, columns, images, "the table")
    _list_type(table.schema.field(embedding).type, embedding, "the table")
    if table.num_rows == 0:
        raise ValueError("table_or_path: the table holds no rows")
    col = table.column(embedding)
    emb = _zero_copy(col)
    if emb is None:
        emb = _vectors(col, None, embedding, "the table", 0)
    return _make(cls, emb, table.select(names) if names else None, labels, columns, images, class_names)
