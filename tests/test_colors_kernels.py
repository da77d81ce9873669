"""Counting distinct colours: the numba kernels give exactly ``np.unique``."""

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from kmeans_core._kernels_colors import radix_argsort, unique_codes_hash, unique_rgb
from kmeans_core._palette import pack_colors
from kmeans_core.reference.colors import unique_codes as unique_codes_reference


def gradient(height=64, width=96, n_channels=3):
    x = np.linspace(0, 255, width)
    y = np.linspace(40, 200, height)
    image = np.empty((height, width, n_channels))
    image[..., 0] = x[None, :]
    image[..., 1] = 0.5 * x[None, :] + 0.3 * y[:, None]
    image[..., 2] = y[:, None]
    if n_channels == 4:
        image[..., 3] = np.where(x[None, :] > 128, 255, y[:, None])
    return np.rint(image).astype(np.uint8)


def rgb_inputs():
    rng = np.random.default_rng(0)
    from sklearn.datasets import load_sample_image

    return {
        "random RGB": rng.integers(0, 1 << 24, 50_000).astype(np.uint32),
        "few colours": rng.integers(0, 7, 10_000).astype(np.uint32) * 1234567,
        "gradient": pack_colors(gradient()),
        "china.jpg": pack_colors(load_sample_image("china.jpg")),
        "extremes": np.array([0, (1 << 24) - 1, 63, 64, 0, 65, (1 << 24) - 1],
                             dtype=np.uint32),
        "one pixel": np.array([123456], dtype=np.uint32),
        "one colour": np.full(5000, 0x808080, dtype=np.uint32),
    }


def rgba_inputs():
    rng = np.random.default_rng(1)
    noisy = gradient(n_channels=4)
    noisy[..., 3] = rng.integers(0, 256, noisy.shape[:2])
    return {
        "random 32-bit": rng.integers(0, 1 << 32, 60_000, dtype=np.uint32),
        "RGBA gradient": pack_colors(gradient(n_channels=4)),
        "RGBA noisy alpha": pack_colors(noisy),
        "extremes": np.array([0xFFFFFFFF, 0, 0x80000000, 0xFFFFFFFF, 1], dtype=np.uint32),
        "one pixel": np.array([0xDEADBEEF], dtype=np.uint32),
        "one colour": np.full(3000, 0xFF00FF80, dtype=np.uint32),
        # More distinct colours than the first hash table holds: it grows.
        "all distinct": np.random.default_rng(2).permutation(1 << 16).astype(np.uint32)
        * np.uint32(65537),
    }


def check(kernel, codes, *args):
    codes_copy = codes.copy()
    inverse = np.full(len(codes), -7, dtype=np.int32)
    unique, counts = kernel(codes, inverse, *args)
    expected_unique, expected_counts, expected_inverse = unique_codes_reference(codes)
    assert unique.dtype == np.uint32 and counts.dtype == np.int64
    assert_array_equal(unique, expected_unique)
    assert_array_equal(counts, expected_counts)
    assert_array_equal(inverse, expected_inverse)
    assert_array_equal(codes, codes_copy)


def unpack_rgb(codes):
    """RGB codes back to (n, 3) uint8 pixels."""
    shifts = np.array([16, 8, 0], dtype=np.uint32)
    return ((codes[:, None] >> shifts) & np.uint32(0xFF)).astype(np.uint8)


@pytest.mark.parametrize("name", list(rgb_inputs()))
def test_rgb_bitmap_and_hash_equal_np_unique(name):
    codes = rgb_inputs()[name]
    check(unique_codes_hash, codes)
    pixels = unpack_rgb(codes)
    pixels_copy = pixels.copy()
    inverse = np.full(len(codes), -7, dtype=np.int32)
    colors, counts = unique_rgb(pixels, inverse)
    expected_unique, expected_counts, expected_inverse = unique_codes_reference(codes)
    assert colors.dtype == np.uint8 and counts.dtype == np.int64
    assert_array_equal(colors, unpack_rgb(expected_unique))
    assert_array_equal(counts, expected_counts)
    assert_array_equal(inverse, expected_inverse)
    assert_array_equal(pixels, pixels_copy)


@pytest.mark.parametrize("name", list(rgba_inputs()))
def test_32_bit_codes_hash_equals_np_unique(name):
    codes = rgba_inputs()[name]
    check(unique_codes_hash, codes)


def test_rebuilds_the_image():
    image = gradient(n_channels=4)
    codes = pack_colors(image)
    inverse = np.empty(len(codes), dtype=np.int32)
    unique, counts = unique_codes_hash(codes, inverse)
    assert_array_equal(unique[inverse], codes)
    assert counts.sum() == len(codes)
    assert (counts > 0).all()


@pytest.mark.parametrize("keys", [
    np.array([], dtype=np.uint32),
    np.array([3], dtype=np.uint32),
    np.array([5, 5, 1, 5, 0, 1], dtype=np.uint32),
    np.random.default_rng(3).integers(0, 1 << 32, 20_000, dtype=np.uint32),
    np.random.default_rng(4).integers(0, 300, 20_000).astype(np.uint32) << np.uint32(22),
])
def test_radix_argsort_is_a_stable_argsort(keys):
    assert_array_equal(radix_argsort(keys), np.argsort(keys, kind="stable"))
