"""Labels that users assign to items, optionally mirrored to disk as ``label_dir/<label>/<file>`` + a CSV.

Writing is conservative: a label must be a safe file name, nothing is written outside ``label_dir``, an existing
file is never overwritten, and a file appears under its final name only once it is complete.
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import pandas as pd

from .files import expand_path, write_atomic

_SAFE_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.-]{0,63}$")
_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))}
CSV_NAME = "annotations.csv"
#: The CSV's columns: the item's index, its label, when (Unix time), the copy in label_dir, the file it came from.
CSV_COLUMNS = ("index", "label", "time", "file", "source")


def check_folder_name(value: object, name: str) -> str:
    """Return ``value`` if it is a safe name for one folder (on every OS), else raise an error naming ``name``."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, got {type(value).__name__}")
    if not _SAFE_LABEL.match(value) or value.endswith((".", " ")) or ".." in value or value.lower() in _RESERVED:
        raise ValueError(
            f"{name} {value!r} is not a safe file name: use 1-64 letters, digits, spaces, '_', '-' or '.', "
            "starting with a letter or digit (no '/', no '..')"
        )
    return value


def check_label(label: object) -> str:
    """Return ``label`` if it is a safe folder name, else raise a ValueError saying what is allowed."""
    return check_folder_name(label, "label")


class LabelStore:
    """Annotations in memory, and on disk when ``label_dir`` is given.

    ``write_item(index, folder) -> Path`` writes item ``index`` into ``folder`` under a name of its choosing
    (the caller knows whether the item is an image file to copy or an array to encode).
    """

    def __init__(self, label_dir: str | os.PathLike | None = None) -> None:
        self.rows: list[tuple[int, str, float]] = []
        # "" would silently mean the working directory: label_dir must name a folder.
        self.label_dir = None if label_dir is None else expand_path(label_dir, "label_dir").resolve()
        if self.label_dir is not None:
            if self.label_dir.exists() and not self.label_dir.is_dir():
                raise ValueError(f"label_dir must be a folder, but {self.label_dir} is a file")
            self.label_dir.mkdir(parents=True, exist_ok=True)
            self._csv_path()  # a bad annotations file is reported now, not at the first label

    def existing_labels(self) -> list[str]:
        """Label folders already present in ``label_dir`` (from an earlier session)."""
        if self.label_dir is None:
            return []
        return sorted(p.name for p in self.label_dir.iterdir() if p.is_dir() and _SAFE_LABEL.match(p.name))

    def assign(
        self,
        indices: Iterable[int],
        label: str,
        write_item: Callable[[int, Path], Path | None] | None = None,
        source: Callable[[int], object] | None = None,
    ) -> int:
        """Record ``label`` for ``indices`` (and write their files); returns how many were recorded.

        ``source(i)``, when given, is what item ``i`` came from (its image file), recorded in the CSV's "source".
        """
        label = check_label(label)
        indices = [int(i) for i in indices]
        now = time.time()
        folder = None
        if self.label_dir is not None:
            folder = self.label_dir / label
            # resolve() again: the label is safe, but a symlinked folder must not lead outside label_dir.
            folder.mkdir(exist_ok=True)
            if not folder.resolve().is_relative_to(self.label_dir):
                raise ValueError(f"label folder {folder} resolves outside label_dir {self.label_dir}")
            self._csv_path()  # refused before any item is written
        written = []
        for i in indices:
            path = write_item(i, folder) if (folder is not None and write_item is not None) else None
            rel = "" if path is None or self.label_dir is None else str(path.relative_to(self.label_dir))
            origin = "" if source is None or source(i) is None else str(source(i))
            written.append((i, label, now, rel, origin))
        self.rows.extend(r[:3] for r in written)
        if self.label_dir is not None:
            self._append_csv(written)
        return len(indices)

    def _csv_path(self) -> Path:
        assert self.label_dir is not None  # asked only when labels are written to a folder
        path = self.label_dir / CSV_NAME
        # A link (even one pointing inside) is refused: appending through it could write anywhere.
        if path.is_symlink() or (path.exists() and not path.is_file()):
            raise ValueError(f"{path} is a symbolic link or not a regular file; nbviz writes the annotations "
                             f"only into a plain file inside label_dir {self.label_dir}: remove it")
        return path

    def _append_csv(self, rows: list[tuple[int, str, float, str, str]]) -> None:
        path = self._csv_path()
        # O_NOFOLLOW: a link made after the check is still not followed.
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o666)
        with os.fdopen(fd, "a+", newline="") as f:
            f.seek(0)
            # A file from an older nbviz keeps its own columns: rows never get more cells than its header.
            header = next(csv.reader(f), None) or []
            w = csv.writer(f)
            if not header:
                header = list(CSV_COLUMNS)
                w.writerow(header)
            for i, label, t, file, origin in rows:
                cells = {"index": i, "label": label, "time": f"{t:.3f}", "file": file, "source": origin}
                w.writerow([cells.get(column, "") for column in header])

    def counts(self) -> dict[str, int]:
        """Items per label, counting an item once per label even if labelled twice."""
        seen = {(i, lab) for i, lab, _ in self.rows}
        out: dict[str, int] = {}
        for _, lab in seen:
            out[lab] = out.get(lab, 0) + 1
        return dict(sorted(out.items()))

    def frame(self) -> pd.DataFrame:
        """The annotations as a DataFrame with columns index, label, time (a pandas Timestamp)."""
        df = pd.DataFrame(self.rows, columns=["index", "label", "time"])
        df["time"] = pd.to_datetime(df["time"], unit="s")
        return df


def write_new_file(folder: Path, stem: str, suffix: str, write: Callable[[Path], object]) -> Path | None:
    """Write a file via ``write(tmp_path)`` and publish it as ``folder/stem+suffix`` without overwriting.

    Returns the new path, or None when a file (or link) of that name already exists (the item was labelled
    before). Publishing is :func:`nbviz.files.write_atomic`'s: an atomic hard link, never a partial file.
    """
    final = folder / f"{stem}{suffix}"
    if final.exists() or final.is_symlink():
        return None
    try:
        return write_atomic(final, write)
    except FileExistsError:  # appeared meanwhile: never overwritten
        return None


def copy_file(src: Path) -> Callable[[Path], object]:
    """A ``write`` callback for :func:`write_new_file` that copies ``src``."""
    return lambda dst: shutil.copyfile(src, dst)


def same_file_contents(a: Path, b: Path) -> bool:
    """Whether ``a`` is a regular file (not a link) with the bytes of ``b``."""
    import filecmp

    return a.is_file() and not a.is_symlink() and filecmp.cmp(a, b, shallow=False)
