"""Out-of-core features: Parquet / Arrow / .npy inputs kept mapped, the float32 cache, PCA by row blocks, UMAP and
t-SNE fitted on a sample. References are computed independently, in memory (numpy, scikit-learn)."""

from __future__ import annotations

import os
import time
import tracemalloc

import numpy as np
import pytest

from nbviz import Features, blockwise
from nbviz.blockwise import is_mapped
from nbviz.kernels import projection_scale
from nbviz.kernels.projection import check_projection, pca, project
from nbviz.kernels.projection_scale import pca_blocks, sampling_note

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
feather = pytest.importorskip("pyarrow.feather")


def data(n=500, d=12, seed=0):
    rng = np.random.default_rng(seed)
    # Anisotropic with a large offset: a naive single-pass covariance would lose digits to cancellation.
    return (rng.normal(size=(n, d)) * np.linspace(3, 0.1, d) + 1000.0).astype(np.float32)


def fixed(x):
    return pa.FixedSizeListArray.from_arrays(pa.array(x.reshape(-1)), x.shape[1])


def table(x, **cols):
    names = [f"item {i}" for i in range(len(x))]
    return pa.table({"embedding": fixed(x), "label": np.arange(len(x)) % 4, "name": names, **cols})


@pytest.fixture
def cache(tmp_path):
    return tmp_path / "cache"


# -- Parquet ---------------------------------------------------------------------------------------------------


def test_parquet_values_labels_metadata_equal_the_table(tmp_path, cache):
    x = data()
    pq.write_table(table(x), tmp_path / "f.parquet", row_group_size=64)  # several row groups and batches
    f = Features.from_parquet(tmp_path / "f.parquet", labels="label", columns=["name"], cache_dir=cache,
                              progress=False)
    np.testing.assert_array_equal(f.embeddings, x)
    np.testing.assert_array_equal(f.labels, np.arange(len(x)) % 4)
    assert f.metadata["name"].tolist() == [f"item {i}" for i in range(len(x))]
    assert is_mapped(f.embeddings) and f.embeddings.dtype == np.float32 and f.embeddings.flags.c_contiguous
    assert [p.suffix for p in cache.iterdir()] == [".npy"]


def test_folder_of_parts_is_read_in_sorted_path_order(tmp_path, cache):
    x = data(300)
    folder = tmp_path / "parts"
    (folder / "b").mkdir(parents=True)
    # Written out of order; sorted by path: a-0, a-1, a-10, b/c (string order, as part files are named).
    for name, rows in [("a-10.parquet", slice(200, 250)), ("a-0.parquet", slice(0, 100)),
                       ("b/c.parquet", slice(250, 300)), ("a-1.parquet", slice(100, 200))]:
        pq.write_table(table(x[rows]), folder / name)
    (folder / "_SUCCESS").write_text("")
    pq.write_table(table(data(5, seed=9)), folder / "_metadata.parquet")  # skipped, as Spark/Ray write it
    f = Features.from_parquet(folder, cache_dir=cache, progress=False)
    np.testing.assert_array_equal(f.embeddings, x)


def test_list_and_fixed_size_list_give_the_same_features(tmp_path, cache):
    x = data(200, 5)
    lists = pa.array([list(map(float, r)) for r in x], type=pa.list_(pa.float32()))
    pq.write_table(pa.table({"e": lists}), tmp_path / "list.parquet", row_group_size=50)
    pq.write_table(pa.table({"e": fixed(x.astype(np.float64))}), tmp_path / "fixed64.parquet")
    a = Features.from_parquet(tmp_path / "list.parquet", embedding="e", cache_dir=cache, progress=False)
    b = Features.from_parquet(tmp_path / "fixed64.parquet", embedding="e", cache_dir=cache, progress=False)
    np.testing.assert_array_equal(a.embeddings, x)
    np.testing.assert_array_equal(b.embeddings, x)


def test_ragged_and_null_vectors_are_errors_naming_the_row(tmp_path, cache):
    ragged = pa.array([[1.0, 2.0], [1.0, 2.0], [3.0]], type=pa.list_(pa.float32()))
    pq.write_table(pa.table({"e": ragged}), tmp_path / "r.parquet")
    with pytest.raises(ValueError, match=r"every vector must have D = 2 values; row 2 has 1"):
        Features.from_parquet(tmp_path / "r.parquet", embedding="e", cache_dir=cache, progress=False)
    nulls = pa.array([[1.0, 2.0], None], type=pa.list_(pa.float32(), 2))
    pq.write_table(pa.table({"e": nulls}), tmp_path / "n.parquet")
    with pytest.raises(ValueError, match=r"no vector \(null\) at row 1"):
        Features.from_parquet(tmp_path / "n.parquet", embedding="e", cache_dir=cache, progress=False)


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    ({"embedding": "emb"}, ValueError, r"embedding='emb' is not a column of .*f\.parquet; its columns are "
                                       r"\['embedding', 'label', 'name'\]"),
    ({"labels": "class"}, ValueError, r"labels='class' is not a column"),
    ({"columns": ["name", "size"]}, ValueError, r"columns='size' is not a column"),
    ({"images": "path"}, ValueError, r"images='path' is not a column"),
    ({"columns": ["embedding"]}, ValueError, r"columns lists 'embedding', the embedding column"),
    ({"labels": ["label"]}, TypeError, r"labels must be the name of a column"),
    ({"columns": [1]}, TypeError, r"columns must be a column name or a list of column names"),
    ({"embedding": "name"}, TypeError, r"embedding column 'name' of .* must be fixed_size_list<float32>\[D\]"),
])
def test_bad_names_and_types_name_the_parameter(tmp_path, cache, kwargs, error, message):
    pq.write_table(table(data(10)), tmp_path / "f.parquet")
    with pytest.raises(error, match=message):
        Features.from_parquet(tmp_path / "f.parquet", cache_dir=cache, progress=False, **kwargs)


def test_missing_path_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="path: no Parquet file or folder"):
        Features.from_parquet(tmp_path / "nothing.parquet")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="holds no .parquet files"):
        Features.from_parquet(tmp_path / "empty")


def test_cache_is_reused_and_invalidated_when_the_file_changes(tmp_path, cache):
    path = tmp_path / "f.parquet"
    pq.write_table(table(data(100)), path)
    Features.from_parquet(path, cache_dir=cache, progress=False)
    (first,) = cache.iterdir()
    stamp = first.stat().st_mtime_ns
    time.sleep(0.01)
    again = Features.from_parquet(path, cache_dir=cache, progress=False)
    assert list(cache.iterdir()) == [first] and first.stat().st_mtime_ns == stamp  # read, not rewritten
    np.testing.assert_array_equal(again.embeddings, data(100))
    pq.write_table(table(data(120, seed=1)), path)  # new content: new size and mtime
    changed = Features.from_parquet(path, cache_dir=cache, progress=False)
    np.testing.assert_array_equal(changed.embeddings, data(120, seed=1))
    (second,) = cache.iterdir()  # the stale cache of the same file is gone
    assert second != first
    np.testing.assert_array_equal(again.embeddings, data(100))  # an open mapping of the old one still reads


def test_cache_folder_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("NBVIZ_CACHE_DIR", str(tmp_path / "env-cache"))
    pq.write_table(table(data(10)), tmp_path / "f.parquet")
    Features.from_parquet(tmp_path / "f.parquet", progress=False)
    assert len(list((tmp_path / "env-cache").glob("f-*.npy"))) == 1


# -- Arrow -----------------------------------------------------------------------------------------------------


def test_arrow_table_in_memory_is_viewed_not_copied():
    x = data(50, 4)
    t = table(x)
    f = Features.from_arrow(t, labels="label", columns="name")
    assert np.shares_memory(f.embeddings, t.column("embedding").chunk(0).values.to_numpy())
    np.testing.assert_array_equal(f.embeddings, x)
    assert f.metadata.columns.tolist() == ["name"]
    chunked = pa.concat_tables([table(x[:20]), table(x[20:])])  # two chunks: one copy into one array
    np.testing.assert_array_equal(Features.from_arrow(chunked).embeddings, x)
    np.testing.assert_array_equal(Features.from_arrow(t.to_batches()[0]).embeddings, x)


def test_arrow_file_uncompressed_one_batch_is_mapped_others_are_cached(tmp_path, cache):
    x = data(1000, 8)
    feather.write_feather(table(x), tmp_path / "plain.arrow", compression="uncompressed", chunksize=1000)
    f = Features.from_arrow(tmp_path / "plain.arrow", labels="label", cache_dir=cache, progress=False)
    np.testing.assert_array_equal(f.embeddings, x)
    assert not cache.exists()  # a view of the mapped file, no cache written
    for name, kwargs in [("lz4.arrow", {}), ("batches.arrow", {"compression": "uncompressed", "chunksize": 300})]:
        feather.write_feather(table(x), tmp_path / name, **kwargs)
        g = Features.from_arrow(tmp_path / name, labels="label", columns=["name"], cache_dir=cache, progress=False)
        np.testing.assert_array_equal(g.embeddings, x)
        assert is_mapped(g.embeddings) and g.labels.tolist() == (np.arange(1000) % 4).tolist()
    assert len(list(cache.iterdir())) == 2


def test_arrow_stream_files_are_read_too(tmp_path, cache):
    x = data(200, 4)
    for name, batches in [("one.arrows", [table(x)]), ("two.arrows", [table(x[:150]), table(x[150:])])]:
        with pa.ipc.new_stream(str(tmp_path / name), table(x).schema) as writer:
            for t in batches:
                writer.write_table(t)
        f = Features.from_arrow(tmp_path / name, labels="label", cache_dir=cache, progress=False)
        np.testing.assert_array_equal(f.embeddings, x)
        np.testing.assert_array_equal(f.labels, np.r_[np.arange(150) % 4, np.arange(50) % 4] if "two" in name
                                      else np.arange(200) % 4)
    assert len(list(cache.iterdir())) == 1  # the one-batch stream is viewed in place, the two-batch one cached


def test_arrow_bad_inputs(tmp_path):
    with pytest.raises(TypeError, match="table_or_path must be a pyarrow Table or RecordBatch"):
        Features.from_arrow(np.zeros((3, 2)))
    with pytest.raises(FileNotFoundError, match="table_or_path: no Arrow IPC"):
        Features.from_arrow(tmp_path / "nothing.arrow")
    (tmp_path / "x.arrow").write_bytes(b"not arrow at all")
    with pytest.raises(ValueError, match="is not an Arrow IPC file or stream"):
        Features.from_arrow(tmp_path / "x.arrow")
    with pytest.raises(ValueError, match="embedding='vec' is not a column of the table"):
        Features.from_arrow(table(data(5)), embedding="vec")


# -- .npy and np.memmap ---------------------------------------------------------------------------------------


def test_memmap_and_npy_path_stay_mapped(tmp_path, cache):
    x = data(400, 6)
    np.save(tmp_path / "x.npy", x)
    mm = np.load(tmp_path / "x.npy", mmap_mode="r")
    f = Features(mm)
    assert np.shares_memory(f.embeddings, mm)  # the very pages of the mapping, no copy
    g = Features(tmp_path / "x.npy")
    assert is_mapped(g.embeddings)
    np.testing.assert_array_equal(g.embeddings, x)
    with pytest.raises(TypeError, match="or the path of a .npy file; got str"):
        Features("x.csv")


def test_mapped_float64_is_converted_into_a_mapped_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("NBVIZ_CACHE_DIR", str(tmp_path / "cache"))
    x = data(300, 5).astype(np.float64)
    np.save(tmp_path / "x64.npy", x)
    f = Features(np.load(tmp_path / "x64.npy", mmap_mode="r"))
    assert is_mapped(f.embeddings) and f.embeddings.dtype == np.float32
    np.testing.assert_array_equal(f.embeddings, x.astype(np.float32))


def test_nan_in_a_mapped_array_names_the_rows(tmp_path, monkeypatch):
    monkeypatch.setattr(blockwise, "BLOCK_BYTES", 1024)  # many blocks
    x = data(300, 4)
    x[[7, 250]] = np.nan
    np.save(tmp_path / "x.npy", x)
    with pytest.raises(ValueError, match=r"embeddings has 2 rows with NaN or inf values \(rows 7, 250\)"):
        Features(tmp_path / "x.npy")


# -- PCA by blocks ---------------------------------------------------------------------------------------------


def assert_equal_up_to_sign(a, b, rtol=1e-4):
    signs = np.sign((a * b).sum(axis=0))
    np.testing.assert_allclose(a, b * signs, rtol=rtol, atol=rtol * np.abs(b).max())


def test_pca_blocks_equal_sklearn_up_to_sign(tmp_path, monkeypatch):
    from sklearn.decomposition import PCA

    monkeypatch.setattr(blockwise, "BLOCK_BYTES", 4096)  # dozens of blocks, a short last one
    x = data(1003, 12)
    np.save(tmp_path / "x.npy", x)
    mm = np.load(tmp_path / "x.npy", mmap_mode="r")
    ref = PCA(n_components=3, svd_solver="full").fit_transform(x.astype(np.float64))
    scores, note = pca_blocks(mm, 3)
    assert note == "" and scores.dtype == np.float32 and scores.shape == (1003, 3)
    assert_equal_up_to_sign(scores, ref)
    assert_equal_up_to_sign(pca(mm, 2), ref[:, :2])  # a mapped input takes the blocked path in pca()
    assert_equal_up_to_sign(project(mm, "pca"), ref[:, :2])


def test_pca_beyond_the_covariance_size_fits_a_stated_sample(monkeypatch):
    from sklearn.decomposition import PCA

    monkeypatch.setattr(projection_scale, "COV_MAX_DIM", 8)
    monkeypatch.setattr(projection_scale, "SAMPLE_BYTES", 4 * 20 * 600)  # 600 of the 2000 rows
    rng = np.random.default_rng(3)
    x = (rng.normal(size=(2000, 20)) * np.r_[10.0, 5.0, np.full(18, 0.1)]).astype(np.float32)
    scores, note = pca_blocks(x, 2)
    assert note == "PCA fitted on a random sample of 600 of 2,000 points"
    assert sampling_note("pca", 2000, dim=20) == note
    assert_equal_up_to_sign(scores, PCA(2).fit_transform(x), rtol=0.05)  # two strong axes: the sample finds them


def test_pca_of_a_mapped_input_allocates_a_block_not_the_array(tmp_path, monkeypatch):
    monkeypatch.setattr(blockwise, "BLOCK_BYTES", 1 << 20)
    x = data(100_000, 32)  # 12.8 MB
    np.save(tmp_path / "x.npy", x)
    del x
    mm = np.load(tmp_path / "x.npy", mmap_mode="r")
    tracemalloc.start()
    try:
        f = Features(mm)
        scores = pca(f.embeddings, 2)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert scores.shape == (100_000, 2)
    # The scores (0.8 MB), a 1 MB block and its float64 copy; a whole copy would be 12.8 MB (25.6 MB as float64).
    assert peak < 4 << 20, peak


# -- UMAP / t-SNE on a sample ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def digits():
    from sklearn.datasets import load_digits

    d = load_digits()
    return d.data.astype(np.float32)[:900], d.target[:900]


def knn_label_accuracy(xy, y, fitted):
    """Share of the items outside the fit whose nearest fitted item (in 2-D) has their label."""
    others = np.setdiff1d(np.arange(len(y)), fitted)
    d = ((xy[others, None] - xy[None, fitted]) ** 2).sum(-1)
    return float((y[fitted][d.argmin(1)] == y[others]).mean())


@pytest.mark.parametrize(("method", "params"), [
    ("umap", {"n_neighbors": 10, "n_epochs": 100}),
    ("tsne", {"perplexity": 10, "n_iter": 100, "early_exaggeration_iter": 50}),
])
def test_fit_on_a_sample_places_the_rest_by_transform(digits, method, params, monkeypatch):
    monkeypatch.setattr(projection_scale, "TRANSFORM_BLOCK", 250)  # several transform calls
    x, y = digits
    seen = []
    xy = project(x, method, {**params, "fit_sample": 400}, lambda f, s: seen.append((f, s)))
    assert xy.shape == (900, 2) and np.isfinite(xy).all()
    fitted = projection_scale.sample_rows(900, 400, 0)
    assert knn_label_accuracy(xy, y, fitted) > 0.8  # transformed items land among their own class
    fractions = [f for f, _ in seen]
    assert fractions[0] == 0.0 and fractions[-1] == 1.0 and fractions == sorted(fractions)
    assert any("placing items 250 of 500 by transform" in s for _, s in seen)
    full = check_projection(method, 900, {**params, "fit_sample": 400})
    name = {"umap": "UMAP", "tsne": "t-SNE"}[method]
    assert sampling_note(method, 900, full) == \
        f"{name} fitted on a random sample of 400 of 900 points; the others placed by transform"
    assert sampling_note(method, 900, check_projection(method, 900, params)) == ""  # default 100k: all fitted


def test_fit_sample_is_checked():
    assert check_projection("umap", 10**6)["fit_sample"] == 100_000
    assert check_projection("umap", 100, {"fit_sample": None})["fit_sample"] is None
    with pytest.raises(ValueError, match=r"fit_sample must be None \(fit all items\) or an int >= 17"):
        check_projection("umap", 100, {"fit_sample": 5})
    with pytest.raises(ValueError, match=r"fit_sample must be None .* or an int >= 92"):
        check_projection("tsne", 1000, {"fit_sample": 50.0})
    with pytest.raises(ValueError, match="unknown pca parameter"):
        check_projection("pca", 100, {"fit_sample": 50})


def test_is_mapped_follows_the_base_chain(tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((4, 2), np.float32))
    mm = np.load(tmp_path / "x.npy", mmap_mode="r")
    assert is_mapped(mm) and is_mapped(mm[1:3]) and is_mapped(np.asarray(mm).T)
    assert not is_mapped(np.array(mm)) and not is_mapped(np.zeros(3))
    assert os.path.exists(tmp_path / "x.npy")


def test_principal_components_of_a_mapped_input_equal_the_exact_ones(tmp_path, monkeypatch):
    from nbviz.kernels.components import principal_components

    monkeypatch.setattr(blockwise, "BLOCK_BYTES", 8192)
    x = data(2000, 16)
    np.save(tmp_path / "x.npy", x)
    mm = np.load(tmp_path / "x.npy", mmap_mode="r")
    got = principal_components(mm, 4)  # the covariance path: mapped
    ref = principal_components(x.astype(np.float64) - 1000.0, 4, solver="exact")  # in memory, SVD, shifted
    np.testing.assert_allclose(got.explained_variance_ratio, ref.explained_variance_ratio, rtol=1e-5)
    np.testing.assert_allclose(got.explained_variance, ref.explained_variance, rtol=1e-5)
    assert_equal_up_to_sign(got.components.T, ref.components.T)
    assert_equal_up_to_sign(got.scores, ref.scores)
    np.testing.assert_allclose(got.mean, x.astype(np.float64).mean(0), rtol=1e-6)
    assert_equal_up_to_sign(got.transform(mm), ref.scores)  # transform reads a mapped input in blocks too
    with pytest.raises(ValueError, match="n = 17 is more than|n must be an int from 1 to min"):
        principal_components(mm, 17)


class VectorType(pa.ExtensionType):
    """An extension type over fixed_size_list, as Ray Data writes tensor columns (a list storage)."""

    def __init__(self, d=3):
        super().__init__(pa.list_(pa.float32(), d), "nbviz.test.vector")

    def __arrow_ext_serialize__(self):
        return b""

    @classmethod
    def __arrow_ext_deserialize__(cls, storage_type, serialized):
        return cls(storage_type.list_size)


def test_extension_typed_embedding_columns_are_read_through_their_storage(tmp_path, cache):
    x = data(50, 3)
    pa.register_extension_type(VectorType())
    try:
        column = pa.ExtensionArray.from_storage(VectorType(), fixed(x))
        pq.write_table(pa.table({"embedding": column}), tmp_path / "ext.parquet")
        f = Features.from_parquet(tmp_path / "ext.parquet", cache_dir=cache, progress=False)
        g = Features.from_arrow(pa.table({"embedding": column}))
    finally:
        pa.unregister_extension_type("nbviz.test.vector")
    np.testing.assert_array_equal(f.embeddings, x)
    np.testing.assert_array_equal(g.embeddings, x)
