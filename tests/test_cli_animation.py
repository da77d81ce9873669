"""compress.py on animated input: every frame, one palette (or one a frame),
the animation kept (durations, loop, transparency), figures over all frames."""

import json

import numpy as np
import pytest
from PIL import Image
from test_animation import _frames, _save, _shown
from test_cli import assert_clean_failure, photo, run, save, snapshot

from kmeans_core import apply_palette, fit_palette
from kmeans_core.io import load_animation
from kmeans_core.metrics import psnr_from_mse


@pytest.fixture
def clip(tmp_path):
    """A GIF of 5 frames of a moving photo crop, each frame with its duration."""
    big = photo(80, 60, seed=3)
    frames = [np.ascontiguousarray(big[i * 4:i * 4 + 40, i * 6:i * 6 + 48])
              for i in range(5)]
    _save(frames, tmp_path / "clip.gif", duration=[40, 50, 60, 70, 80], loop=0)
    return tmp_path


def _json(proc):
    assert proc.returncode == 0, proc.stderr
    (line,) = proc.stdout.splitlines()
    return json.loads(line)


@pytest.mark.parametrize("out", ["out.gif", "out.png"])
def test_animated_gif_keeps_frames_durations_loop_one_palette(clip, out):
    record = _json(run(["clip.gif", "-k", "8", "-o", out, "--json"], clip))
    source = load_animation(clip / "clip.gif")
    result = load_animation(clip / out)
    assert record["frames"] == 5 and len(result.frames) == 5
    assert result.durations == [40, 50, 60, 70, 80] and result.loop == 0
    # One palette for all frames: the fit on all frames' colours.
    palette = fit_palette(source.frames, 8)
    mapped = [apply_palette(frame, palette) for frame in source.frames]
    for got, expected in zip(result.frames, mapped):
        np.testing.assert_array_equal(_shown(got), _shown(expected.to_image()))
    colours = np.unique(np.vstack([f.reshape(-1, 3) for f in result.frames]), axis=0)
    assert len(colours) <= 8 == record["colors_out"]
    # Figures over the whole animation.
    sse = sum(float(m.inertia) for m in mapped)
    n_values = sum(f.size for f in source.frames)
    assert record["mse"] == pytest.approx(sse / n_values, abs=1e-4)
    assert record["psnr"] == pytest.approx(psnr_from_mse(sse / n_values), abs=1e-3)
    assert record["bpp"] == pytest.approx(
        record["output_bytes"] * 8 / (48 * 40 * 5), abs=1e-4)
    assert record["colors_in"] == len(np.unique(
        np.vstack([f.reshape(-1, 3) for f in source.frames]), axis=0))
    if out.endswith(".gif"):
        with Image.open(clip / out) as im:
            palettes = set()
            for i in range(im.n_frames):
                im.seek(i)
                palettes.add(bytes(im.palette.palette) if im.palette else None)
        assert len(palettes) == 1


def test_per_frame_gives_each_frame_its_palette(clip):
    record = _json(run(["clip.gif", "-k", "4", "--per-frame", "-o", "per.gif",
                        "--json"], clip))
    assert record["palette"] == "per frame" and record["frames"] == 5
    result = load_animation(clip / "per.gif")
    assert result.durations == [40, 50, 60, 70, 80]
    for frame in result.frames:
        assert len(np.unique(frame.reshape(-1, 3), axis=0)) <= 4
    assert record["colors_out"] > 4  # the frames' palettes differ


def test_transparent_apng_round_trip(tmp_path):
    frames = _frames(4, alpha=True)
    _save(frames, tmp_path / "a.png", duration=30, loop=5, disposal=1)
    proc = run(["a.png", "-k", "6", "-o", "b.png"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "4 frames" in proc.stdout
    result = load_animation(tmp_path / "b.png")
    assert result.loop == 5 and result.durations == [30] * 4
    assert result.frames[0].shape[2] == 4
    for got, source in zip(result.frames, frames):
        hidden = source[..., 3] == 0
        assert (got[hidden, 3] == 0).all() and (got[~hidden, 3] == 255).all()


def test_shared_palette_across_an_animation_and_a_still(clip):
    save(photo(30, 20, seed=9), clip / "still.png")
    proc = run(["clip.gif", "still.png", "--shared-palette", "-k", "6",
                "--ext=-s.gif"], clip)
    assert proc.returncode == 0, proc.stderr
    with Image.open(clip / "clip-s.gif") as a, Image.open(clip / "still-s.gif") as b:
        assert a.getpalette() == b.getpalette()


@pytest.mark.parametrize("args,code,needle", [
    (["--per-frame"], 2, "--per-frame needs a GIF output"),
    (["--per-frame", "--shared-palette", "--ext", ".gif"], 2, "--per-frame cannot"),
    (["--psnr", "30"], 3, "still images only"),
    (["--plot", "p.png"], 3, "still images only"),
])
def test_animation_errors(clip, args, code, needle):
    before = snapshot(clip)
    proc = run(["clip.gif", *args], clip)
    assert_clean_failure(proc, code, needle)
    assert snapshot(clip) == before
