"""Tests of ``--shared-palette`` and ``--palette-from`` (``kmeans_core.cli._shared``).

Outputs are checked against the library (``fit_palette`` / ``apply_palette``)
and against each other: every output of a shared palette carries the same
``PLTE`` (and ``tRNS``) chunk, byte for byte.
"""

import json
from pathlib import Path

import _images
import numpy as np
import pytest
from PIL import Image
from test_cli import assert_clean_failure, photo, run, save, snapshot

from kmeans_core import apply_palette, fit_palette, load_image


def _palette_chunks(path):
    data = Path(path).read_bytes()
    return [(kind, body) for kind, body in _images.png_chunks(data)
            if kind in ("PLTE", "tRNS")]


def _shown(path):
    with Image.open(path) as im:
        return np.asarray(im.convert("RGBA"))


def _as_rgba(image):
    if image.shape[2] == 4:
        out = image.copy()
        out[out[..., 3] == 0] = 0
        return out
    return np.dstack([image, np.full(image.shape[:2], 255, np.uint8)])


@pytest.fixture
def sprites(tmp_path):
    for seed in range(3):
        save(photo(40, 30, seed=seed), tmp_path / f"s{seed}.png")
    return tmp_path


def test_shared_palette_same_entries_in_every_output(sprites):
    names = [f"s{seed}.png" for seed in range(3)]
    proc = run([*names, "--shared-palette", "-k", "8", "--json"], sprites)
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [line["palette"] for line in lines] == ["shared"] * 3
    assert _palette_chunks(sprites / "s0-k8.png")  # a PLTE chunk at least
    assert len({line["n_iter"] for line in lines}) == 1
    chunks = [_palette_chunks(sprites / f"s{seed}-k8.png") for seed in range(3)]
    assert chunks[0] == chunks[1] == chunks[2]
    # What each file shows is the library's mapping onto the library's fit.
    images = [load_image(sprites / name).pixels for name in names]
    palette = fit_palette(images, 8)
    for seed, image in enumerate(images):
        expected = apply_palette(image, palette).to_image()
        np.testing.assert_array_equal(
            _shown(sprites / f"s{seed}-k8.png"), _as_rgba(expected))


def test_shared_palette_with_alpha_and_gif(tmp_path):
    save(photo(32, 24, seed=1, alpha=True), tmp_path / "a.png")
    save(photo(32, 24, seed=2), tmp_path / "b.png")
    proc = run(["a.png", "b.png", "--shared-palette", "-k", "6"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "shared palette" in proc.stdout
    first, second = (_palette_chunks(tmp_path / n) for n in ("a-k6.png", "b-k6.png"))
    assert first == second and any(kind == "tRNS" for kind, _ in first)
    proc = run(["a.png", "b.png", "--shared-palette", "-k", "6", "--ext", ".gif"],
               tmp_path)
    assert proc.returncode == 0, proc.stderr
    palettes = [Image.open(tmp_path / n).getpalette() for n in ("a.gif", "b.gif")]
    assert palettes[0] == palettes[1]


def test_shared_palette_a_bad_file_fails_alone(sprites):
    (sprites / "bad.png").write_bytes(b"not an image")
    proc = run(["s0.png", "bad.png", "s1.png", "--shared-palette", "-k", "4"], sprites)
    assert proc.returncode == 3
    assert "bad.png" in proc.stderr and "Traceback" not in proc.stderr
    lines = proc.stdout.splitlines()  # the files after the bad one print too
    assert [line.split()[0] for line in lines[:2]] == ["s0.png", "s1.png"]
    assert (sprites / "s0-k4.png").exists() and (sprites / "s1-k4.png").exists()
    images = [load_image(sprites / n).pixels for n in ("s0.png", "s1.png")]
    palette = fit_palette(images, 4)  # the bad file takes no part in the fit
    with Image.open(sprites / "s0-k4.png") as im:
        assert sorted(np.array(im.getpalette()).reshape(-1, 3).tolist()) == sorted(
            palette.tolist())


def test_shared_palette_never_overwrites_without_force(sprites):
    assert run(["s0.png", "s1.png", "--shared-palette"], sprites).returncode == 0
    before = snapshot(sprites)
    proc = run(["s0.png", "s1.png", "--shared-palette"], sprites)
    assert proc.returncode == 4 and "--force" in proc.stderr
    assert snapshot(sprites) == before
    assert run(["s0.png", "s1.png", "--shared-palette", "--force"],
               sprites).returncode == 0


def test_palette_from_an_indexed_png_keeps_its_palette(sprites):
    assert run(["s0.png", "-k", "5", "-o", "pal.png"], sprites).returncode == 0
    proc = run(["s1.png", "s2.png", "--palette-from", "pal.png", "--json"], sprites)
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [line["output"] for line in lines] == ["s1-k5.png", "s2-k5.png"]
    assert {line["palette"] for line in lines} == {"pal.png"}
    reference = _palette_chunks(sprites / "pal.png")
    for name in ("s1-k5.png", "s2-k5.png"):
        assert _palette_chunks(sprites / name) == reference
    with Image.open(sprites / "pal.png") as im:
        palette = np.array(im.getpalette("RGB"), np.uint8).reshape(-1, 3)
    expected = apply_palette(load_image(sprites / "s1.png").pixels, palette)
    np.testing.assert_array_equal(_shown(sprites / "s1-k5.png"),
                                  _as_rgba(expected.to_image()))


def test_palette_from_any_image_uses_its_colours(sprites):
    colours = np.zeros((2, 3, 3), np.uint8)
    colours[0] = (255, 0, 0)
    colours[1, :2] = (0, 0, 255)
    save(colours, sprites / "few.bmp")
    proc = run(["s0.png", "--palette-from", "few.bmp", "-o", "out.png"], sprites)
    assert proc.returncode == 0, proc.stderr
    shown = _shown(sprites / "out.png")[..., :3].reshape(-1, 3)
    assert {tuple(c) for c in shown.tolist()} <= {(255, 0, 0), (0, 0, 255), (0, 0, 0)}


@pytest.mark.parametrize("args,needle", [
    (["--palette-from", "s1.png"], "at most 256"),  # a photo: too many colours
    (["--palette-from", "missing.png"], "no such file"),
])
def test_palette_from_bad_file_exit_3_nothing_written(sprites, args, needle):
    before = snapshot(sprites)
    proc = run(["s0.png", *args], sprites)
    assert_clean_failure(proc, 3, "--palette-from", needle)
    assert snapshot(sprites) == before


@pytest.mark.parametrize("args,needle", [
    (["--shared-palette", "--palette-from", "s1.png"], "not allowed with"),
    (["--palette-from", "s1.png", "-k", "4"], "-k cannot be used"),
    (["--shared-palette", "--psnr", "30"], "--psnr cannot be used"),
    (["--shared-palette", "--quality", "30-35"], "--quality cannot be used"),
    (["--shared-palette", "--method", "minibatch"], "--method minibatch"),
    (["--shared-palette", "--animate", "x.gif"], "--animate cannot be used"),
])
def test_shared_options_usage_errors(sprites, args, needle):
    before = snapshot(sprites)
    proc = run(["s0.png", *args], sprites)
    assert_clean_failure(proc, 2, needle)
    assert snapshot(sprites) == before
