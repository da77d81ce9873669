"""sRGB <-> OKLab conversions: published reference values and round trips."""

import numpy as np
import pytest

from kmeans_core import oklab_to_srgb, srgb_to_oklab
from kmeans_core.color import delta_e_ok, from_working_space, to_working_space

# sRGB primaries in OKLab, as published with Ottosson's matrices (culori's and
# CSS Color 4's test suites; https://bottosson.github.io/posts/oklab/).
REFERENCE = [
    ((255, 0, 0), (0.6279553606, 0.2248630611, 0.1258462985)),
    ((0, 255, 0), (0.8664396115, -0.2338875742, 0.1794984799)),
    ((0, 0, 255), (0.4520137184, -0.0324569842, -0.3115281477)),
    ((255, 255, 255), (1.0, 0.0, 0.0)),
    ((0, 0, 0), (0.0, 0.0, 0.0)),
]


@pytest.mark.parametrize("rgb, lab", REFERENCE)
def test_reference_values(rgb, lab):
    got = srgb_to_oklab(np.array(rgb, dtype=np.uint8))
    np.testing.assert_allclose(got, lab, atol=1e-7)
    back = oklab_to_srgb(np.array(lab))
    np.testing.assert_allclose(back * 255, rgb, atol=1e-4)


def test_inverse_matches_published_inverse():
    # Ottosson's published oklab_to_linear_srgb: a colour built by hand from
    # his inverse coefficients must match ours.
    L, a, b = 0.7, 0.1, -0.05
    l_ = L + 0.3963377774 * a + 0.2158037573 * b
    m_ = L - 0.1055613458 * a - 0.0638541728 * b
    s_ = L - 0.0894841775 * a - 1.2914855480 * b
    l, m, s = l_**3, m_**3, s_**3
    linear = np.array([
        4.0767416621 * l - 3.3077115913 * m + 0.2309699292 * s,
        -1.2684380046 * l + 2.6097574011 * m - 0.3413193965 * s,
        -0.0041960863 * l - 0.7034186147 * m + 1.7076147010 * s,
    ])
    encoded = np.where(linear <= 0.0031308, 12.92 * linear,
                       1.055 * np.abs(linear) ** (1 / 2.4) - 0.055)
    np.testing.assert_allclose(oklab_to_srgb([L, a, b]), encoded, atol=1e-7)


def test_greys_have_no_chroma_and_increasing_lightness():
    grey = np.repeat(np.arange(256, dtype=np.uint8)[:, None], 3, axis=1)
    lab = srgb_to_oklab(grey)
    np.testing.assert_allclose(lab[:, 1:], 0.0, atol=1e-7)
    assert np.all(np.diff(lab[:, 0]) > 0)
    back = oklab_to_srgb(lab) * 255
    np.testing.assert_allclose(back, grey, atol=1e-8)
    np.testing.assert_array_equal(np.rint(back).astype(np.uint8), grey)


def test_round_trip_random_float64():
    rgb = np.random.default_rng(0).uniform(0, 1, size=(1000, 3))
    np.testing.assert_allclose(oklab_to_srgb(srgb_to_oklab(rgb)), rgb, atol=1e-12)


def test_round_trip_out_of_gamut():
    # Negative and > 1 channels survive: the transfer function is odd.
    rgb = np.random.default_rng(1).uniform(-0.5, 1.5, size=(500, 3))
    np.testing.assert_allclose(oklab_to_srgb(srgb_to_oklab(rgb)), rgb, atol=1e-10)


def test_round_trip_oklab_side():
    lab = srgb_to_oklab(np.random.default_rng(2).uniform(0, 1, size=(200, 3)))
    np.testing.assert_allclose(srgb_to_oklab(oklab_to_srgb(lab)), lab, atol=1e-12)


def test_float32_kept_and_close_to_float64():
    rgb = np.random.default_rng(3).uniform(0, 1, size=(8, 5, 3))
    lab32 = srgb_to_oklab(rgb.astype(np.float32))
    assert lab32.dtype == np.float32 and lab32.shape == (8, 5, 3)
    np.testing.assert_allclose(lab32, srgb_to_oklab(rgb), atol=1e-6)
    back = oklab_to_srgb(lab32)
    assert back.dtype == np.float32
    np.testing.assert_allclose(back, rgb, atol=1e-5)


def test_uint8_equals_float_over_255():
    rgb = np.random.default_rng(4).integers(0, 256, size=(50, 3), dtype=np.uint8)
    np.testing.assert_array_equal(srgb_to_oklab(rgb), srgb_to_oklab(rgb / 255.0))


def test_clip_option():
    lab = np.array([[1.2, 0.0, 0.0], [0.5, 0.4, 0.0]])
    raw = oklab_to_srgb(lab)
    assert raw.max() > 1 and raw.min() < 0
    clipped = oklab_to_srgb(lab, clip=True)
    np.testing.assert_array_equal(clipped, np.clip(raw, 0, 1))


def test_inputs_not_modified():
    rgb = np.random.default_rng(5).uniform(0, 1, size=(10, 3))
    copy = rgb.copy()
    lab = srgb_to_oklab(rgb)
    lab_copy = lab.copy()
    oklab_to_srgb(lab, clip=True)
    np.testing.assert_array_equal(rgb, copy)
    np.testing.assert_array_equal(lab, lab_copy)


@pytest.mark.parametrize("bad", [np.zeros((4, 4)), np.zeros((2, 4)), np.float64(1.0)])
def test_wrong_shape_names_the_shape(bad):
    with pytest.raises(ValueError, match=r"\(\.\.\., 3\).*shape"):
        srgb_to_oklab(bad)
    with pytest.raises(ValueError, match="shape"):
        oklab_to_srgb(bad)


def test_wrong_dtype():
    with pytest.raises(ValueError, match="uint16"):
        srgb_to_oklab(np.zeros((2, 3), np.uint16))
    with pytest.raises(ValueError, match="uint8"):
        oklab_to_srgb(np.zeros((2, 3), np.uint8))


def test_delta_e_ok():
    rng = np.random.default_rng(6)
    a = rng.integers(0, 256, size=(20, 30, 3), dtype=np.uint8)
    b = rng.integers(0, 256, size=(20, 30, 3), dtype=np.uint8)
    expected = np.linalg.norm(srgb_to_oklab(a) - srgb_to_oklab(b), axis=-1).mean()
    assert delta_e_ok(a, b) == pytest.approx(expected, rel=1e-12)
    assert delta_e_ok(a, a) == 0.0
    # Repeated colours are counted with their multiplicity.
    a2, b2 = np.tile(a[:1], (3, 1, 1)), np.tile(b[:1], (3, 1, 1))
    a2[0, 0], b2[0, 0] = 0, 255
    expected = np.linalg.norm(srgb_to_oklab(a2) - srgb_to_oklab(b2), axis=-1).mean()
    assert delta_e_ok(a2, b2) == pytest.approx(expected, rel=1e-12)
    with pytest.raises(ValueError, match=r"\(20, 30, 3\) and \(20, 29, 3\)"):
        delta_e_ok(a, b[:, :29])


def test_working_space_round_trip():
    rng = np.random.default_rng(7)
    for channels in (3, 4):
        colors = rng.integers(0, 256, size=(300, channels), dtype=np.uint8)
        for space in ("rgb", "oklab"):
            work = to_working_space(colors, space)
            assert work.dtype == np.float32 and work.shape == colors.shape
            np.testing.assert_array_equal(from_working_space(work, space), colors)
    rgba = np.array([[10, 20, 30, 128]], np.uint8)
    assert to_working_space(rgba, "oklab")[0, 3] == pytest.approx(128 / 255)
    with pytest.raises(ValueError, match="'hsv'"):
        to_working_space(rgba, "hsv")
