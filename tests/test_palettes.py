"""Tests of ``kmeans_core.palettes``: colour counts add exactly, the shared
fit is ``quantize``'s objective over all the images, and ``apply_palette``
keeps the palette entry for entry."""

import numpy as np
import pytest

from kmeans_core import (
    ColorCounts,
    apply_palette,
    color_counts,
    fit_palette,
    quantize,
    sum_counts,
)


def _images(n=3, shape=(20, 24), seed=0):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, size=(*shape, 3), dtype=np.uint8) // 16 * 16
            for _ in range(n)]


def _brute_counts(images):
    """{code: count} of all pixels of ``images``, one pixel at a time."""
    totals = {}
    n_channels = max(image.shape[2] for image in images)
    for image in images:
        for pixel in image.reshape(-1, image.shape[2]).tolist():
            if len(pixel) == 4 and pixel[3] == 0:
                pixel = [0, 0, 0, 0]
            if n_channels == 4 and len(pixel) == 3:
                pixel = [*pixel, 255]
            code = 0
            for value in pixel:
                code = code * 256 + value
            totals[code] = totals.get(code, 0) + 1
    return totals


def test_color_counts_of_a_toy_image():
    image = np.array([[[1, 2, 3], [0, 0, 0]], [[1, 2, 3], [1, 2, 3]]], np.uint8)
    counts = color_counts(image)
    assert counts.codes.tolist() == [0, 0x010203]
    assert counts.counts.tolist() == [1, 3]
    assert counts.codes.dtype == np.uint32 and counts.counts.dtype == np.int64
    assert counts.colors().tolist() == [[0, 0, 0], [1, 2, 3]]
    assert counts.n_pixels == 4 and len(counts) == 2


def test_rgba_codes_are_32_bit_and_transparent_pixels_are_zero():
    image = np.array([[[255, 255, 255, 255], [9, 9, 9, 0], [1, 1, 1, 0]]], np.uint8)
    counts = color_counts(image)
    assert counts.n_channels == 4
    assert counts.codes.tolist() == [0, 0xFFFFFFFF]
    assert counts.counts.tolist() == [2, 1]


def test_sums_equal_counts_of_all_pixels_in_any_order_or_grouping():
    images = _images(4)
    images.append(np.dstack([images[0], np.full(images[0].shape[:2], 128, np.uint8)]))
    parts = [color_counts(image) for image in images]
    expected = _brute_counts(images)
    for total in (sum_counts(parts), sum_counts(parts[::-1]),
                  (parts[0] + parts[1]) + (parts[2] + (parts[3] + parts[4]))):
        assert dict(zip(total.codes.tolist(), total.counts.tolist())) == expected
        assert np.all(np.diff(total.codes.astype(np.int64)) > 0)
    assert sum_counts(parts) == sum_counts(parts[::-1])


def test_counts_add_exactly_beyond_float_precision():
    big = ColorCounts(np.array([5], np.uint32), np.array([2**53 + 1], np.int64), 3)
    one = ColorCounts(np.array([5], np.uint32), np.array([1], np.int64), 3)
    assert sum_counts([big, one]).counts.tolist() == [2**53 + 2]


def test_sum_counts_rejects_nothing_and_non_counts():
    with pytest.raises(ValueError, match="at least one"):
        sum_counts([])
    with pytest.raises(TypeError, match="ndarray"):
        sum_counts([np.zeros((2, 2, 3), np.uint8)])


def test_fit_palette_is_quantize_of_all_pixels_together():
    images = _images(3)
    palette, n_iter = fit_palette(images, 8, return_n_iter=True)
    together = quantize(np.concatenate(images, axis=0), 8)
    np.testing.assert_array_equal(palette, together.palette)
    assert n_iter == together.n_iter > 0
    # Counts in, the same palette out; inputs untouched.
    copies = [image.copy() for image in images]
    counts = sum_counts(color_counts(image) for image in images)
    np.testing.assert_array_equal(fit_palette(counts, 8), palette)
    np.testing.assert_array_equal(fit_palette([counts], 8), palette)
    np.testing.assert_array_equal(
        fit_palette([images[0], color_counts(images[1]), images[2]], 8), palette)
    for image, copy in zip(images, copies):
        np.testing.assert_array_equal(image, copy)


def test_fit_palette_oklab_and_few_colours():
    images = _images(2)
    np.testing.assert_array_equal(
        fit_palette(images, 6, color_space="oklab"),
        quantize(np.concatenate(images), 6, color_space="oklab").palette)
    two = [np.zeros((2, 2, 3), np.uint8), np.full((1, 3, 3), 200, np.uint8)]
    palette, n_iter = fit_palette(two, 16, return_n_iter=True)
    assert palette.tolist() == [[0, 0, 0], [200, 200, 200]] and n_iter == 0


def test_fit_palette_errors_name_the_value():
    with pytest.raises(ValueError, match="n_colors"):
        fit_palette(_images(1), 0)
    with pytest.raises(ValueError, match="empty"):
        fit_palette([], 4)
    with pytest.raises(ValueError, match="color_space"):
        fit_palette(_images(1), 4, color_space="lab")


def test_apply_palette_keeps_every_entry_and_takes_the_nearest():
    image = np.array([[[0, 0, 0], [250, 10, 10]], [[10, 10, 10], [0, 0, 0]]], np.uint8)
    palette = np.array([[0, 255, 0], [255, 0, 0], [0, 0, 0], [1, 1, 1]], np.uint8)
    result = apply_palette(image, palette)
    np.testing.assert_array_equal(result.palette, palette)  # unused entries kept
    assert result.indices.tolist() == [[2, 1], [3, 2]]
    expected = ((image.astype(int) - palette[result.indices]) ** 2).sum()
    assert result.inertia == expected and result.method == "palette"
    assert result.n_colors_in == 3


def test_apply_palette_matches_quantize_on_its_own_palette():
    image = _images(1)[0]
    result = quantize(image, 8)
    mapped = apply_palette(image, result.palette)
    np.testing.assert_array_equal(mapped.indices, result.indices)
    assert mapped.inertia == pytest.approx(result.inertia)
    dithered = quantize(image, 8, dither=0.75)
    np.testing.assert_array_equal(
        apply_palette(image, dithered.palette, dither=0.75).indices, dithered.indices)


def test_shared_palette_is_the_same_entry_for_entry_in_every_image():
    images = _images(3)
    palette = fit_palette(images, 8)
    for image in images:
        result = apply_palette(image, palette)
        np.testing.assert_array_equal(result.palette, palette)
    total = sum(apply_palette(image, palette).inertia for image in images)
    assert total == pytest.approx(quantize(np.concatenate(images), 8).inertia)


def test_apply_palette_channels_mix():
    rgb = np.array([[[255, 0, 0], [0, 0, 0]]], np.uint8)
    rgba_palette = np.array([[0, 0, 0, 0], [255, 0, 0, 255], [0, 0, 0, 255]], np.uint8)
    assert apply_palette(rgb, rgba_palette).indices.tolist() == [[1, 2]]
    rgba = np.array([[[255, 0, 0, 255], [7, 7, 7, 0]]], np.uint8)
    assert apply_palette(rgba, rgba_palette).indices.tolist() == [[1, 0]]


def test_apply_palette_errors():
    image = _images(1)[0]
    with pytest.raises(ValueError, match="shape"):
        apply_palette(image, np.zeros((0, 3), np.uint8))
    with pytest.raises(ValueError, match="shape"):
        apply_palette(image, np.zeros((300, 3), np.uint8))
    with pytest.raises(ValueError, match="0-255"):
        apply_palette(image, [[0, 0, 256]])
    with pytest.raises(ValueError, match="uint8"):
        apply_palette(image.astype(float), [[0, 0, 0]])
