"""quantize_to_psnr: the fewest colours reaching a PSNR target."""

import math

import numpy as np
import pytest

from kmeans_core.metrics import psnr
from kmeans_core.quality import QualityTooLowError, _Search, quantize_to_psnr


def _photo_like(height=32, width=40, seed=0):
    """Smooth colour gradients plus noise: many distinct colours, like a photo."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width] / max(height, width)
    img = np.stack([200 * x + 30, 120 * y + 80 * x * y, 180 * (1 - y) + 40], axis=-1)
    img += rng.normal(0, 6, size=img.shape)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def _chosen_k(tried, target):
    return min(k for k, p in tried if p >= target)


@pytest.mark.parametrize("target", [24.0, 30.0, 34.0])
@pytest.mark.parametrize("color_space", ["rgb", "oklab"])
def test_chosen_k_reaches_target_and_k_minus_1_does_not(target, color_space):
    image = _photo_like()
    result, tried = quantize_to_psnr(image, target, color_space=color_space)
    reached = psnr(image, result.to_image())
    assert reached >= target
    k = _chosen_k(tried, target)
    assert len(result.palette) <= k
    fitted = dict(tried)
    assert math.isclose(fitted[k], reached, rel_tol=1e-12)
    if k > 1:
        assert fitted[k - 1] < target
    # The inertia is the squared RGB error over all pixels.
    assert math.isclose(result.inertia, image.size * 255.0**2 / 10 ** (reached / 10),
                        rel_tol=1e-9)


def test_search_is_logarithmic_and_repeatable():
    image = _photo_like()
    result, tried = quantize_to_psnr(image, 32.0)
    ks = [k for k, _ in tried]
    assert len(ks) == len(set(ks))  # never fits the same k twice
    assert len(ks) <= 2 * 8  # log2 k + 2 doublings, a few probes
    again, tried_again = quantize_to_psnr(image, 32.0)
    assert tried == tried_again
    np.testing.assert_array_equal(result.palette, again.palette)
    np.testing.assert_array_equal(result.indices, again.indices)


def test_low_target_needs_one_colour():
    image = _photo_like()
    result, tried = quantize_to_psnr(image, 1.0)
    assert len(result.palette) == 1 and [k for k, _ in tried] == [1]


def test_lossless_target_keeps_every_colour():
    rng = np.random.default_rng(1)
    colors = rng.integers(0, 256, size=(10, 3), dtype=np.uint8)
    image = colors[rng.integers(0, 10, size=(12, 12))]
    result, tried = quantize_to_psnr(image, math.inf)
    np.testing.assert_array_equal(result.to_image(), image)
    assert _chosen_k(tried, math.inf) == 10 and (10, math.inf) in tried
    assert result.n_colors_in == 10


def test_too_low_raises_with_best_psnr():
    image = _photo_like()
    with pytest.raises(QualityTooLowError, match="4 colours give") as info:
        quantize_to_psnr(image, 40.0, max_colors=4)
    assert isinstance(info.value, ValueError)
    assert info.value.max_colors == 4 and info.value.target_psnr == 40.0
    # best_psnr is what 4 colours give (same seed, same search path).
    _, tried = quantize_to_psnr(image, 40.0, max_colors=4, min_psnr=1.0)
    assert tried[-1][0] == 4 and info.value.best_psnr == tried[-1][1] < 40.0


def test_min_psnr_falls_back_to_max_colors():
    image = _photo_like()
    result, tried = quantize_to_psnr(image, 40.0, max_colors=4, min_psnr=10.0)
    assert tried[-1][0] == 4 and len(result.palette) <= 4
    assert psnr(image, result.to_image()) == pytest.approx(tried[-1][1])
    with pytest.raises(QualityTooLowError) as info:
        quantize_to_psnr(image, 40.0, max_colors=4, min_psnr=39.0)
    assert info.value.target_psnr == 39.0


def test_rgba_and_input_unmodified():
    image = np.concatenate([_photo_like(), np.full((32, 40, 1), 255, np.uint8)], axis=2)
    image[:4, :4, 3] = 0
    copy = image.copy()
    result, _ = quantize_to_psnr(image, 28.0)
    np.testing.assert_array_equal(image, copy)
    assert result.palette.shape[1] == 4
    cleared = image.copy()
    cleared[cleared[..., 3] == 0] = 0  # transparent pixels count as (0, 0, 0, 0)
    assert psnr(cleared, result.to_image()) >= 28.0


def test_warm_start_keeps_centres():
    image = _photo_like()
    from kmeans_core._palette import weighted_colors

    _, colors, counts, _, X, weight = weighted_colors(image, "rgb")
    search = _Search(colors, counts, X, weight, "rgb", np.random.default_rng(0),
                     max_iter=300, tol=1e-4)
    search.fit(8)
    base = search.fits[8].centers
    grown = search._add_centers(base, 5)
    np.testing.assert_array_equal(grown[:8], base)
    assert len(np.unique(grown, axis=0)) == 13
    shrunk = search._drop_centers(base, 3)
    assert len(shrunk) == 5
    assert all((base == row).all(axis=1).any() for row in shrunk)


@pytest.mark.parametrize("kwargs, match", [
    ({"target_psnr": 0}, "target_psnr=0"),
    ({"target_psnr": float("nan")}, "target_psnr=nan"),
    ({"target_psnr": "30"}, "target_psnr='30'"),
    ({"target_psnr": 30, "min_psnr": 31}, "min_psnr=31 exceeds"),
    ({"target_psnr": 30, "max_colors": 257}, "max_colors=257"),
    ({"target_psnr": 30, "max_colors": 0}, "max_colors=0"),
    ({"target_psnr": 30, "color_space": "hsv"}, "color_space='hsv'"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        quantize_to_psnr(_photo_like(4, 4), **kwargs)


def test_chosen_k_and_dither():
    from kmeans_core.quality import chosen_k

    image = _photo_like()
    plain, tried = quantize_to_psnr(image, 30.0)
    k = chosen_k(tried, 30.0)
    assert k == _chosen_k(tried, 30.0) and len(plain.palette) <= k
    assert plain.dither is None and plain.color_space == "rgb"
    dithered, tried_dithered = quantize_to_psnr(image, 30.0, dither=1.0)
    # Same search (it measures without dithering), same palette, other pixels.
    assert tried_dithered == tried
    np.testing.assert_array_equal(dithered.palette, plain.palette)
    assert not np.array_equal(dithered.indices, plain.indices)
    assert dithered.dither == 1.0
    assert math.isclose(dithered.inertia,
                        image.size * 255.0**2 / 10 ** (psnr(image, dithered.to_image()) / 10),
                        rel_tol=1e-9)
    # When only min_psnr is met, the chosen k is the last (largest) one.
    _, tried = quantize_to_psnr(image, 40.0, max_colors=4, min_psnr=10.0)
    assert chosen_k(tried, 40.0) == 4
    with pytest.raises(ValueError, match="dither=2"):
        quantize_to_psnr(image, 30.0, dither=2)
