import matplotlib
import numpy as np
import pytest

from nbviz.colors import categorical_palette, colormap_lut


def test_lut_matches_matplotlib():
    lut = colormap_lut("viridis")
    assert lut.shape == (256, 4) and lut.dtype == np.uint8
    ref = np.round(matplotlib.colormaps["viridis"](np.linspace(0, 1, 256)) * 255).astype(np.uint8)
    np.testing.assert_array_equal(lut, ref)


def test_unknown_colormap_names_close_ones():
    with pytest.raises(ValueError, match="'viridiss' is not a matplotlib colormap.*viridis"):
        colormap_lut("viridiss")


@pytest.mark.parametrize("k", [1, 4, 10, 15, 20, 37, 300])
def test_palette_distinct(k):
    pal = categorical_palette(k)
    assert pal.shape == (k, 4) and pal.dtype == np.uint8
    assert len({tuple(c) for c in pal}) == k
    assert (pal[:, 3] == 255).all()
