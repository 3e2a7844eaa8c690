"""One export contract for every view, widget or composite: ``to_png(width=None) -> bytes`` and ``save(path)`` that
picks the writer by the suffix, with the same errors everywhere."""

from __future__ import annotations

import inspect
import io

import numpy as np
import pytest
from PIL import Image

import nbviz

from .test_static_pictures import VIEWS, clusters

#: Views beyond those of test_static_pictures.
VIEWS = {**VIEWS, "triplets": lambda: nbviz.TripletSpace(*clusters(), margin=0.5, anchor=3)}

#: What save() writes besides .png, per view.
EXTRA_SUFFIXES = {"explorer": {".html"}, "gradcam": {".html"}, "probmap": {".html", ".gif", ".mp4"},
                  "graph": {".html", ".svg", ".dot"}}


@pytest.fixture(scope="module", params=sorted(VIEWS))
def view(request):
    obj = VIEWS[request.param]()
    yield request.param, obj
    obj.close()


def size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    return Image.open(io.BytesIO(png)).size


def test_to_png_takes_width_first_and_none_by_default(view):
    _, obj = view
    first = next(iter(inspect.signature(obj.to_png).parameters.values()))
    assert first.name == "width" and first.default is None
    w, h = size(obj.to_png())
    assert w > 1 and h > 1


def test_to_png_width_sets_the_width(view):
    name, obj = view
    w, h = size(obj.to_png(width=150))
    if name == "probmap":  # one 150-px map per recorder
        assert w == 150 and h == 150
    elif name == "explorer":  # the plot, then the legend beside it
        assert w > 150
    else:
        assert w == 150
        natural_w, natural_h = size(obj.to_png())
        assert abs(h - natural_h * 150 / natural_w) <= 1  # the aspect is kept


@pytest.mark.parametrize("bad", [0, -3, 1.5, "wide", True, 20_000])
def test_a_bad_width_names_the_parameter(view, bad):
    _, obj = view
    with pytest.raises((ValueError, TypeError), match="width"):
        obj.to_png(width=bad)


def test_save_picks_the_writer_by_suffix(view, tmp_path):
    name, obj = view
    png_path = obj.save(tmp_path / "view.png")
    assert png_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if name != "probmap":  # the player's .png is its matplotlib figure (save has options), not to_png
        assert np.array_equal(np.asarray(Image.open(png_path)), np.asarray(Image.open(io.BytesIO(obj.to_png()))))
    with pytest.raises(FileExistsError):
        obj.save(tmp_path / "view.png")
    obj.save(tmp_path / "view.png", overwrite=True)
    with pytest.raises(ValueError, match=r"\.png"):
        obj.save(tmp_path / "view.txt")
    suffixes = EXTRA_SUFFIXES.get(name, {".html"} if callable(getattr(obj, "to_html", None)) else set())
    if ".html" in suffixes:
        page = obj.save(tmp_path / "view.html").read_text(encoding="utf-8")
        assert page.startswith("<!doctype html>") and "nbviz-data" in page
    for suffix in suffixes - {".html"}:  # .mp4 with the ffmpeg that imageio-ffmpeg (a test dependency) ships
        assert obj.save(tmp_path / f"view{suffix}").stat().st_size > 0
