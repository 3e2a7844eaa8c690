"""``Features.from_model(..., engine="ray")`` on a local Ray cluster started here (2 CPUs): the same features and
labels as the local path, rows in the dataset's order, Parquet part files as promised, the model handed back
unchanged, and clear errors (bad engine, a folder that is not empty, Ray missing, a bad layer, a failing forward).
"""

from __future__ import annotations

import sys
import tempfile
import time

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import ray
import torch
from torch import nn

from nbviz.data import Features
from nbviz.ray_engine import extract_on_ray, pool_args, write_parts

N, C, SIDE = 1200, 3, 10


def make_model() -> nn.Module:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(C, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.Conv2d(8, 16, 3), nn.ReLU(),
                        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 5))
    with torch.no_grad():  # statistics a fresh BatchNorm lacks, so eval and train mode give different features
        net[1].running_mean.uniform_(-0.5, 0.5)
        net[1].running_var.uniform_(0.5, 2.0)
    return net


def slow_first_batch(_model: nn.Module, x: np.ndarray) -> np.ndarray:
    """Each row's own number as its feature; the batch holding row 0 sleeps, so it finishes after later ones."""
    if (x == 0).any():
        time.sleep(2)
    return x.reshape(-1, 1).astype(np.float32)


@pytest.fixture(scope="module")
def cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    # The workers cannot import this test module: its classes travel by value.
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    yield
    ray.cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    ray.shutdown()


@pytest.fixture(scope="module")
def inputs() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.standard_normal((N, C, SIDE, SIDE)).astype(np.float32), rng.integers(0, 7, N)


def snapshot(model: nn.Module) -> list:
    return [(name, m.training, [list(getattr(m, d)) for d in ("_forward_hooks", "_forward_pre_hooks")],
             [(p.requires_grad, p.detach().numpy().tobytes()) for p in m.parameters(recurse=False)],
             [b.numpy().tobytes() for b in m.buffers(recurse=False)]) for name, m in model.named_modules()]


def test_same_features_and_labels_as_the_local_path_in_the_datasets_order(cluster, inputs, tmp_path):
    x, y = inputs
    model = make_model()
    model.train()  # the user's mode: extraction runs in eval mode and must leave this as it was
    model[3].weight.requires_grad_(False)
    calls = []
    model[2].register_forward_hook(lambda *_: calls.append(1))
    before = snapshot(model)
    local = Features.from_model(model, torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y)),
                                layer="4", progress=False)
    calls.clear()
    # 12 blocks over a pool of up to 2 actors: blocks finish out of order unless order is kept
    ds = ray.data.from_items([{"x": x[i], "y": int(y[i])} for i in range(N)], override_num_blocks=12)
    out = tmp_path / "features"
    feats = Features.from_model(model, ds, layer="4", engine="ray", output=out, batch_size=64, progress=False)
    assert isinstance(feats, Features) and feats.n == N and feats.dim == 16
    np.testing.assert_allclose(feats.embeddings, local.embeddings, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(feats.labels, y)
    assert snapshot(model) == before and calls == []  # the workers ran copies: the caller's hook never fired
    parts = sorted(out.glob("part-*.parquet"))
    table = pa.concat_tables([pq.read_table(p) for p in parts])
    assert table.schema.field("embedding").type == pa.list_(pa.float32(), 16)
    assert table.schema.field("index").type == pa.int64()
    np.testing.assert_array_equal(table.column("index").to_numpy(), np.arange(N))
    np.testing.assert_array_equal(table.column("label").to_numpy(), y)


def test_rows_keep_the_datasets_order_when_batches_finish_out_of_order(cluster, tmp_path):
    ds = ray.data.from_items([{"x": i} for i in range(400)], override_num_blocks=8)
    folder, label, names = extract_on_ray(nn.Identity(), ds, slow_first_batch, batch_size=50, output=tmp_path / "o",
                                          progress=False, actors=2)
    assert (label, names) == (None, [])
    table = pa.concat_tables([pq.read_table(p) for p in sorted(folder.glob("part-*.parquet"))])
    np.testing.assert_array_equal(np.stack(table.column("embedding").to_numpy(zero_copy_only=False))[:, 0],
                                  np.arange(400))


def test_arrays_labels_metadata_and_several_layers(cluster, inputs, tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where output=None puts its folder
    x, y = inputs
    x, y = x[:300], y[:300]
    model = make_model().eval()
    local = Features.from_model(model, x, layer=["4", model[6]], progress=False)
    names = np.array(["cat", "dog", "owl"])[y % 3]
    feats = Features.from_model(model, torch.from_numpy(x), layer=["4", model[6]], engine="ray", labels=names,
                                metadata={"k": np.arange(300) * 2}, progress=False)
    assert isinstance(feats, dict) and isinstance(local, dict) and set(feats) == set(local) == {"4", "6"}
    for path in local:
        np.testing.assert_allclose(feats[path].embeddings, local[path].embeddings, rtol=1e-5, atol=1e-6)
        assert list(feats[path].labels) == list(names) and feats[path].label_names == ["cat", "dog", "owl"]
        np.testing.assert_array_equal(feats[path].metadata["k"].to_numpy(), np.arange(300) * 2)
    # output=None: a new temporary folder holding the part files and the mapped cache
    (folder,) = tmp_path.iterdir()
    assert folder.name.startswith("nbviz-ray-features-") and len(list(folder.glob("part-*.parquet"))) == 1
    assert len(list((folder / "_cache").glob("*.npy"))) == 2


def test_a_torch_dataset_of_pairs_and_a_label_column_by_name(cluster, inputs, tmp_path):
    x, y = inputs
    model = make_model().eval()
    pairs = torch.utils.data.TensorDataset(torch.from_numpy(x[:200]), torch.from_numpy(y[:200]))
    feats = Features.from_model(model, pairs, layer="6", engine="ray", output=tmp_path / "pairs", progress=False)
    np.testing.assert_allclose(feats.embeddings, Features.from_model(model, x[:200], layer="6",
                                                                     progress=False).embeddings, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(feats.labels, y[:200])
    ds = ray.data.from_items([{"pixels": x[i], "kind": int(y[i])} for i in range(200)])
    named = Features.from_model(model, ds, layer="6", engine="ray", labels="kind", output=tmp_path / "named",
                                progress=False)
    np.testing.assert_allclose(named.embeddings, feats.embeddings, rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(named.labels, y[:200])


def test_clear_errors(cluster, inputs, tmp_path, monkeypatch):
    x, _ = inputs
    model = make_model().eval()
    ds = ray.data.from_numpy(x[:64])
    with pytest.raises(ValueError, match=r"engine must be one of \('local', 'ray'\); got 'spark'"):
        Features.from_model(model, x[:4], layer="4", engine="spark")
    full = tmp_path / "full"
    full.mkdir()
    (full / "keep.txt").write_text("mine")
    with pytest.raises(ValueError, match="output .* is not empty"):
        Features.from_model(model, ds, layer="4", engine="ray", output=full, progress=False)
    assert [p.name for p in full.iterdir()] == ["keep.txt"]
    with pytest.raises(ValueError, match=r"layer 'nope' is not in the model; closest valid names"):
        Features.from_model(model, ds, layer="nope", engine="ray", progress=False)
    with pytest.raises(TypeError, match="data must be a ray.data.Dataset .* got a DataLoader"):
        Features.from_model(model, torch.utils.data.DataLoader(x[:4]), layer="4", engine="ray", progress=False)
    with pytest.raises(ValueError, match="device must be None with engine=\"ray\""):
        Features.from_model(model, ds, layer="4", engine="ray", device="cpu", progress=False)
    with pytest.raises(ValueError, match=r"labels='kind' names no column of the dataset; its columns are \['data'\]"):
        Features.from_model(model, ds, layer="4", engine="ray", labels="kind", progress=False)
    wrong = ray.data.from_numpy(np.zeros((8, 5, SIDE, SIDE), np.float32))  # 5 channels into a 3-channel conv
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(RuntimeError, match="extraction failed on a Ray worker: RuntimeError: .*channels"):
        Features.from_model(model, wrong, layer="4", engine="ray", output=empty, progress=False)
    assert list(empty.iterdir()) == []  # a failed run leaves the user's folder as it found it
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(ImportError, match=r'pip install "nbviz\[ray\]"'):
        Features.from_model(model, x[:4], layer="4", engine="ray", progress=False)


def test_part_files_roll_over_in_row_order(tmp_path):
    batches = [{"embedding": np.full((n, 2), i, np.float32)} for i, n in enumerate([3, 0, 4, 5])]
    assert write_parts(iter(batches), tmp_path, labels=np.arange(12), rows_per_part=6) == 12
    parts = sorted(tmp_path.glob("part-*.parquet"))
    assert [p.name for p in parts] == ["part-00000.parquet", "part-00001.parquet"]
    table = pa.concat_tables([pq.read_table(p) for p in parts])
    np.testing.assert_array_equal(table.column("index").to_numpy(), np.arange(12))
    np.testing.assert_array_equal(table.column("label").to_numpy(), np.arange(12))
    emb = np.stack(table.column("embedding").to_numpy(zero_copy_only=False))
    np.testing.assert_array_equal(emb[:, 0], [0] * 3 + [2] * 4 + [3] * 5)


class FakeRay:
    """What pool_args reads of ``ray``, with a cluster of 16 CPUs and maybe 4 GPUs."""

    data = ray.data

    def __init__(self, gpus: int) -> None:
        self.gpus = gpus

    def cluster_resources(self) -> dict:
        return {"CPU": 16.0, "GPU": float(self.gpus)} if self.gpus else {"CPU": 16.0}


def test_one_gpu_per_actor_when_the_cluster_has_gpus():
    gpu = pool_args(FakeRay(4), None)
    assert gpu["num_gpus"] == 1 and "num_cpus" not in gpu
    assert (gpu["compute"].min_size, gpu["compute"].max_size) == (1, 4)
    cpu = pool_args(FakeRay(0), None)
    assert cpu["num_cpus"] == 1 and "num_gpus" not in cpu and cpu["compute"].max_size == 16
    fixed = pool_args(FakeRay(0), 3)
    assert (fixed["compute"].min_size, fixed["compute"].max_size) == (3, 3)
    with pytest.raises(ValueError, match="actors must be a positive int or None; got 0"):
        pool_args(FakeRay(0), 0)
