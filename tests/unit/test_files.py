"""Files are written only where the user said: no symlinks followed, no silent overwrite, clear path errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import nbviz
from nbviz.files import check_target, write_file
from nbviz.integrations.tensorboard import export_projector
from nbviz.labelling import CSV_NAME, LabelStore, write_new_file
from nbviz.widgets.model_graph import ModelGraph

SUFFIXES = (".png", ".gif")


def text(s: str):
    return lambda p: p.write_text(s)


@pytest.fixture
def player():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(20, 2))
    rec = nbviz.ProbMapRecorder(x, (x[:, 0] > 0).astype(int), resolution=8)
    rec.record(lambda z: np.stack([z[:, 0], -z[:, 0]], 1), 0)
    return nbviz.ProbMapPlayer(rec)


@pytest.fixture
def graph():
    torch.manual_seed(0)
    return ModelGraph(nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)), torch.rand(1, 3))


# -- labelling ---------------------------------------------------------------------------------------------
def test_symlinked_annotations_csv_is_refused_and_nothing_written_outside(tmp_path):
    outside = tmp_path / "outside.csv"
    outside.write_text("")
    root = tmp_path / "labels"
    root.mkdir()
    (root / CSV_NAME).symlink_to(outside)
    with pytest.raises(ValueError, match="annotations.csv is a symbolic link"):
        LabelStore(root)
    # A link made after the store was opened: refused at the first label, before any item file is written.
    (root / CSV_NAME).unlink()
    store = LabelStore(root)
    (root / CSV_NAME).symlink_to(outside)
    written = []
    with pytest.raises(ValueError, match="symbolic link"):
        store.assign([1], "cat", lambda i, folder: written.append(i))
    assert outside.read_text() == "" and written == []


def test_empty_label_dir_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="label_dir must be a non-empty path, got ''"):
        LabelStore("")
    with pytest.raises(TypeError, match="label_dir must be a str or os.PathLike, got int"):
        LabelStore(3)
    with pytest.raises(ValueError, match="label_dir must be a non-empty path"):
        nbviz.EmbeddingExplorer(np.random.default_rng(0).normal(size=(10, 2)), label_dir="")
    assert list(tmp_path.iterdir()) == []


def test_label_files_keep_the_umask_permissions(tmp_path):
    ordinary = tmp_path / "ordinary"
    ordinary.write_text("")
    made = write_new_file(tmp_path, "x", ".txt", text("x"))
    assert made is not None and made.stat().st_mode == ordinary.stat().st_mode
    assert write_new_file(tmp_path, "x", ".txt", text("y")) is None and made.read_text() == "x"


# -- the save rule -----------------------------------------------------------------------------------------
def test_tilde_is_expanded(tmp_path, monkeypatch, player):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert write_file("~/a.png", text("a"), suffixes=SUFFIXES) == tmp_path / "a.png"
    assert player.save("~/p.html") == tmp_path / "p.html" and (tmp_path / "p.html").read_text().startswith("<!")
    assert not any(p.name.startswith(".") for p in tmp_path.iterdir())  # no temporary file left


def test_existing_file_is_kept_without_overwrite(tmp_path, player, graph):
    target = tmp_path / "a.png"
    target.write_text("mine")
    with pytest.raises(FileExistsError, match=r"a\.png' already exists; pass overwrite=True"):
        write_file(target, text("new"), suffixes=SUFFIXES)
    assert target.read_text() == "mine"
    write_file(target, text("new"), suffixes=SUFFIXES, overwrite=True)
    assert target.read_text() == "new"
    player.save(tmp_path / "p.html")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        player.save(tmp_path / "p.html")
    player.save(tmp_path / "p.html", overwrite=True)
    graph.save(tmp_path / "g.dot")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        graph.save(tmp_path / "g.dot")
    assert graph.save(tmp_path / "g.dot", overwrite=True).read_text() == graph.to_dot().source
    with pytest.raises(TypeError, match="overwrite must be True or False, got 'yes'"):
        graph.save(tmp_path / "h.dot", overwrite="yes")


@pytest.mark.parametrize("overwrite", [False, True])
def test_symlink_at_target_is_refused(tmp_path, overwrite, player):
    outside = tmp_path / "outside"
    outside.mkdir()
    victim = outside / "victim.png"
    victim.write_text("keep")
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "a.png").symlink_to(victim)
    (folder / "dangling.png").symlink_to(outside / "nothing.png")
    for name in ("a.png", "dangling.png"):
        with pytest.raises(FileExistsError, match="is a symbolic link; nbviz never writes through a link"):
            write_file(folder / name, text("x"), suffixes=SUFFIXES, overwrite=overwrite)
    with pytest.raises(FileExistsError, match="symbolic link"):
        player.save(folder / "a.png", overwrite=overwrite)
    assert victim.read_text() == "keep" and sorted(p.name for p in outside.iterdir()) == ["victim.png"]


def test_path_errors_name_the_path(tmp_path, player, graph):
    with pytest.raises(FileNotFoundError, match=r"the folder '.*missing' does not exist"):
        write_file(tmp_path / "missing" / "a.png", text("x"), suffixes=SUFFIXES)
    with pytest.raises(FileNotFoundError, match="missing' does not exist"):
        player.save(tmp_path / "missing" / "a.gif")
    (tmp_path / "d.png").mkdir()
    with pytest.raises(IsADirectoryError, match=r"d\.png' is a folder"):
        write_file(tmp_path / "d.png", text("x"), suffixes=SUFFIXES)
    with pytest.raises(IsADirectoryError, match="is a folder"):
        graph.save(tmp_path)
    with pytest.raises(ValueError, match=r"path must end in one of \('.png', '.gif'\), got 'a.jpg'"):
        write_file(tmp_path / "a.jpg", text("x"), suffixes=SUFFIXES)
    with pytest.raises(ValueError, match=r"path must end in one of \('.gif', '.mp4', '.png', '.html'\)"):
        player.save(tmp_path / "a.webm")
    (tmp_path / "f").write_text("")
    with pytest.raises(NotADirectoryError, match="is not a folder"):
        check_target(tmp_path / "f" / "a.png", SUFFIXES)
    with pytest.raises(TypeError, match="path must be a str or os.PathLike, got int"):
        graph.save(3)


def test_failed_write_leaves_nothing(tmp_path):
    def broken(p):
        p.write_text("half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_file(tmp_path / "a.png", broken, suffixes=SUFFIXES)
    assert list(tmp_path.iterdir()) == []


# -- TensorBoard projector -------------------------------------------------------------------------------
def test_projector_export_refuses_existing_files_before_writing(tmp_path):
    f = nbviz.Features(np.arange(12.0).reshape(6, 2), labels=list("aabbcc"))
    config = export_projector(f, tmp_path / "run", name='say "hi"')
    assert 'tensor_name: "say \\"hi\\""' in config.read_text()
    tensors = (tmp_path / "run" / "tensors.tsv").read_text()
    g = nbviz.Features(np.zeros((6, 2)), labels=list("zzzzzz"))
    (tmp_path / "run" / "metadata.tsv").unlink()
    with pytest.raises(FileExistsError, match=r"tensors\.tsv' already exists; pass overwrite=True"):
        export_projector(g, tmp_path / "run")
    assert (tmp_path / "run" / "tensors.tsv").read_text() == tensors
    assert not (tmp_path / "run" / "metadata.tsv").exists()  # nothing written before the refusal
    export_projector(g, tmp_path / "run", overwrite=True)
    assert (tmp_path / "run" / "metadata.tsv").read_text() == "z\n" * 6
    victim = tmp_path / "victim.tsv"
    victim.write_text("keep")
    (tmp_path / "run" / "metadata.tsv").unlink()
    (tmp_path / "run" / "metadata.tsv").symlink_to(victim)
    with pytest.raises(FileExistsError, match="symbolic link"):
        export_projector(g, tmp_path / "run", overwrite=True)
    assert victim.read_text() == "keep"
    (tmp_path / "file").write_text("")
    with pytest.raises(NotADirectoryError, match="logdir must be a folder"):
        export_projector(g, tmp_path / "file")
