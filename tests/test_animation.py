"""Animated images: every frame read (composited), and written back as an
animated GIF or APNG with durations, loop count and transparency."""

import numpy as np
import pytest
from PIL import Image

from kmeans_core import apply_palette, fit_palette, quantize
from kmeans_core.io import encode_animation, load_animation


def _frames(n=4, size=(24, 32), alpha=False, seed=0):
    """Frames: a flat background and a yellow square moving across it."""
    rng = np.random.default_rng(seed)
    height, width = size
    background = rng.integers(0, 200, 3)
    frames = []
    for i in range(n):
        frame = np.zeros((height, width, 4), np.uint8)
        frame[..., :3] = background
        frame[:, :i + 1, :3] = rng.integers(0, 200, 3)  # and a stripe
        frame[..., 3] = 255
        frame[i * 4:i * 4 + 6, i * 5:i * 5 + 8] = (255, 255, 0, 255)
        if alpha and i % 2:
            frame[height - 6:, :6] = 0  # fully transparent corner
        frames.append(frame if alpha else np.ascontiguousarray(frame[..., :3]))
    return frames


def _shown(frame):
    """A frame as RGBA with invisible pixels zeroed (their colour is moot)."""
    if frame.shape[2] == 3:
        frame = np.dstack([frame, np.full(frame.shape[:2], 255, np.uint8)])
    frame = frame.copy()
    frame[frame[..., 3] == 0] = 0
    return frame


def _save(frames, path, **options):
    mode = "RGBA" if frames[0].shape[2] == 4 else "RGB"
    images = [Image.fromarray(frame, mode) for frame in frames]
    images[0].save(path, save_all=True, append_images=images[1:], **options)
    return path


def test_gif_partial_frames_are_composited(tmp_path):
    """Pillow writes frames 2+ as the changed region only: loading must give
    full frames, as a viewer shows them."""
    frames = _frames()
    path = _save(frames, tmp_path / "a.gif", duration=[80, 90, 100, 110], loop=0)
    with Image.open(path) as im:
        im.seek(2)
        assert im.tile[0][1] != (0, 0, 32, 24)  # a partial region was stored
    loaded = load_animation(path)
    assert len(loaded.frames) == 4 and loaded.loop == 0
    assert loaded.durations == [80, 90, 100, 110]
    for got, expected in zip(loaded.frames, frames):
        np.testing.assert_array_equal(got, expected)


def test_apng_with_disposal_and_blend_is_composited(tmp_path):
    frames = _frames(3, alpha=True)
    path = _save(frames, tmp_path / "a.png", duration=50, loop=3, disposal=1, blend=0)
    loaded = load_animation(path)
    assert loaded.format == "PNG" and loaded.loop == 3 and loaded.durations == [50] * 3
    for got, expected in zip(loaded.frames, frames):
        np.testing.assert_array_equal(_shown(got), _shown(expected))


def test_animated_webp(tmp_path):
    frames = _frames(3)
    path = _save(frames, tmp_path / "a.webp", duration=[40, 60, 80], loop=0,
                 lossless=True)
    loaded = load_animation(path)
    assert len(loaded.frames) == 3 and loaded.durations == [40, 60, 80]
    for got, expected in zip(loaded.frames, frames):
        np.testing.assert_array_equal(got, expected)


def test_a_still_image_is_one_frame(tmp_path):
    Image.new("RGB", (3, 2), (1, 2, 3)).save(tmp_path / "still.png")
    loaded = load_animation(tmp_path / "still.png")
    assert not loaded.is_animated and loaded.frames[0].shape == (2, 3, 3)


@pytest.mark.parametrize("fmt", ["gif", "png"])
@pytest.mark.parametrize("alpha", [False, True])
def test_round_trip_one_palette(tmp_path, fmt, alpha):
    frames = _frames(4, alpha=alpha)
    palette = fit_palette(frames, 6)
    results = [apply_palette(frame, palette) for frame in frames]
    data = encode_animation(results, fmt, durations=[100, 200, 300, 400], loop=2)
    path = tmp_path / f"out.{fmt}"
    path.write_bytes(data)
    loaded = load_animation(path)
    assert loaded.durations == [100, 200, 300, 400] and loaded.loop == 2
    assert len(loaded.frames) == 4
    for got, result in zip(loaded.frames, results):
        np.testing.assert_array_equal(_shown(got), _shown(result.to_image()))


def test_round_trip_palette_per_frame_gif(tmp_path):
    frames = _frames(4, alpha=True)
    results = [quantize(frame, 3) for frame in frames]
    path = tmp_path / "out.gif"
    path.write_bytes(encode_animation(results, "gif", durations=[70] * 4))
    loaded = load_animation(path)
    assert loaded.loop is None  # no loop given: plays once
    for got, result in zip(loaded.frames, results):
        np.testing.assert_array_equal(_shown(got), _shown(result.to_image()))


def test_encode_animation_errors():
    frames = _frames(2)
    per_frame = [quantize(frame, 2) for frame in frames]
    with pytest.raises(ValueError, match="one palette"):
        encode_animation(per_frame, "png")
    with pytest.raises(ValueError, match="durations"):
        encode_animation(per_frame, "gif", durations=[1])
    with pytest.raises(ValueError, match="empty"):
        encode_animation([], "gif")
    small = quantize(frames[0][:4], 2)
    with pytest.raises(ValueError, match="size"):
        encode_animation([per_frame[0], small], "gif")
