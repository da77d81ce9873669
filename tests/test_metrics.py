"""Squared error, MSE and PSNR: exact, and without copies of the image."""

import tracemalloc

import numpy as np
import pytest

from kmeans_core import metrics


def test_uint8_sums_are_exact_integers():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (123, 77, 4), dtype=np.uint8)
    b = rng.integers(0, 256, (123, 77, 4), dtype=np.uint8)
    exact = int(((a.astype(np.int64) - b) ** 2).sum())
    assert metrics.squared_error(a, b) == float(exact)
    assert metrics.mse(a, b) == exact / a.size
    assert metrics.psnr(a, b) == pytest.approx(10 * np.log10(255**2 * a.size / exact))
    assert metrics.psnr(a, a) == float("inf")
    # Float inputs: compared as float64, the same figures.
    assert metrics.squared_error(a.astype(np.float32), b) == float(exact)


def test_no_copy_of_the_image_is_made():
    # 4 megapixels RGBA: 16 MB as uint8, 128 MB as an int64 difference.
    a = np.zeros((2000, 2000, 4), np.uint8)
    b = np.full_like(a, 3)
    tracemalloc.start()
    try:
        assert metrics.squared_error(a, b) == 9.0 * a.size
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < a.nbytes / 16, peak  # a few slices of 32,768 values


def test_psnr_from_squared_error_is_psnr_from_mse():
    assert metrics.psnr_from_squared_error(0, 10) == float("inf")
    assert metrics.psnr_from_squared_error(650.25 * 12, 12) == pytest.approx(
        metrics.psnr_from_mse(650.25)) == pytest.approx(20.0)


def test_shapes_must_match():
    with pytest.raises(ValueError, match="shape"):
        metrics.mse(np.zeros((2, 2)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="empty"):
        metrics.squared_error(np.zeros((0, 3)), np.zeros((0, 3)))
