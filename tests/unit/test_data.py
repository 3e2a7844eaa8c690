"""Tests for nbviz.data: Features and as_numpy."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from nbviz.checks import as_numpy
from nbviz.data import Features

RNG = np.random.default_rng(0)


def emb(n: int = 10, d: int = 4) -> np.ndarray:
    return RNG.normal(size=(n, d))


# -- as_numpy ------------------------------------------------------------------------------------------------


def test_as_numpy_passes_arrays_through() -> None:
    x = np.arange(6).reshape(2, 3)
    assert as_numpy(x, "x") is x


def test_as_numpy_detaches_tensors_that_require_grad() -> None:
    t = torch.randn(3, 2, requires_grad=True)
    out = as_numpy(t, "x")
    assert isinstance(out, np.ndarray)
    np.testing.assert_array_equal(out, t.detach().numpy())
    assert t.requires_grad  # the user's tensor is untouched


def test_as_numpy_bfloat16_becomes_float32() -> None:
    t = torch.tensor([1.5, -2.0], dtype=torch.bfloat16)
    out = as_numpy(t, "x")
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [1.5, -2.0])


def test_as_numpy_lists_and_pandas() -> None:
    np.testing.assert_array_equal(as_numpy([[1, 2], [3, 4]], "x"), [[1, 2], [3, 4]])
    np.testing.assert_array_equal(as_numpy([torch.ones(2), torch.zeros(2)], "x"), [[1, 1], [0, 0]])
    np.testing.assert_array_equal(as_numpy(pd.Series([3, 1], index=[7, 8]), "x"), [3, 1])


def test_as_numpy_ragged_list_names_first_differing_item() -> None:
    with pytest.raises(ValueError, match=re.escape("x[2] has shape (3,) but x[0] has shape (2,)")):
        as_numpy([[1, 2], [3, 4], [5, 6, 7]], "x")
    with pytest.raises(ValueError, match=re.escape("x[1] has shape (3,)")):
        as_numpy([torch.ones(2), torch.ones(3)], "x")


@pytest.mark.parametrize("bad", [None, "abc", {"a": 1}, object()])
def test_as_numpy_rejects_non_arrays(bad: object) -> None:
    with pytest.raises(TypeError, match=rf"values must be .*; got {type(bad).__name__}"):
        as_numpy(bad, "values")


# -- embeddings ----------------------------------------------------------------------------------------------


def test_embeddings_stored_float32_c_contiguous() -> None:
    x = np.asfortranarray(emb(6, 3))
    f = Features(x)
    assert f.embeddings.dtype == np.float32
    assert f.embeddings.flags["C_CONTIGUOUS"]
    np.testing.assert_allclose(f.embeddings, x.astype(np.float32))
    assert (len(f), f.n, f.dim) == (6, 6, 3)


@pytest.mark.parametrize("dtype", [np.int64, np.uint8, np.float16, np.bool_])
def test_embeddings_any_real_dtype(dtype: type) -> None:
    x = (RNG.integers(0, 2, size=(5, 2))).astype(dtype)
    f = Features(x)
    np.testing.assert_array_equal(f.embeddings, x.astype(np.float32))


def test_embeddings_from_tensor_that_requires_grad() -> None:
    t = torch.randn(7, 5, dtype=torch.float64, requires_grad=True)
    f = Features(t)
    assert f.embeddings.dtype == np.float32 and f.embeddings.shape == (7, 5)
    np.testing.assert_allclose(f.embeddings, t.detach().numpy().astype(np.float32))


def test_embeddings_from_non_contiguous_tensor_and_list() -> None:
    t = torch.arange(12.0).reshape(3, 4).T  # (4, 3), not contiguous
    np.testing.assert_array_equal(Features(t).embeddings, t.numpy())
    np.testing.assert_array_equal(Features([[1, 2], [3, 4]]).embeddings, [[1, 2], [3, 4]])


def test_embeddings_1d_is_an_error_that_says_reshape() -> None:
    with pytest.raises(ValueError, match=r"embeddings must be 2-D .*got 1-D shape \(5,\).*reshape"):
        Features(np.ones(5))


def test_embeddings_rank_3_is_an_error() -> None:
    with pytest.raises(ValueError, match=re.escape("embeddings must be 2-D (N, D); got 3-D shape (2, 3, 4)")):
        Features(np.ones((2, 3, 4)))


@pytest.mark.parametrize("shape", [(0, 3), (3, 0)])
def test_embeddings_empty_is_an_error(shape: tuple[int, int]) -> None:
    with pytest.raises(ValueError, match=re.escape(f"at least 1 row and 1 column; got shape {shape}")):
        Features(np.ones(shape))


@pytest.mark.parametrize(
    ("bad", "expected"),
    [
        (np.ones((2, 2), dtype=np.complex64), "dtype complex64"),
        (np.array([["a", "b"]]), "dtype <U1"),
        (None, "got NoneType"),
        ("abc", "got str"),
    ],
)
def test_embeddings_wrong_type_or_dtype(bad: object, expected: str) -> None:
    with pytest.raises(TypeError, match=rf"embeddings .*{re.escape(expected)}"):
        Features(bad)


def test_embeddings_nan_rows_are_listed() -> None:
    x = emb(100, 3)
    x[4, 0] = np.nan
    x[17, 2] = np.inf
    x[90, 1] = -np.inf
    with pytest.raises(ValueError) as err:
        Features(x)
    assert str(err.value) == (
        "embeddings has 3 rows with NaN or inf values (rows 4, 17, 90); drop or impute them"
    )


def test_embeddings_many_nan_rows_list_first_ten_and_count() -> None:
    x = emb(50, 2)
    x[5:30, 1] = np.nan
    with pytest.raises(
        ValueError,
        match=re.escape(
            "25 rows with NaN or inf values (rows 5, 6, 7, 8, 9, 10, 11, 12, 13, 14 and 15 more)"
        ),
    ):  # noqa: E501
        Features(x)


def test_embeddings_nan_in_tensor() -> None:
    t = torch.zeros(4, 2)
    t[2, 1] = float("nan")
    with pytest.raises(ValueError, match=re.escape("1 row with NaN or inf values (row 2)")):
        Features(t)


def test_embeddings_float64_beyond_float32_range() -> None:
    x = emb(5, 2)
    x[3, 0] = 1e300
    with pytest.raises(ValueError, match=r"\(row 3\); .*beyond the float32 range"):
        Features(x)


# -- labels --------------------------------------------------------------------------------------------------


def test_int_labels_codes_and_names_match_np_unique() -> None:
    labels = RNG.choice([3, 10, 2, 7], size=40)
    f = Features(emb(40), labels=labels)
    uniques, inverse = np.unique(labels, return_inverse=True)
    np.testing.assert_array_equal(f.label_codes, inverse)
    assert f.label_names == [str(u) for u in uniques] == ["2", "3", "7", "10"]  # numeric, not text, order
    assert f.label_codes.dtype == np.uint8
    np.testing.assert_array_equal(f.labels, labels)


def test_string_labels_from_list() -> None:
    labels = ["dog", "cat", "bird", "cat", "dog", "dog"]
    f = Features(emb(6), labels=labels)
    uniques, inverse = np.unique(labels, return_inverse=True)
    assert f.label_names == list(uniques) == ["bird", "cat", "dog"]
    np.testing.assert_array_equal(f.label_codes, inverse)
    assert f.labels.tolist() == labels


def test_labels_from_tensor_and_series() -> None:
    t = torch.tensor([1, 0, 1, 2])
    f = Features(emb(4), labels=t)
    np.testing.assert_array_equal(f.label_codes, [1, 0, 1, 2])
    s = pd.Series(["b", "a", "b", "c"], index=[10, 11, 12, 13])
    g = Features(emb(4), labels=s)
    assert g.labels.tolist() == ["b", "a", "b", "c"]
    np.testing.assert_array_equal(g.label_codes, [1, 0, 1, 2])
    cat = pd.Series(pd.Categorical(["x", "y", "x", "x"]))
    assert Features(emb(4), labels=cat).label_names == ["x", "y"]


def test_mixed_labels_keep_their_values() -> None:
    f = Features(emb(5), labels=[10, "a", 2, "a", 10])
    assert f.labels.tolist() == [10, "a", 2, "a", 10]  # numpy would have made these all strings
    assert f.label_names == ["2", "10", "a"]
    np.testing.assert_array_equal(f.label_codes, [1, 2, 0, 2, 1])


def test_tuple_labels_are_hashable_labels() -> None:
    f = Features(emb(3), labels=[(0, 1), (1, 0), (0, 1)])
    assert f.label_names == ["(0, 1)", "(1, 0)"]
    np.testing.assert_array_equal(f.label_codes, [0, 1, 0])


@pytest.mark.parametrize(("k", "dtype"), [(256, np.uint8), (257, np.uint16), (65537, np.int32)])
def test_label_code_dtype_grows_with_classes(k: int, dtype: type) -> None:
    labels = np.arange(k)
    f = Features(np.zeros((k, 1)), labels=labels)
    assert f.label_codes.dtype == dtype
    np.testing.assert_array_equal(f.label_codes, labels)


def test_labels_length_mismatch() -> None:
    with pytest.raises(ValueError) as err:
        Features(emb(100), labels=np.zeros(99, dtype=int))
    assert str(err.value) == "labels has 99 entries but embeddings has 100 rows"


def test_labels_wrong_type() -> None:
    with pytest.raises(TypeError, match="labels must be .*; got dict"):
        Features(emb(3), labels={0: 1})
    with pytest.raises(TypeError, match="labels must be .*; got str"):
        Features(emb(3), labels="abc")


def test_labels_2d_and_missing_and_unhashable() -> None:
    with pytest.raises(
        ValueError, match=re.escape("labels must be 1-D with one label per row; got shape (4, 1)")
    ):
        Features(emb(4), labels=np.zeros((4, 1)))
    with pytest.raises(ValueError, match=re.escape("labels has 2 missing values (None or NaN) at rows 1, 3")):
        Features(emb(4), labels=["a", None, "b", np.nan])
    with pytest.raises(TypeError, match=re.escape("labels[1] is a list")):
        Features(emb(3), labels=pd.Series([1, [2], 3]))


def test_class_names_name_integer_labels() -> None:
    names = ["zero", "one", "two", "three"]
    f = Features(emb(5), labels=[2, 0, 2, 1, 0], class_names=names)
    assert f.label_names == names  # "three" is kept though absent
    np.testing.assert_array_equal(f.label_codes, [2, 0, 2, 1, 0])
    np.testing.assert_array_equal(f.labels, [2, 0, 2, 1, 0])


def test_class_names_bound_is_in_the_error() -> None:
    with pytest.raises(
        ValueError,
        match=r"labels must be integers in 0\.\.2 to index class_names \(3 names\); "
        r"found 5 at row 1",
    ):
        Features(emb(4), labels=[0, 5, 1, -1], class_names=["a", "b", "c"])


def test_class_names_need_integer_labels() -> None:
    with pytest.raises(TypeError, match="labels must be integers indexing class_names.*got dtype <U1"):
        Features(emb(2), labels=["a", "b"], class_names=["a", "b"])
    with pytest.raises(TypeError, match="got dtype float64"):
        Features(emb(2), labels=np.array([0.0, 1.0]), class_names=["a", "b"])


def test_class_names_checks() -> None:
    with pytest.raises(ValueError, match="class_names was given without labels"):
        Features(emb(2), class_names=["a"])
    with pytest.raises(TypeError, match="class_names must be a list .*; got str"):
        Features(emb(2), labels=[0, 0], class_names="ab")
    with pytest.raises(ValueError, match=re.escape("class_names[2] repeats 'a' (class_names[0])")):
        Features(emb(2), labels=[0, 0], class_names=["a", "b", "a"])


# -- images: arrays and tensors ------------------------------------------------------------------------------


def test_uint8_grey_images_kept() -> None:
    imgs = RNG.integers(0, 256, size=(6, 5, 7), dtype=np.uint8)
    f = Features(emb(6), images=imgs)
    assert f.n_images == 6
    np.testing.assert_array_equal(f.image(2), imgs[2])
    np.testing.assert_array_equal(f.image(-1), imgs[5])
    assert f.image(0).dtype == np.uint8


@pytest.mark.parametrize("c", [1, 3, 4])
def test_uint8_channels_last(c: int) -> None:
    imgs = RNG.integers(0, 256, size=(4, 5, 6, c), dtype=np.uint8)
    f = Features(emb(4), images=imgs)
    expected = imgs[..., 0] if c == 1 else imgs
    np.testing.assert_array_equal(f.images_uint8([3, 1]), expected[[3, 1]])


def test_float_images_in_unit_range_become_uint8() -> None:
    imgs = RNG.random(size=(3, 4, 4, 3))
    imgs[0, 0, 0] = [0.0, 1.0, 0.5]
    f = Features(emb(3), images=imgs)
    np.testing.assert_array_equal(f.images_uint8([0, 1, 2]), np.rint(imgs * 255).astype(np.uint8))
    np.testing.assert_array_equal(f.image(0)[0, 0], [0, 255, 128])


def test_float_images_out_of_range_names_min_and_max() -> None:
    imgs = np.full((3, 2, 2), 0.5)
    imgs[1, 0, 0] = -0.25
    imgs[2, 1, 1] = 3.5
    with pytest.raises(
        ValueError, match=re.escape("must hold values in [0, 1]; found min -0.25 and max 3.5")
    ):
        Features(emb(3), images=imgs)


def test_float_images_with_nan() -> None:
    imgs = np.zeros((3, 2, 2))
    imgs[1, 0, 0] = np.nan
    with pytest.raises(ValueError, match=re.escape("images has NaN or inf values in 1 image (image 1)")):
        Features(emb(3), images=imgs)


def test_int_images_in_0_255_accepted_outside_rejected() -> None:
    imgs = RNG.integers(0, 256, size=(3, 4, 4)).astype(np.int64)
    np.testing.assert_array_equal(Features(emb(3), images=imgs).image(1), imgs[1].astype(np.uint8))
    imgs[2, 0, 0] = 300
    imgs[0, 1, 1] = -7
    with pytest.raises(
        ValueError, match=re.escape("dtype int64 must hold values in 0..255; found min -7 and max 300")
    ):
        Features(emb(3), images=imgs)


@pytest.mark.parametrize(
    ("imgs", "expected"),
    [
        (np.zeros((3, 2, 2), dtype=np.complex64), "got dtype complex64"),
        (np.empty((3, 2, 2), dtype=object), "got dtype object"),
        (np.zeros((3, 2, 2), dtype=bool), "got dtype bool"),
    ],
)
def test_unsupported_image_dtypes(imgs: np.ndarray, expected: str) -> None:
    with pytest.raises(TypeError, match=rf"images must be uint8, .*{expected}"):
        Features(emb(3), images=imgs)


def test_image_shape_errors() -> None:
    with pytest.raises(ValueError, match=re.escape("images must be (N, H, W), (N, H, W, C) or (N, C, H, W)")):
        Features(emb(3), images=np.zeros((3, 4), dtype=np.uint8))
    with pytest.raises(ValueError, match=re.escape("got shape (3, 5, 5, 5), which has no channel axis")):
        Features(emb(3), images=np.zeros((3, 5, 5, 5), dtype=np.uint8))


def test_images_length_mismatch() -> None:
    with pytest.raises(ValueError) as err:
        Features(emb(10), images=np.zeros((9, 2, 2), dtype=np.uint8))
    assert str(err.value) == "images has 9 entries but embeddings has 10 rows"


def test_torch_channels_first_converted_elementwise() -> None:
    torch.manual_seed(0)
    t = torch.rand(5, 3, 6, 7, requires_grad=True)
    f = Features(emb(5), images=t)
    manual = np.rint(t.detach().numpy().transpose(0, 2, 3, 1) * 255).astype(np.uint8)
    assert f.image(0).shape == (6, 7, 3)
    np.testing.assert_array_equal(f.images_uint8(np.arange(5)), manual)
    assert t.requires_grad and t.shape == (5, 3, 6, 7)  # the user's tensor is untouched


def test_torch_channels_first_uint8_checked_pixel_by_pixel() -> None:
    t = torch.randint(0, 256, (3, 3, 4, 5), dtype=torch.uint8)
    f = Features(emb(3), images=t)
    for i in range(3):
        img = f.image(i)
        assert img.shape == (4, 5, 3)
        for y in range(4):
            for x in range(5):
                for c in range(3):
                    assert img[y, x, c] == int(t[i, c, y, x])


def test_torch_uint8_rgba_and_grey_channels_first() -> None:
    t = torch.randint(0, 256, (2, 4, 3, 5), dtype=torch.uint8)
    np.testing.assert_array_equal(Features(emb(2), images=t).image(1), t[1].permute(1, 2, 0).numpy())
    g = torch.randint(0, 256, (2, 1, 3, 5), dtype=torch.uint8)
    np.testing.assert_array_equal(Features(emb(2), images=g).image(0), g[0, 0].numpy())


def test_torch_channels_last_when_dim1_is_not_a_channel_count() -> None:
    t = torch.randint(0, 256, (2, 8, 6, 3), dtype=torch.uint8)
    f = Features(emb(2), images=t)
    np.testing.assert_array_equal(f.image(1), t[1].numpy())


def test_numpy_channels_first_transposed_when_last_axis_cannot_be_channels() -> None:
    imgs = RNG.integers(0, 256, size=(2, 3, 8, 8), dtype=np.uint8)
    f = Features(emb(2), images=imgs)
    np.testing.assert_array_equal(f.images_uint8([0, 1]), imgs.transpose(0, 2, 3, 1))


def test_normalised_tensor_images_error_names_range() -> None:
    t = torch.linspace(-2, 2, 2 * 3 * 4 * 4).reshape(2, 3, 4, 4)
    with pytest.raises(ValueError, match=r"found min -2 and max 2; undo any mean/std normalisation"):
        Features(emb(2), images=t)


def test_list_of_arrays_and_tensors() -> None:
    arrs = [RNG.integers(0, 256, size=(4, 5, 3), dtype=np.uint8) for _ in range(3)]
    f = Features(emb(3), images=arrs)
    np.testing.assert_array_equal(f.images_uint8([2, 0]), np.stack([arrs[2], arrs[0]]))
    tensors = [torch.rand(3, 4, 5) for _ in range(3)]  # (C, H, W), as torchvision gives them
    g = Features(emb(3), images=tensors)
    np.testing.assert_array_equal(
        g.image(1), np.rint(tensors[1].permute(1, 2, 0).numpy() * 255).astype(np.uint8)
    )


def test_list_of_mixed_shapes_names_first_differing_index() -> None:
    arrs = [np.zeros((4, 4), np.uint8)] * 3 + [np.zeros((4, 5), np.uint8), np.zeros((2, 2), np.uint8)]
    with pytest.raises(
        ValueError, match=re.escape("images[3] has shape (4, 5) but images[0] has shape (4, 4)")
    ):
        Features(emb(5), images=arrs)


def test_images_wrong_type() -> None:
    with pytest.raises(TypeError, match="images must be .*; got dict"):
        Features(emb(2), images={"a": 1})
    with pytest.raises(TypeError, match=re.escape("images[1] is a int")):
        Features(emb(2), images=[np.zeros((2, 2)), 3])


def test_image_access_errors() -> None:
    with pytest.raises(ValueError, match="has no images"):
        Features(emb(2)).image(0)
    assert Features(emb(2)).n_images == 0
    f = Features(emb(2), images=np.zeros((2, 3, 3), np.uint8))
    with pytest.raises(IndexError, match=re.escape("i must be in -2..1; got 2")):
        f.image(2)
    with pytest.raises(IndexError, match=re.escape("indices must be in -2..1; indices[1] is 5")):
        f.images_uint8([0, 5])


# -- images: lazy file paths ---------------------------------------------------------------------------------


@pytest.fixture
def png_files(tmp_path: Path) -> tuple[list[Path], list[np.ndarray]]:
    rng = np.random.default_rng(1)
    arrays = [
        rng.integers(0, 256, size=(5, 6, 3), dtype=np.uint8),
        rng.integers(0, 256, size=(7, 4), dtype=np.uint8),
        rng.integers(0, 256, size=(3, 3, 4), dtype=np.uint8),
    ]
    paths = []
    for i, arr in enumerate(arrays):
        path = tmp_path / f"img{i}.png"
        Image.fromarray(arr).save(path)
        paths.append(path)
    return paths, arrays


def test_path_images_read_pixel_equal(png_files: tuple[list[Path], list[np.ndarray]]) -> None:
    paths, arrays = png_files
    f = Features(emb(3), images=[str(paths[0]), paths[1], paths[2]])
    assert f.n_images == 3
    assert f.image_paths == paths
    for i, arr in enumerate(arrays):
        np.testing.assert_array_equal(f.image(i), arr)
        assert f.image(i).dtype == np.uint8
    got = f.images_uint8([2, 0])
    assert isinstance(got, list)
    np.testing.assert_array_equal(got[0], arrays[2])
    np.testing.assert_array_equal(got[1], arrays[0])


def test_path_images_are_not_read_at_construction(
    png_files: tuple[list[Path], list[np.ndarray]], monkeypatch: pytest.MonkeyPatch
) -> None:
    paths, arrays = png_files

    def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError("an image was read at construction")

    monkeypatch.setattr(Image, "open", fail)
    f = Features(emb(3), images=paths)
    monkeypatch.undo()
    np.testing.assert_array_equal(f.image(1), arrays[1])


def test_path_images_from_series(png_files: tuple[list[Path], list[np.ndarray]]) -> None:
    paths, arrays = png_files
    f = Features(emb(3), images=pd.Series([str(p) for p in paths], index=[5, 6, 7]))
    np.testing.assert_array_equal(f.image(0), arrays[0])


def test_missing_paths_are_listed(png_files: tuple[list[Path], list[np.ndarray]], tmp_path: Path) -> None:
    paths, _ = png_files
    missing = [tmp_path / "nope.png", tmp_path / "gone.jpg"]
    with pytest.raises(FileNotFoundError) as err:
        Features(emb(4), images=[paths[0], missing[0], paths[1], missing[1]])
    msg = str(err.value)
    assert "images has 2 missing files" in msg
    assert f"images[1] {str(missing[0])!r}" in msg and f"images[3] {str(missing[1])!r}" in msg


def test_paths_length_mismatch_and_mixed_list(png_files: tuple[list[Path], list[np.ndarray]]) -> None:
    paths, _ = png_files
    with pytest.raises(ValueError, match="images has 3 entries but embeddings has 4 rows"):
        Features(emb(4), images=paths)
    with pytest.raises(TypeError, match=re.escape("images[1] is a ndarray but images[0] is a path")):
        Features(emb(2), images=[paths[0], np.zeros((2, 2))])
    with pytest.raises(TypeError, match="wrap file paths in a list"):
        Features(emb(1), images=paths[0])


def test_unreadable_file_error_names_index(tmp_path: Path) -> None:
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not a png")
    f = Features(emb(1), images=[bad])  # exists, so construction succeeds
    with pytest.raises(ValueError, match=re.escape("could not read images[0]")):
        f.image(0)


# -- metadata ------------------------------------------------------------------------------------------------


def test_metadata_from_dict_of_columns() -> None:
    meta = {
        "name": ["a", "b", "c"],
        "score": np.array([0.1, 0.2, 0.3]),
        "epoch": torch.tensor([1, 2, 3]),
        "split": pd.Series(["x", "y", "z"], index=[9, 8, 7]),  # its index must not re-align the rows
    }
    f = Features(emb(3), metadata=meta)
    assert isinstance(f.metadata, pd.DataFrame)
    assert list(f.metadata.columns) == ["name", "score", "epoch", "split"]
    assert isinstance(f.metadata.index, pd.RangeIndex) and list(f.metadata.index) == [0, 1, 2]
    assert f.metadata["split"].tolist() == ["x", "y", "z"]
    assert f.metadata["epoch"].tolist() == [1, 2, 3]


def test_metadata_from_dataframe_gets_fresh_index() -> None:
    df = pd.DataFrame({"a": [1, 2, 3], "b": list("xyz")}, index=[10, 20, 30])
    f = Features(emb(3), metadata=df)
    assert isinstance(f.metadata.index, pd.RangeIndex) and list(f.metadata.index) == [0, 1, 2]
    pd.testing.assert_frame_equal(f.metadata, df.reset_index(drop=True))
    assert list(df.index) == [10, 20, 30]  # the user's frame is untouched


def test_metadata_length_mismatch_names_column() -> None:
    with pytest.raises(ValueError) as err:
        Features(emb(100), metadata={"ok": list(range(100)), "age": list(range(99))})
    assert str(err.value) == "metadata column 'age' has 99 entries but embeddings has 100 rows"
    with pytest.raises(ValueError, match="metadata has 4 rows but embeddings has 3 rows"):
        Features(emb(3), metadata=pd.DataFrame({"a": range(4)}))


def test_metadata_wrong_types() -> None:
    with pytest.raises(TypeError, match="metadata must be a pandas DataFrame or a dict of columns; got list"):
        Features(emb(2), metadata=[1, 2])
    with pytest.raises(TypeError, match="metadata column 'k' must be .*; got int"):
        Features(emb(2), metadata={"k": 5})
    with pytest.raises(ValueError, match=re.escape("metadata column 'k' must be 1-D with one value per row")):
        Features(emb(2), metadata={"k": np.zeros((2, 2))})


# -- subset, repr --------------------------------------------------------------------------------------------


def full_features(n: int = 8) -> Features:
    return Features(
        np.arange(n * 2, dtype=np.float64).reshape(n, 2),
        labels=[f"c{i % 3}" for i in range(n)],
        images=np.arange(n, dtype=np.uint8)[:, None, None] * np.ones((1, 2, 2), np.uint8),
        metadata={"i": list(range(n))},
    )


def test_subset_keeps_everything_aligned() -> None:
    f = full_features()
    idx = [6, 1, 1, 4]
    s = f.subset(idx)
    assert s.n == 4 and s.dim == 2
    np.testing.assert_array_equal(s.embeddings, f.embeddings[idx])
    assert s.labels.tolist() == [f.labels[i] for i in idx]
    np.testing.assert_array_equal(s.label_codes, f.label_codes[idx])
    assert s.label_names == f.label_names
    for k, i in enumerate(idx):
        np.testing.assert_array_equal(s.image(k), f.image(i))
    assert s.metadata["i"].tolist() == idx
    assert list(s.metadata.index) == [0, 1, 2, 3]
    assert f.n == 8  # the original is unchanged


def test_subset_keeps_label_names_of_absent_classes() -> None:
    s = full_features().subset([0, 3])  # only "c0"
    assert s.label_names == ["c0", "c1", "c2"]
    np.testing.assert_array_equal(s.label_codes, [0, 0])


def test_subset_with_mask_tensor_and_paths(png_files: tuple[list[Path], list[np.ndarray]]) -> None:
    f = full_features()
    mask = np.zeros(8, dtype=bool)
    mask[[2, 5]] = True
    np.testing.assert_array_equal(f.subset(mask).metadata["i"], [2, 5])
    np.testing.assert_array_equal(f.subset(torch.tensor([7, 0])).metadata["i"], [7, 0])
    paths, arrays = png_files
    g = Features(emb(3), images=paths).subset([2, 1])
    assert g.image_paths == [paths[2], paths[1]]
    np.testing.assert_array_equal(g.image(0), arrays[2])


def test_subset_errors() -> None:
    f = full_features()
    with pytest.raises(IndexError, match=re.escape("indices must be in -8..7; indices[1] is 8")):
        f.subset([0, 8])
    with pytest.raises(ValueError, match="selects no rows"):
        f.subset([])
    with pytest.raises(ValueError, match="boolean mask of length 3 but embeddings has 8 rows"):
        f.subset(np.ones(3, dtype=bool))
    with pytest.raises(TypeError, match="indices must hold integer row indices; got dtype float64"):
        f.subset([0.5])


def test_repr_is_short_and_informative() -> None:
    r = repr(full_features())
    assert r == "Features(n=8, dim=2, labels=3 classes, images=2x2 uint8, metadata=[i])"
    assert repr(Features(emb(3, 5))) == "Features(n=3, dim=5)"


def test_attributes_are_read_only() -> None:
    f = full_features()
    with pytest.raises(AttributeError):
        f.labels = None  # type: ignore[misc]


# -- scikit-learn digits -------------------------------------------------------------------------------------


def test_load_digits_float_and_uint8_images() -> None:
    datasets = pytest.importorskip("sklearn.datasets")
    d = datasets.load_digits()
    f = Features(d.data, labels=d.target, images=d.images / 16.0)
    assert (f.n, f.dim, f.n_images) == (1797, 64, 1797)
    assert f.label_names == [str(i) for i in range(10)]
    np.testing.assert_array_equal(f.label_codes, d.target)
    np.testing.assert_array_equal(f.image(5), np.rint(d.images[5] / 16.0 * 255).astype(np.uint8))
    g = Features(d.data, labels=d.target, images=(d.images * 16).astype("uint8"))
    np.testing.assert_array_equal(g.image(5), (d.images[5] * 16).astype(np.uint8))
    assert g.subset(np.flatnonzero(d.target == 3)).label_codes.tolist() == [3] * int((d.target == 3).sum())
