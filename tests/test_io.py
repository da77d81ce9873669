"""Loading every kind of image, refusing bad files, and encoding PNG/GIF."""

import io
import warnings
from pathlib import Path

import _images
import numpy as np
import pytest
from _images import file_digest, png_chunks, png_header
from PIL import Image, ImageFile

from kmeans_core import QuantizeResult, quantize
from kmeans_core.io import (
    DEFAULT_MAX_PIXELS,
    ImageReadError,
    ImageTooLargeError,
    ImageWarning,
    LoadedImage,
    encode_image,
    gif_palette,
    load_image,
)


def load_quietly(path, **kwargs):
    """load_image, failing the test on any warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return load_image(path, **kwargs)


# -- loading: one test per branch ---------------------------------------------


def test_exif_orientation_is_applied_and_removed_from_metadata(tmp_path):
    path = _images.make_exif_rotated_jpeg(tmp_path, orientation=6)
    loaded = load_quietly(path)
    # Stored 40 wide x 20 high, red left, blue right. Orientation 6: the
    # viewer turns it 90 degrees clockwise, so it shows 20 wide x 40 high
    # with the red half on top.
    assert loaded.pixels.shape == (40, 20, 3)
    top, bottom = loaded.pixels[:18].astype(int), loaded.pixels[22:].astype(int)
    assert np.abs(top - _images.RED).max() <= 8
    assert np.abs(bottom - _images.BLUE).max() <= 8
    assert loaded.format == "JPEG" and loaded.mode == "RGB"
    exif = Image.Exif()
    exif.load(loaded.metadata["exif"])
    assert 0x0112 not in exif and exif[0x010F] == "TestCam"
    assert loaded.metadata["dpi"] == pytest.approx((300, 300))


@pytest.mark.parametrize("orientation", [3, 8])
def test_other_exif_orientations(tmp_path, orientation):
    loaded = load_quietly(_images.make_exif_rotated_jpeg(tmp_path, orientation))
    red = np.abs(loaded.pixels.astype(int) - _images.RED).max(axis=2) <= 8
    if orientation == 3:  # turned 180 degrees: red half now on the right
        assert loaded.pixels.shape == (20, 40, 3)
        assert red[:, 22:].all() and not red[:, :18].any()
    else:  # 8: turned 90 degrees counter-clockwise: red half at the bottom
        assert loaded.pixels.shape == (40, 20, 3)
        assert red[22:].all() and not red[:18].any()


def test_greyscale_becomes_rgb(tmp_path):
    path, values = _images.make_grey_png(tmp_path)
    loaded = load_quietly(path)
    assert loaded.mode == "L" and loaded.format == "PNG"
    assert loaded.pixels.dtype == np.uint8 and loaded.pixels.shape == (4, 8, 3)
    for c in range(3):
        np.testing.assert_array_equal(loaded.pixels[..., c], values)


def test_bilevel_becomes_black_and_white(tmp_path):
    path, board = _images.make_bilevel_png(tmp_path)
    loaded = load_quietly(path)
    assert loaded.mode == "1"
    np.testing.assert_array_equal(loaded.pixels[..., 0], np.where(board, 255, 0))
    assert loaded.pixels.shape == (4, 6, 3)


def test_palette_with_transparency_becomes_rgba(tmp_path):
    path, indices = _images.make_palette_png_with_transparency(tmp_path)
    loaded = load_quietly(path)
    assert loaded.mode == "P" and loaded.pixels.shape == (2, 4, 4)
    colours = np.array([[255, 0, 0, 255], [0, 255, 0, 255], [9, 9, 9, 0]])
    np.testing.assert_array_equal(loaded.pixels, colours[indices])


def test_opaque_palette_becomes_rgb(tmp_path):
    path, indices = _images.make_palette_png_opaque(tmp_path)
    loaded = load_quietly(path)
    np.testing.assert_array_equal(loaded.pixels,
                                  np.array([[255, 0, 0], [0, 255, 0]])[indices])


def test_16_bit_is_scaled_to_8_bits(tmp_path):
    path, _ = _images.make_16bit_png(tmp_path)
    loaded = load_quietly(path)
    assert loaded.mode.startswith("I;16")
    # 65535 / 257 = 255 exactly; 128 / 257 rounds to 0; 65278 / 257 = 254.
    expected = np.array([[0, 1, 255], [100, 0, 254]])
    np.testing.assert_array_equal(loaded.pixels[..., 1], expected)
    assert loaded.pixels.shape == (2, 3, 3)


def test_32_bit_integer_is_read_as_16_bit_or_stretched(tmp_path):
    loaded = load_quietly(_images.make_int32_tiff(tmp_path, [[0, 65535], [257, 514]]))
    assert loaded.mode == "I"
    np.testing.assert_array_equal(loaded.pixels[..., 0], [[0, 255], [1, 2]])
    # Negative values: minimum -> 0, maximum -> 255.
    loaded = load_quietly(_images.make_int32_tiff(tmp_path, [[-1000, 0], [1000, 3000]]))
    np.testing.assert_array_equal(loaded.pixels[..., 2], [[0, 64], [128, 255]])


def test_float_images_in_unit_range_or_stretched(tmp_path):
    loaded = load_quietly(_images.make_float_tiff(tmp_path, [[0.0, 0.5], [1.0, 0.2]]))
    assert loaded.mode == "F"
    np.testing.assert_array_equal(loaded.pixels[..., 0], [[0, 128], [255, 51]])
    loaded = load_quietly(_images.make_float_tiff(tmp_path, [[-2.0, 0.0], [2.0, np.nan]]))
    # Stretched from -2 (-> 0) to 2 (-> 255); NaN becomes 0, i.e. the middle.
    np.testing.assert_array_equal(loaded.pixels[..., 0], [[0, 128], [255, 128]])


def test_cmyk_becomes_rgb(tmp_path):
    loaded = load_quietly(_images.make_cmyk_jpeg(tmp_path))
    assert loaded.mode == "CMYK" and loaded.pixels.shape == (8, 16, 3)
    left, right = loaded.pixels[:, :6].astype(int), loaded.pixels[:, 10:].astype(int)
    assert np.abs(left - [255, 0, 0]).max() <= 8
    assert right.max() <= 8


def test_rgba_keeps_alpha_only_when_some_pixel_is_not_opaque(tmp_path):
    path, pixels = _images.make_rgba_png(tmp_path)
    loaded = load_quietly(path)
    assert loaded.mode == "RGBA"
    np.testing.assert_array_equal(loaded.pixels, pixels)
    path, pixels = _images.make_rgba_png(tmp_path, opaque=True)
    loaded = load_quietly(path)
    assert loaded.mode == "RGBA" and loaded.pixels.shape == (4, 6, 3)
    np.testing.assert_array_equal(loaded.pixels, pixels[..., :3])


def test_grey_with_alpha_becomes_rgba(tmp_path):
    path, pixels = _images.make_la_png(tmp_path)
    loaded = load_quietly(path)
    assert loaded.mode == "LA" and loaded.pixels.shape == (2, 4, 4)
    for c in range(3):
        np.testing.assert_array_equal(loaded.pixels[..., c], pixels[..., 0])
    np.testing.assert_array_equal(loaded.pixels[..., 3], pixels[..., 1])


def test_animated_image_gives_first_frame_and_warns(tmp_path):
    path = _images.make_animated_gif(tmp_path)
    with pytest.warns(ImageWarning, match=r"animated.*3 frames.*first frame"):
        loaded = load_image(path)
    assert loaded.format == "GIF"
    assert loaded.pixels.shape == (8, 8, 3)
    assert (loaded.pixels == [255, 0, 0]).all()


@pytest.mark.parametrize("fmt, options", [
    ("BMP", {}), ("TIFF", {}), ("WEBP", {"lossless": True}), ("PPM", {}),
    ("PNG", {}), ("GIF", {}),
])
def test_other_formats(tmp_path, fmt, options):
    pixels = _images.two_halves(8, 4)
    path = tmp_path / f"image.{fmt.lower()}"
    path.write_bytes(_images.encode(pixels, fmt, **options))
    loaded = load_quietly(path)
    assert loaded.format == fmt
    np.testing.assert_array_equal(loaded.pixels, pixels)


def test_samples_load_as_rgb_photos():
    for name in _images.SAMPLE_NAMES:
        loaded = load_quietly(_images.sample_path(name))
        assert loaded.format == "JPEG" and loaded.pixels.ndim == 3
        assert loaded.pixels.shape[2] == 3 and loaded.pixels.dtype == np.uint8
        assert isinstance(loaded, LoadedImage)


# -- refusing what cannot be read ---------------------------------------------


def test_bomb_is_refused_from_the_header(tmp_path):
    # 10,000 x 10,000 = 100 million pixels: more than the default limit but
    # below Pillow's own error threshold, so this is our check. The image data
    # is garbage: had it been decoded, the error would be a different one.
    path = _images.make_bomb_png(tmp_path, 10_000, 10_000)
    assert 10_000 * 10_000 > DEFAULT_MAX_PIXELS
    with pytest.raises(ImageTooLargeError, match=r"100,000,000 pixels exceeds max_pixels"):
        load_quietly(path)


def test_pillow_bomb_error_becomes_image_too_large(tmp_path):
    # 400 million pixels: Pillow's own check in Image.open raises first.
    path = _images.make_bomb_png(tmp_path, 20_000, 20_000)
    with pytest.raises(ImageTooLargeError) as excinfo:
        load_quietly(path)
    _assert_clean_error(excinfo, path, "pixels", too_large=True)


def test_too_large_is_refused_before_decoding(tmp_path, monkeypatch):
    path, _ = _images.make_grey_png(tmp_path)  # 8 x 4 = 32 pixels

    def no_decoding(self, *args, **kwargs):
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    with pytest.raises(ImageTooLargeError, match=r"8 x 4 = 32 pixels exceeds max_pixels=31"):
        load_image(path, max_pixels=31)
    with pytest.raises(AssertionError, match="decoded"):
        load_image(path, max_pixels=32)


def test_max_pixels_none_lifts_every_limit(tmp_path, monkeypatch):
    path, values = _images.make_grey_png(tmp_path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 10)  # Pillow would refuse 32
    loaded = load_quietly(path, max_pixels=None)
    np.testing.assert_array_equal(loaded.pixels[..., 0], values)
    assert Image.MAX_IMAGE_PIXELS == 10  # restored afterwards
    with pytest.raises(ImageTooLargeError):
        load_quietly(path, max_pixels=20)


@pytest.mark.parametrize("max_pixels", [0, -5, 2.5, "many", True])
def test_bad_max_pixels(tmp_path, max_pixels):
    path, _ = _images.make_grey_png(tmp_path)
    with pytest.raises(ValueError, match="max_pixels"):
        load_image(path, max_pixels=max_pixels)


def _assert_clean_error(excinfo, path, cause, *, too_large=False):
    message = str(excinfo.value)
    assert "\n" not in message
    assert str(path) in message
    assert cause in message
    assert isinstance(excinfo.value, ImageTooLargeError) == too_large


def test_missing_file(tmp_path):
    path = tmp_path / "nope.png"
    with pytest.raises(ImageReadError) as excinfo:
        load_image(path)
    _assert_clean_error(excinfo, path, "no such file")


def test_directory(tmp_path):
    with pytest.raises(ImageReadError) as excinfo:
        load_image(tmp_path)
    _assert_clean_error(excinfo, tmp_path, "directory")


def test_empty_file(tmp_path):
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")
    with pytest.raises(ImageReadError) as excinfo:
        load_image(path)
    _assert_clean_error(excinfo, path, "empty")


def test_not_an_image(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("these are not pixels\nsecond line\n")
    before = file_digest(path)
    with pytest.raises(ImageReadError) as excinfo:
        load_image(path)
    _assert_clean_error(excinfo, path, "not an image")
    assert file_digest(path) == before


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP"])
def test_truncated_file(tmp_path, fmt):
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    data = _images.encode(pixels, fmt)
    path = tmp_path / f"truncated.{fmt.lower()}"
    path.write_bytes(data[: len(data) // 2])
    before = file_digest(path)
    with pytest.raises(ImageReadError) as excinfo:
        load_image(path)
    _assert_clean_error(excinfo, path, "cannot decode")
    assert file_digest(path) == before


@pytest.mark.parametrize("interlace", [0, 1])
def test_png_with_fewer_rows_than_its_header_is_refused(tmp_path, interlace):
    # The compressed stream is complete: non-interlaced, Pillow itself
    # raises nothing and fills the missing 90 rows with black.
    path = _images.make_short_png(tmp_path, 100, 100, rows=10, interlace=interlace)
    if not interlace:
        with Image.open(path) as im:
            im.load()
    with pytest.raises(ImageReadError) as excinfo:
        load_image(path)
    _assert_clean_error(excinfo, path, "cannot decode")
    if not interlace:
        assert "holds 10 of the 100 rows" in str(excinfo.value)


def test_complete_pngs_pass_the_row_check(tmp_path):
    full = _images.make_short_png(tmp_path, 7, 5, rows=5)
    assert load_quietly(full).pixels.shape == (5, 7, 3)
    # Every bit depth and colour type Pillow writes, interlaced by hand too.
    for mode in ("1", "L", "P", "RGB", "RGBA", "LA", "I;16"):
        path = tmp_path / f"complete_{mode.replace(';', '')}.png"
        Image.new(mode, (13, 9)).save(path)
        load_quietly(path)
    raw = b"".join(b"\x00" + bytes(3 * 8) for _ in range(15))  # Adam7 of 8 x 8
    load_quietly(_images.write_png(tmp_path / "adam7.png", 8, 8, raw,
                                   color_type=2, interlace=1))


def test_png_rows_inflated_again_only_when_the_last_row_is_zero(tmp_path,
                                                               monkeypatch):
    # A non-interlaced PNG whose last row has a non-zero byte was decoded to
    # its end: no second inflate. A zero last row, or Adam7, is checked.
    from kmeans_core import io as kio

    checked = []
    real = kio._check_png_rows
    monkeypatch.setattr(kio, "_check_png_rows",
                        lambda name, height: checked.append(Path(name).name)
                        or real(name, height))
    pixels = np.zeros((6, 5, 3), dtype=np.uint8)
    pixels[-1, 2, 1] = 1
    Image.fromarray(pixels).save(tmp_path / "lit.png")
    Image.fromarray(np.zeros_like(pixels)).save(tmp_path / "black.png")
    passes = ((1, 1), (1, 1), (2, 1), (2, 2), (4, 2), (4, 4), (8, 4))  # Adam7, 8 x 8
    raw = b"".join(b"\x00" + bytes([7] * 3 * cols) for cols, rows in passes
                   for _ in range(rows))
    _images.write_png(tmp_path / "lit-adam7.png", 8, 8, raw, color_type=2, interlace=1)
    for name in ("lit.png", "black.png", "lit-adam7.png"):
        assert load_quietly(tmp_path / name).pixels.any() == (name != "black.png")
    assert checked == ["black.png", "lit-adam7.png"]


def test_truncated_file_fails_whatever_load_truncated_images_says(
        tmp_path, monkeypatch):
    data = _images.encode(np.zeros((64, 64, 3), dtype=np.uint8), "JPEG")
    path = tmp_path / "cut.jpg"
    path.write_bytes(data[: len(data) // 2])
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    with pytest.raises(ImageReadError, match="cannot decode"):
        load_image(path)
    assert ImageFile.LOAD_TRUNCATED_IMAGES is True  # restored afterwards


def test_too_large_error_carries_its_figures(tmp_path):
    path, _ = _images.make_grey_png(tmp_path)  # 8 x 4
    with pytest.raises(ImageTooLargeError) as excinfo:
        load_image(path, max_pixels=31)
    error = excinfo.value
    assert (error.width, error.height, error.max_pixels) == (8, 4, 31)


def test_unsearchable_folder_is_not_a_missing_file(tmp_path, monkeypatch):
    path, _ = _images.make_grey_png(tmp_path)

    def refuse(name, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(name))

    monkeypatch.setattr("kmeans_core.io.os.stat", refuse)
    with pytest.raises(ImageReadError) as excinfo:
        load_image(path)
    _assert_clean_error(excinfo, path, "cannot read: Permission denied")


def test_loading_never_modifies_the_file(tmp_path):
    path = _images.make_exif_rotated_jpeg(tmp_path)
    before = file_digest(path)
    load_image(path)
    assert file_digest(path) == before


def test_icc_profile_kept_only_when_rgb(tmp_path):
    from PIL import ImageCms

    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    path = tmp_path / "icc.png"
    Image.fromarray(_images.two_halves(4, 2)).save(path, icc_profile=srgb)
    assert load_quietly(path).metadata["icc_profile"] == srgb
    grey = bytearray(srgb)
    grey[16:20] = b"GRAY"
    path = tmp_path / "icc_grey.png"
    Image.new("L", (4, 2)).save(path, icc_profile=bytes(grey))
    assert "icc_profile" not in load_quietly(path).metadata


# -- encoding -----------------------------------------------------------------


def result_with(palette, indices):
    palette = np.asarray(palette, dtype=np.uint8)
    return QuantizeResult(palette=palette, indices=np.asarray(indices, dtype=np.uint8),
                          n_iter=0, inertia=0.0, seconds=0.0,
                          n_colors_in=len(palette), method="kmeans", history=None)


def gradient_result(n_colors, n_channels=3):
    """A result with exactly ``n_colors`` distinct palette entries, all used."""
    rng = np.random.default_rng(n_colors)
    palette = rng.permutation(256)[:n_colors]
    palette = np.stack([palette] * n_channels, axis=1)
    if n_channels == 4:
        palette[:, 3] = 255
    indices = np.arange(4 * 64) % n_colors
    return result_with(palette, indices.reshape(4, 64))


@pytest.mark.parametrize("n_colors, bits", [(1, 1), (2, 1), (3, 2), (4, 2), (5, 4),
                                            (16, 4), (17, 8), (256, 8)])
def test_png_uses_the_smallest_bit_depth(n_colors, bits):
    result = gradient_result(n_colors)
    data = encode_image(result)
    width, height, bit_depth, colour_type = png_header(data)
    assert (width, height) == (64, 4)
    assert bit_depth == bits and colour_type == 3  # indexed colour
    plte = dict(png_chunks(data))["PLTE"]
    assert len(plte) == 3 * n_colors
    with Image.open(io.BytesIO(data)) as image:
        assert image.mode == "P"
        np.testing.assert_array_equal(np.asarray(image.convert("RGB")),
                                      result.to_image())


def test_png_has_no_metadata_unless_given():
    result = gradient_result(8)
    kinds = [kind for kind, _ in png_chunks(encode_image(result))]
    assert kinds == ["IHDR", "PLTE", "IDAT", "IEND"]

    exif = Image.Exif()
    exif[0x010F] = "TestCam"
    metadata = {"exif": exif.tobytes(), "dpi": (300.0, 300.0),
                "icc_profile": b"\0" * 16 + b"RGB " + b"\0" * 108}
    data = encode_image(result, metadata=metadata)
    kinds = [kind for kind, _ in png_chunks(data)]
    assert {"eXIf", "pHYs", "iCCP"} <= set(kinds)
    with Image.open(io.BytesIO(data)) as image:
        assert image.getexif()[0x010F] == "TestCam"
        assert image.info["dpi"] == pytest.approx((300, 300), abs=0.01)


def test_png_transparency_is_kept_in_trns():
    palette = [[10, 20, 30, 255], [0, 0, 0, 0], [200, 100, 50, 255], [5, 6, 7, 128]]
    indices = [[0, 1, 2, 3], [3, 2, 1, 0]]
    result = result_with(palette, indices)
    data = encode_image(result)
    chunks = dict(png_chunks(data))
    # Entries that are not opaque come first, so tRNS holds just those two.
    assert chunks["tRNS"] == bytes([0, 128])
    with Image.open(io.BytesIO(data)) as image:
        np.testing.assert_array_equal(np.asarray(image.convert("RGBA")),
                                      result.to_image())


def test_opaque_rgba_palette_writes_no_trns():
    result = gradient_result(5, n_channels=4)
    assert "tRNS" not in dict(png_chunks(encode_image(result)))


def test_gif_output_rgb():
    result = gradient_result(17)
    data = encode_image(result, "GIF")
    assert data[:6] == b"GIF89a" or data[:6] == b"GIF87a"
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "GIF" and image.size == (64, 4)
        np.testing.assert_array_equal(np.asarray(image.convert("RGB")),
                                      result.to_image())


def test_gif_output_rgba_has_one_transparent_index():
    palette = [[10, 20, 30, 255], [1, 2, 3, 0], [200, 100, 50, 200], [5, 6, 7, 100]]
    result = result_with(palette, [[0, 1, 2, 3], [3, 2, 1, 0]])
    with Image.open(io.BytesIO(encode_image(result, "gif"))) as image:
        rgba = np.asarray(image.convert("RGBA")).astype(int)
    # alpha < 128 (entries 1 and 3): fully transparent; alpha >= 128: opaque.
    expected_alpha = np.array([[255, 0, 255, 0], [0, 255, 0, 255]])
    np.testing.assert_array_equal(rgba[..., 3], expected_alpha)
    np.testing.assert_array_equal(rgba[0, 2, :3], [200, 100, 50])
    np.testing.assert_array_equal(rgba[0, 0, :3], [10, 20, 30])
    # gif_palette says exactly what the GIF shows, pixel for pixel.
    shown = gif_palette(np.array(palette, np.uint8))[result.indices]
    np.testing.assert_array_equal(rgba, shown)


def test_encode_rejects_bad_input():
    result = gradient_result(4)
    with pytest.raises(ValueError, match="fmt='jpeg'"):
        encode_image(result, "jpeg")
    bad = result_with([[0, 0, 0], [9, 9, 9]], [[0, 2]])
    with pytest.raises(ValueError, match="indices reach 2"):
        encode_image(bad)


def test_encode_does_not_modify_the_result():
    palette = [[10, 20, 30, 255], [0, 0, 0, 0], [200, 100, 50, 255]]
    result = result_with(palette, [[0, 1, 2], [2, 1, 0]])
    palette_before, indices_before = result.palette.copy(), result.indices.copy()
    encode_image(result)
    encode_image(result, "gif")
    np.testing.assert_array_equal(result.palette, palette_before)
    np.testing.assert_array_equal(result.indices, indices_before)


def test_quantized_transparent_image_round_trips(tmp_path):
    path, pixels = _images.make_rgba_png(tmp_path)
    loaded = load_quietly(path)
    # 19 distinct colours once the transparent row is (0, 0, 0, 0): no
    # clustering, so the PNG must give back exactly the loaded pixels.
    result = quantize(loaded.pixels, 32)
    assert result.n_colors_in == 19 and len(result.palette) == 19
    with Image.open(io.BytesIO(encode_image(result))) as image:
        back = np.asarray(image.convert("RGBA"))
    expected = pixels.copy()
    expected[0] = 0
    np.testing.assert_array_equal(back, expected)


def test_unreadable_file_names_the_system_error(tmp_path, monkeypatch):
    path, _ = _images.make_grey_png(tmp_path)

    def refuse(fp, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(fp))

    monkeypatch.setattr(Image, "open", refuse)
    with pytest.raises(ImageReadError) as excinfo:
        load_image(path)
    _assert_clean_error(excinfo, path, "cannot read: Permission denied")


def test_infinity_in_a_float_image_does_not_flatten_it(tmp_path):
    values = np.linspace(0, 10, 12, dtype=np.float32).reshape(3, 4)
    values[0, 0] = np.inf
    path = tmp_path / "inf.tif"
    Image.fromarray(values, mode="F").save(path)
    pixels = load_image(path).pixels
    assert pixels[0, 0, 0] == 255
    # The finite values keep their spread: 0 .. 10 stretched to 0 .. 255.
    assert pixels[2, 3, 0] == 255 and pixels[0, 1, 0] < pixels[1, 0, 0] < pixels[2, 2, 0]
