"""Image folders: listing, order, labels from subfolders, lazy reading, model features, and labelled copies."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import nbviz
from nbviz import Features
from nbviz.image_folder import ImageFolder


def _save(path: Path, value: int, size: tuple[int, int] = (6, 4)) -> np.ndarray:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(value)
    arr = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(arr).save(path)
    return arr


@pytest.fixture
def classes(tmp_path: Path) -> tuple[Path, dict[str, np.ndarray]]:
    root = tmp_path / "set"
    pixels = {}
    for rel in ["dog/b10.png", "dog/b2.png", "cat/a0.png", "cat/a1.PNG", "cat/deep/a5.png", "dog/notes.txt",
                ".ipynb_checkpoints/x.png"]:
        if rel.endswith("txt"):
            (root / rel).write_text("not an image")
        else:
            pixels[rel] = _save(root / rel, len(pixels))
    return root, pixels


def test_subfolders_are_the_classes_and_the_order_is_by_path_unless_a_key_says(classes):
    root, pixels = classes
    folder = ImageFolder(root)
    rel = [p.relative_to(root).as_posix() for p in folder.paths]
    assert rel == ["cat/a0.png", "cat/a1.PNG", "cat/deep/a5.png", "dog/b10.png", "dog/b2.png"]
    assert folder.label_names == ["cat", "dog"] and folder.label_codes.tolist() == [0, 0, 0, 1, 1]
    # By number in the name; ties (none here) would keep path order.
    number = ImageFolder(root, sort_key=lambda p: int(p.stem[1:]))
    assert [p.name for p in number.paths] == ["a0.png", "a1.PNG", "b2.png", "a5.png", "b10.png"]
    assert number.label_codes.tolist() == [0, 0, 1, 0, 1]
    ties = ImageFolder(root, sort_key=lambda p: p.parent.name)  # cat, deep, dog: stable within each
    assert [p.name for p in ties.paths] == ["a0.png", "a1.PNG", "a5.png", "b10.png", "b2.png"]
    x, y = number[2]
    assert y == 1 and x.shape == (3, 4, 6) and x.dtype == torch.float32
    np.testing.assert_allclose(x.numpy().transpose(1, 2, 0) * 255, pixels["dog/b2.png"], atol=1e-3)


def test_features_from_a_folder_keep_paths_names_and_read_images_lazily(classes):
    root, pixels = classes
    f = Features.from_folder(root, size=(4, 6))
    assert f.n == 5 and f.dim == 4 * 6 * 3
    assert f.label_names == ["cat", "dog"] and f.labels.tolist() == [0, 0, 0, 1, 1]
    assert [p.name for p in f.image_paths] == ["a0.png", "a1.PNG", "a5.png", "b10.png", "b2.png"]
    np.testing.assert_array_equal(f.image(3), pixels["dog/b10.png"])
    np.testing.assert_allclose(f.embeddings[0], pixels["cat/a0.png"].transpose(2, 0, 1).reshape(-1) / 255.0, atol=1e-6)
    flat = Features.from_folder(root / "dog", labels=None)
    assert flat.labels is None and flat.n == 2


def test_a_model_runs_over_a_folder_path_with_its_classes(classes):
    root, _ = classes
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 5, 3), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1))
    f = Features.from_model(model, str(root), layer="1", batch_size=2, progress=False)
    folder = ImageFolder(root)
    expected = torch.stack([folder[i][0] for i in range(len(folder))])
    with torch.no_grad():
        np.testing.assert_allclose(f.embeddings, model[:2](expected).mean((2, 3)).numpy(), rtol=1e-5, atol=1e-6)
    assert f.label_names == ["cat", "dog"] and [p.name for p in f.image_paths][:2] == ["a0.png", "a1.PNG"]


def test_bad_folders_get_errors_that_name_the_problem(tmp_path, classes):
    root, _ = classes
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="has no images in it"):
        ImageFolder(tmp_path / "empty")
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        ImageFolder(tmp_path / "missing")
    with pytest.raises(ValueError, match=r"has no images in its subfolders \(looked for \.jpg\)"):
        ImageFolder(root, extensions=["jpg"])
    with pytest.raises(ValueError, match="labels must be one of"):
        ImageFolder(root, labels="folders")
    with pytest.raises(ValueError, match="size must be a positive int"):
        Features.from_folder(root, size=0)
    with pytest.raises(TypeError, match="sort_key must be a function"):
        ImageFolder(root, sort_key="name")
    mixed = tmp_path / "mixed"
    _save(mixed / "a.png", 1, (4, 4))
    _save(mixed / "b.png", 2, (5, 4))
    with pytest.raises(ValueError, match=r"image 1 .* is 5x4 but image 0 is 4x4; pass size="):
        Features.from_model(torch.nn.Flatten(), mixed, layer="", progress=False)
    (mixed / "c.png").write_bytes(b"broken")
    with pytest.raises(ValueError, match=r"could not read image 2 .*c\.png"):
        Features.from_folder(mixed)
    beside = tmp_path / "beside"
    _save(beside / "top.png", 1)
    _save(beside / "cls" / "in.png", 2)
    with pytest.raises(ValueError, match="holds images beside its subfolders"):
        ImageFolder(beside)


def test_labelled_copies_keep_the_source_name_and_the_csv_its_path(classes, tmp_path):
    root, _ = classes
    f = Features.from_folder(root)
    labels = tmp_path / "labels"
    ex = nbviz.EmbeddingExplorer(f, method="pca", label_dir=labels)
    ex.annotate([0, 1], "keep")
    # A different file of the same name gets the item index beside its name; an identical one is not copied twice.
    twin = root / "dog" / "a0.png"
    _save(twin, 99)
    g = Features.from_folder(root)
    ex2 = nbviz.EmbeddingExplorer(g, method="pca", label_dir=labels)
    index_of_twin = [p.as_posix() for p in g.image_paths].index(twin.as_posix())
    ex2.annotate([0, index_of_twin], "keep")
    names = sorted(p.name for p in (labels / "keep").iterdir())
    assert names == [f"a0-{index_of_twin:06d}.png", "a0.png", "a1.PNG"]
    rows = list(csv.DictReader((labels / "annotations.csv").open()))
    assert [Path(r["source"]).relative_to(root).as_posix() for r in rows] == [
        "cat/a0.png", "cat/a1.PNG", "cat/a0.png", "dog/a0.png"]
    assert [r["file"] for r in rows] == ["keep/a0.png", "keep/a1.PNG", "", f"keep/a0-{index_of_twin:06d}.png"]
    ex.close()
    ex2.close()
