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


def test_mse_and_psnr_by_hand():
    a = np.array([[[0, 0, 0], [10, 20, 30]]], dtype=np.uint8)
    b = np.array([[[3, 4, 0], [10, 20, 30]]], dtype=np.uint8)
    # Squared errors 9 + 16 = 25 over 6 values.
    assert metrics.mse(a, b) == pytest.approx(25 / 6)
    assert metrics.psnr(a, b) == pytest.approx(10 * np.log10(255**2 * 6 / 25))
    # uint8 must not wrap around: 0 - 255 is -255, not 1.
    assert metrics.mse(np.zeros((1, 1, 3), np.uint8), np.full((1, 1, 3), 255, np.uint8)) == 255**2
    assert metrics.psnr(np.zeros((2, 2, 3), np.uint8), np.full((2, 2, 3), 255, np.uint8)) == 0.0
    # mse = 1 -> 10 log10(65025) = 48.1308 dB
    assert metrics.psnr(np.zeros(4), np.ones(4)) == pytest.approx(48.13080360867910)
    assert metrics.psnr(a, a) == float("inf") and metrics.mse(a, a) == 0.0


def test_mse_rejects_different_shapes():
    with pytest.raises(ValueError, match=r"\(1, 2, 3\).*\(2, 1, 3\)"):
        metrics.mse(np.zeros((1, 2, 3)), np.zeros((2, 1, 3)))
