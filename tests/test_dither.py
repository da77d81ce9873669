"""Floyd–Steinberg dithering: fast kernel == NumPy reference, and it does dither."""

import numpy as np
import pytest
from PIL import Image

from kmeans_core import dither as dither_module
from kmeans_core.color import to_working_space
from kmeans_core.dither import dither
from kmeans_core.reference.dither import floyd_steinberg


def _dither_reference(image, palette, *, level=1.0, color_space="rgb"):
    """``dither`` with the NumPy reference in place of the kernel."""
    image, palette, level = dither_module._check_dither_args(image, palette, level,
                                                             color_space)
    work_image, work_palette, low, high = dither_module._prepare(image, palette,
                                                                 color_space)
    return floyd_steinberg(work_image, work_palette, np.float32(level), low, high)


def _gradient(height=32, width=128):
    """A smooth colour gradient: red rises left to right, blue top to bottom."""
    x = np.linspace(0, 255, width)
    y = np.linspace(40, 200, height)
    img = np.empty((height, width, 3))
    img[..., 0] = x[None, :]
    img[..., 1] = 0.5 * x[None, :] + 0.3 * y[:, None]
    img[..., 2] = y[:, None]
    return np.rint(img).astype(np.uint8)


def _block_means(img, size=8):
    """Mean of each size x size block: what the eye sees from afar."""
    h, w, c = img.shape
    blocks = img[: h - h % size, : w - w % size].astype(np.float64)
    return blocks.reshape(h // size, size, w // size, size, c).mean(axis=(1, 3))


def _nearest(image, palette):
    """Nearest palette entry by exact integer squared distance (lowest index on ties)."""
    d2 = ((image[:, :, None, :].astype(np.int64) - palette.astype(np.int64)) ** 2).sum(-1)
    return d2.argmin(axis=-1)


PALETTE = np.array([[0, 0, 0], [255, 255, 255], [200, 60, 40], [40, 90, 210],
                    [120, 130, 90], [250, 200, 60]], dtype=np.uint8)


@pytest.mark.parametrize("color_space", ["rgb", "oklab"])
@pytest.mark.parametrize("level", [0.0, 0.3, 1.0])
@pytest.mark.parametrize("channels", [3, 4])
def test_kernel_equals_reference(color_space, level, channels):
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, size=(17, 23, channels), dtype=np.uint8)
    palette = rng.integers(0, 256, size=(11, channels), dtype=np.uint8)
    fast = dither(image, palette, level=level, color_space=color_space)
    slow = _dither_reference(image, palette, level=level, color_space=color_space)
    np.testing.assert_array_equal(fast, slow)


def test_kernel_equals_reference_on_gradient():
    image = _gradient(16, 40)
    np.testing.assert_array_equal(dither(image, PALETTE), _dither_reference(image, PALETTE))


def test_level_zero_is_nearest_colour_mapping():
    image = np.random.default_rng(1).integers(0, 256, size=(20, 30, 3), dtype=np.uint8)
    np.testing.assert_array_equal(dither(image, PALETTE, level=0.0), _nearest(image, PALETTE))
    np.testing.assert_array_equal(dither(_gradient(), PALETTE, level=0),
                                  _nearest(_gradient(), PALETTE))


def test_level_zero_oklab_is_nearest_in_oklab():
    image = _gradient()
    work = to_working_space(image, "oklab").astype(np.float64)
    pal = to_working_space(PALETTE, "oklab").astype(np.float64)
    expected = ((work[:, :, None, :] - pal) ** 2).sum(-1).argmin(-1)
    got = dither(image, PALETTE, level=0, color_space="oklab")
    assert (got != expected).mean() < 0.001  # float32 vs float64 near-ties only


@pytest.mark.parametrize("color_space", ["rgb", "oklab"])
def test_dithering_removes_banding(color_space):
    # On a smooth gradient the local averages of the dithered image follow the
    # original much better than those of the banded, undithered one.
    image = _gradient()
    palette = PALETTE[:4]
    original = _block_means(image)
    banded = _block_means(palette[dither(image, palette, level=0.0)])
    dithered = _block_means(palette[dither(image, palette, color_space=color_space)])
    err_banded = np.mean((banded - original) ** 2)
    err_dithered = np.mean((dithered - original) ** 2)
    assert err_dithered < 0.5 * err_banded


def test_partial_level_lies_between():
    image = _gradient()
    palette = PALETTE[:4]
    original = _block_means(image)
    errors = [np.mean((_block_means(palette[dither(image, palette, level=lv)]) - original) ** 2)
              for lv in (0.0, 0.5, 1.0)]
    assert errors[0] > errors[1] > errors[2]


def test_output_and_inputs():
    image = np.random.default_rng(2).integers(0, 256, size=(9, 13, 4), dtype=np.uint8)
    palette = np.random.default_rng(3).integers(0, 256, size=(5, 4), dtype=np.uint8)
    image_copy, palette_copy = image.copy(), palette.copy()
    indices = dither(image, palette, color_space="oklab")
    assert indices.shape == (9, 13) and indices.dtype == np.uint8
    assert indices.max() < len(palette)
    np.testing.assert_array_equal(image, image_copy)
    np.testing.assert_array_equal(palette, palette_copy)


def test_full_256_colour_palette():
    rng = np.random.default_rng(4)
    image = rng.integers(0, 256, size=(16, 16, 3), dtype=np.uint8)
    palette = image.reshape(-1, 3)  # 256 entries: every pixel has its own
    indices = dither(image, palette)
    np.testing.assert_array_equal(palette[indices], image)  # exact: no error


def test_pillow_is_not_exact_nearest_mapping():
    # Why dither() uses its own kernel even at level 1 in RGB: Pillow's palette
    # lookup (a reduced-precision colour cache) does not always pick the
    # nearest entry, even with dithering off. If this ever fails, Pillow maps
    # exactly and could serve the (level=1, rgb) case.
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, size=(64, 64, 3), dtype=np.uint8)
    palette = rng.integers(0, 256, size=(16, 3), dtype=np.uint8)
    pal_image = Image.new("P", (1, 1))
    pal_image.putpalette(palette.ravel().tolist())
    pillow = np.asarray(Image.fromarray(image).quantize(palette=pal_image,
                                                        dither=Image.Dither.NONE))
    assert (pillow != _nearest(image, palette)).any()
    np.testing.assert_array_equal(dither(image, palette, level=0), _nearest(image, palette))


@pytest.mark.parametrize("kwargs, match", [
    ({"level": 1.5}, "level=1.5"),
    ({"level": -0.1}, "level=-0.1"),
    ({"level": True}, "level=True"),
    ({"color_space": "lab"}, "color_space='lab'"),
])
def test_bad_options(kwargs, match):
    with pytest.raises(ValueError, match=match):
        dither(_gradient(4, 4), PALETTE, **kwargs)


def test_bad_shapes():
    with pytest.raises(ValueError, match=r"\(6, 4\)"):
        dither(_gradient(4, 4), np.zeros((6, 4), np.uint8))
    with pytest.raises(ValueError, match=r"shape \(4, 4\)"):
        dither(np.zeros((4, 4), np.uint8), PALETTE)
    with pytest.raises(ValueError, match="257 colours"):
        dither(_gradient(4, 4), np.zeros((257, 3), np.uint8))
    with pytest.raises(ValueError, match="float64"):
        dither(_gradient(4, 4).astype(float), PALETTE)
