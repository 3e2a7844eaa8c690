"""Writing files for the user: one rule for every ``save`` / export in nbviz.

- ``~`` is expanded; nothing is written anywhere but at the path named (no folders are made on the way).
- An existing file is kept unless ``overwrite=True``; a symbolic link at the target is always refused (writing
  through it would land outside the folder the user named).
- The bytes go to a temporary file in the same folder first, published under the final name only when complete
  (a hard link when not overwriting, so a file appearing meanwhile is never clobbered; ``os.replace`` otherwise).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Sequence
from pathlib import Path

__all__ = ["check_target", "expand_path", "write_atomic", "write_file"]


def expand_path(path: object, name: str = "path") -> Path:
    """``path`` as a :class:`~pathlib.Path` with ``~`` expanded; TypeError naming ``name`` for non-paths."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{name} must be a str or os.PathLike, got {type(path).__name__}")
    text = os.fspath(path)
    if not isinstance(text, str) or text == "":
        raise ValueError(f"{name} must be a non-empty path, got {path!r}")
    return Path(text).expanduser()


def check_target(path: object, suffixes: Sequence[str], *, overwrite: bool = False, name: str = "path") -> Path:
    """Check that a file may be written at ``path``; returns it with ``~`` expanded.

    Raises
    ------
    TypeError
        ``path`` is not a str / os.PathLike.
    FileExistsError
        The target is a symbolic link (always), or an existing file and ``overwrite`` is False.
    IsADirectoryError
        The target is a folder.
    ValueError
        The suffix is not one of ``suffixes`` (checked case-insensitively).
    FileNotFoundError, NotADirectoryError
        The folder it would go in does not exist, or is not a folder.
    """
    if not isinstance(overwrite, bool):
        raise TypeError(f"overwrite must be True or False, got {overwrite!r}")
    target = expand_path(path, name)
    if target.is_symlink():
        raise FileExistsError(f"{name} {str(target)!r} is a symbolic link; nbviz never writes through a link "
                              "(not even with overwrite=True): remove the link or choose another path")
    if target.is_dir():
        raise IsADirectoryError(f"{name} {str(target)!r} is a folder; give a file name ending in one of "
                                f"{tuple(suffixes)}")
    if target.suffix.lower() not in suffixes:
        raise ValueError(f"{name} must end in one of {tuple(suffixes)}, got {target.name!r}")
    folder = target.parent
    if not folder.exists():
        raise FileNotFoundError(f"{name} {str(target)!r}: the folder {str(folder)!r} does not exist; create it first")
    if not folder.is_dir():
        raise NotADirectoryError(f"{name} {str(target)!r}: {str(folder)!r} is not a folder")
    if target.exists() and not overwrite:
        raise FileExistsError(_exists_message(target, name))
    return target


def _exists_message(target: Path, name: str) -> str:
    return f"{name} {str(target)!r} already exists; pass overwrite=True to replace it"


def write_atomic(target: Path, write: Callable[[Path], object], *, overwrite: bool = False,
                 name: str = "path") -> Path:
    """Write via ``write(tmp_path)`` into a temporary file next to ``target``, then publish it as ``target``.

    The temporary name keeps ``target``'s suffix (matplotlib, PIL and ffmpeg pick the format from it) and is made
    with the process umask, like any new file. Without ``overwrite``, publishing is a hard link, which fails if
    ``target`` exists (even as a dangling link): FileExistsError. With it, ``os.replace`` swaps the file (a link
    at ``target`` is replaced, never followed). Nothing is left behind when ``write`` fails.
    """
    tmp = _new_temp(target)
    try:
        write(tmp)
        if overwrite:
            os.replace(tmp, target)
        else:
            try:
                os.link(tmp, target)
            except FileExistsError:
                raise FileExistsError(_exists_message(target, name)) from None
        return target
    finally:
        tmp.unlink(missing_ok=True)


def _new_temp(target: Path) -> Path:
    for _ in range(100):
        tmp = target.with_name(f".{target.stem}.{secrets.token_hex(4)}.part{target.suffix}")
        try:
            # O_EXCL: never reuse (or follow) anything already there; 0o666 & ~umask like an ordinary new file.
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            continue
        return tmp
    raise FileExistsError(f"could not make a temporary file next to {str(target)!r}")


def write_file(path: object, write: Callable[[Path], object], *, suffixes: Sequence[str], overwrite: bool = False,
               name: str = "path") -> Path:
    """:func:`check_target` then :func:`write_atomic`: the one way nbviz saves a file the user asked for."""
    target = check_target(path, suffixes, overwrite=overwrite, name=name)
    return write_atomic(target, write, overwrite=overwrite, name=name)


def save_by_suffix(path: object, writers: dict[str, Callable[[], bytes | str]], *, overwrite: bool = False) -> Path:
    """A view's ``save``: check ``path`` (its suffix, one of ``writers``, picks the writer), make the content, write
    it atomically (:func:`write_file`'s rules). Text is written as UTF-8."""
    target = check_target(path, tuple(writers), overwrite=overwrite)
    data = writers[target.suffix.lower()]()
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return write_atomic(target, lambda tmp: tmp.write_bytes(raw), overwrite=overwrite)
