"""Embedded JSON in exported HTML: user text can neither end nor re-mode the <script> block, and round-trips."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

import nbviz
from nbviz.export import script_json
from nbviz.widgets.base import bundle_path

NASTY = ["<!--<script>", "</script><script>alert(1)</script>", "&amp;", "a\u2028b\u2029c"]


@pytest.mark.parametrize("value", [NASTY, {"<k>": NASTY, "n": [1, 2.5, None, True]}, "x</SCRIPT >y"])
def test_script_json_round_trips_without_angle_brackets(value):
    blob = script_json(value)
    assert json.loads(blob) == value
    assert not set(blob) & {"<", ">", "&", "\u2028", "\u2029"}


def test_probmap_html_export_keeps_class_names(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(30, 2))
    rec = nbviz.ProbMapRecorder(x, rng.integers(0, 4, 30), resolution=8)
    rec.record(lambda z: np.stack([z[:, 0], -z[:, 0], z[:, 1], -z[:, 1]], 1), 0)
    page = nbviz.ProbMapPlayer(rec, classes=NASTY).save(tmp_path / "p.html").read_text(encoding="utf-8")
    blob = re.search(r'<script type="application/json" id="nbviz-data">(.*?)</script>', page, re.S).group(1)
    assert "<" not in blob
    assert json.loads(blob)["state"]["class_names"] == NASTY
    # The page has exactly its own two scripts, and nothing from the data or the bundle opens a comment.
    assert page.count("<script") == 2 and page.count("</script>") == 2 and "<!--" not in page
    js = re.search(r"new Blob\(\[(.*?)\], \{ type", page, re.S).group(1)
    bundle = bundle_path("prob_map_player").read_text(encoding="utf-8")
    assert "<" not in js and json.loads(js) == bundle
