"""Tests of the command line (``compress.py`` / ``kmeans_core.cli``).

Most tests run ``compress.py`` in a subprocess, the way a user does, in a
temporary folder holding small images made here (and one sample photo). Each
error path checks the exit code, one line on stderr naming the cause, no
traceback, and that no file was written or changed. Pure parsing and naming
functions are tested in-process.
"""

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import _images
import numpy as np
import pytest
from PIL import Image

from kmeans_core import _atomic, cli
from kmeans_core.cli import _args, _files, _report

ROOT = Path(__file__).resolve().parents[1]
COMPRESS = ROOT / "compress.py"
SAMPLE = ROOT / "samples" / "chelsea.jpg"


# -- helpers -----------------------------------------------------------------


def run(args, cwd, **kwargs):
    """Run compress.py with ``args`` in ``cwd``; the CompletedProcess."""
    return subprocess.run(
        [sys.executable, str(COMPRESS), *map(str, args)],
        cwd=cwd, capture_output=True, text=True, timeout=120, check=False, **kwargs,
    )


def run_python(script, cwd):
    """Run ``python -c script`` in ``cwd``, the repository importable."""
    return subprocess.run([sys.executable, "-c", script], cwd=cwd,
                          capture_output=True, text=True, timeout=120, check=False,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)))


def snapshot(folder):
    """{relative path: (bytes, mtime_ns)} of every file under ``folder``."""
    return {
        str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(Path(folder).rglob("*")) if p.is_file()
    }


def error_lines(proc):
    return proc.stderr.splitlines()


def assert_clean_failure(proc, code, *needles):
    """Exit ``code``; stderr one 'compress.py: error:' line holding the needles."""
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = error_lines(proc)
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("compress.py: error: "), lines[0]
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    assert proc.returncode == code, (proc.returncode, proc.stderr)


def photo(width=64, height=48, seed=0, alpha=False):
    """A small photo-like image: smooth gradients plus noise, uint8."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    rgb = np.stack([
        255 * x / width,
        255 * y / height,
        127 + 100 * np.sin((x + y) / 9.0 + seed),
    ], axis=2)
    rgb += rng.normal(0, 12, rgb.shape)
    image = np.clip(rgb, 0, 255).astype(np.uint8)
    if alpha:
        a = np.full((height, width, 1), 255, dtype=np.uint8)
        a[:, : width // 4] = 0  # fully transparent band
        a[:, width // 4: width // 2] = 128  # half transparent band
        image = np.concatenate([image, a], axis=2)
    return image


def save(image, path, **kwargs):
    Image.fromarray(image).save(path, **kwargs)
    return Path(path)


def open_png(path):
    """Open an output and check it is a valid indexed PNG; the Pillow image."""
    with Image.open(path) as im:
        im.load()
        assert im.format == "PNG"
        assert im.mode == "P"
        return im.copy()


def n_used_colors(im):
    return len(np.unique(np.asarray(im)))


@pytest.fixture
def folder(tmp_path):
    """A folder with good and bad inputs."""
    exif = Image.Exif()
    exif[0x010F] = "TestCam"  # Make: metadata that is stripped by default
    save(photo(seed=1), tmp_path / "a.jpg", quality=90, exif=exif.tobytes())
    save(photo(seed=2), tmp_path / "b.png")
    (tmp_path / "notimage.jpg").write_text("this is not an image\n")
    (tmp_path / "empty.png").write_bytes(b"")
    data = (tmp_path / "b.png").read_bytes()
    (tmp_path / "truncated.png").write_bytes(data[: len(data) // 2])
    return tmp_path


# -- in-process: option types and naming ----------------------------------------


@pytest.mark.parametrize("text,value", [("1", 1), ("16", 16), ("256", 256)])
def test_colors_accepts_1_to_256(text, value):
    assert _args.parse_colors(text) == value


@pytest.mark.parametrize("text", ["0", "257", "-3", "16.5", "abc", "1e3", "1_6", ""])
def test_colors_rejects_junk(text):
    with pytest.raises(argparse.ArgumentTypeError):
        _args.parse_colors(text)


@pytest.mark.parametrize("argv,needle", [
    (["a.jpg", "b.jpg", "-o", "x.png"], "-o/--output takes one input"),
    (["a.jpg", "-o", "x.png", "--out-dir", "d"], "cannot be used together"),
    (["a.jpg", "-o", "x.png", "--ext", ".gif"], "cannot be used together"),
    (["a.jpg", "b.jpg", "--plot", "p.png"], "--plot takes one input"),
    (["a.jpg", "b.jpg", "--animate", "p.gif"], "--animate takes one input"),
    (["a.jpg", "--plot", "p.gif"], "must end in .png"),
    (["a.jpg", "--animate", "p.png"], "must end in .gif"),
    (["a.jpg", "--json", "-q"], "not allowed with"),
    (["a.jpg", "--ext", "sub/x.png"], "must not contain a folder"),
    (["a.jpg", "--ext", ".jpg"], "must end in .png or .gif"),
    (["a.jpg", "--workers", "0"], "0 is not in 1..256"),
    (["a.jpg", "--max-pixels", "ten"], "not a whole number"),
    (["a.jpg", "--method", "fast"], "invalid choice"),
])
def test_parse_args_rejects(argv, needle):
    with pytest.raises(_args.UsageError) as info:
        _args.parse_args(argv, prog="compress.py")
    assert needle in str(info.value)


def test_parse_args_defaults():
    args = _args.parse_args(["a.jpg"], prog="compress.py")
    assert (args.colors, args.method, args.workers, args.seed) == (16, "kmeans", None, 0)
    assert args.output is None and args.out_dir is None and not args.force


def test_output_path_naming():
    assert _files.output_path("d/cat.jpg", n_colors=16) == os.path.join("d", "cat-k16.png")
    assert _files.output_path("cat", n_colors=8) == "cat-k8.png"
    assert _files.output_path("d/cat.jpg", n_colors=8, out_dir="o", ext=".gif") == \
        os.path.join("o", "cat.gif")
    assert _files.output_path("d/cat.jpg", n_colors=8, output="x.png") == "x.png"


@pytest.mark.parametrize("codes,worst", [
    ([0, 98, 99, 3, 4, 1], 1),
    ([0, 98, 3, 4], 4),
    ([0, 3, 99, 98], 3),
    ([98, 99, 0], 99),
    ([0, 98], 98),
    ([0, 0], 0),
    ([], 0),
])
def test_worst_exit_code(codes, worst):
    assert _report.worst_exit_code(codes) == worst
    assert _report.worst_exit_code(reversed(codes)) == worst


def test_expand_inputs(tmp_path):
    save(photo(), tmp_path / "x.jpg")
    save(photo(), tmp_path / "x-k16.png")  # an earlier output: skipped
    save(photo(), tmp_path / "y-k256.gif")  # an earlier output: skipped
    save(photo(), tmp_path / "y.mine.png")  # --ext output below: skipped
    save(photo(), tmp_path / ".hidden.png")
    (tmp_path / "notes.txt").write_text("hi")
    (tmp_path / "sub").mkdir()
    save(photo(), tmp_path / "sub" / "z.PNG")
    (tmp_path / "nothing").mkdir()

    files, failures = _files.expand_inputs([str(tmp_path)], ext=".mine.png")
    assert [Path(f).name for f in files] == ["x.jpg"] and failures == []
    files, _ = _files.expand_inputs([str(tmp_path)], recursive=True, ext=".mine.png")
    assert [Path(f).name for f in files] == ["x.jpg", "z.PNG"]
    # Named files are always taken, and each file only once.
    named = str(tmp_path / "x-k16.png")
    files, _ = _files.expand_inputs([named, named, str(tmp_path / "x.jpg")])
    assert files == [named, str(tmp_path / "x.jpg")]
    files, failures = _files.expand_inputs(
        [str(tmp_path / "nothing"), str(tmp_path / "missing.jpg")]
    )
    assert files == []
    assert [(f.exit_code, f.error) for f in failures] == [
        (3, "no image files in folder (--recursive searches sub-folders)"),
        (3, "no such file or folder"),
    ]


# -- in-process: failures that cannot be staged from outside as root -----------


def test_unwritable_folder_leaves_nothing(tmp_path, monkeypatch, capsys):
    save(photo(), tmp_path / "a.png")
    before = snapshot(tmp_path)

    real_open = os.open

    def refuse(path, flags, *args):  # creating the temporary file fails
        if os.path.basename(path).startswith(".a-k16.png."):
            raise PermissionError(13, "Permission denied")
        return real_open(path, flags, *args)

    monkeypatch.setattr(_atomic.os, "open", refuse)
    monkeypatch.chdir(tmp_path)
    assert cli.main(["a.png"]) == _report.EXIT_OUTPUT
    # (On an empty numba cache, a first-run notice comes before.)
    err = [line for line in capsys.readouterr().err.splitlines()
           if ": first run: " not in line]
    assert len(err) == 1 and "cannot write in folder" in err[0], err
    assert "Permission denied" in err[0]
    assert snapshot(tmp_path) == before


def test_interrupt_while_writing_leaves_no_file(tmp_path, monkeypatch, capsys):
    save(photo(), tmp_path / "a.png")
    before = snapshot(tmp_path)

    def interrupted(tmp, target, *, force):
        assert os.path.exists(tmp)  # the temporary file is there ...
        raise KeyboardInterrupt

    monkeypatch.setattr(_atomic, "_install", interrupted)
    monkeypatch.chdir(tmp_path)
    assert cli.main(["a.png"]) == _report.EXIT_INTERRUPTED
    assert "interrupted" in capsys.readouterr().err
    assert snapshot(tmp_path) == before  # ... and removed


# -- subprocess: the main job ----------------------------------------------------


def test_sample_photo_default_name_then_exists_then_force(tmp_path):
    src = tmp_path / "chelsea.jpg"
    src.write_bytes(SAMPLE.read_bytes())
    original = src.read_bytes(), src.stat().st_mtime_ns

    proc = run([src.name], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    out = tmp_path / "chelsea-k16.png"
    im = open_png(out)
    with Image.open(src) as orig:
        assert im.size == orig.size
    assert n_used_colors(im) <= 16
    line = proc.stdout.strip()
    assert line.count("\n") == 0
    n_bytes = out.stat().st_size
    width, height = im.size
    assert f"{src.stat().st_size:,} -> {n_bytes:,} bytes" in line
    assert f"{n_bytes * 8 / (width * height):.3f} bpp" in line
    for needle in ("chelsea.jpg (451x300) -> chelsea-k16.png", "-> 16 colours",
                   "PSNR", "dB", "MSE", "iterations", " s"):
        assert needle in line, needle

    # Again: the output exists, so nothing happens without --force.
    before = snapshot(tmp_path)
    proc = run([src.name], tmp_path)
    assert_clean_failure(proc, 4, "chelsea.jpg", "exists", "--force")
    assert snapshot(tmp_path) == before

    # --force replaces it (here with fewer colours).
    proc = run([src.name, "--force", "-k", "4", "-o", "chelsea-k16.png"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert n_used_colors(open_png(out)) <= 4
    assert (src.read_bytes(), src.stat().st_mtime_ns) == original
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


@pytest.mark.parametrize("make_args,code,needles", [
    (lambda d: ["missing.jpg"], 3, ["missing.jpg", "no such file"]),
    (lambda d: ["notimage.jpg"], 3, ["notimage.jpg", "not an image"]),
    (lambda d: ["empty.png"], 3, ["empty.png", "empty"]),
    (lambda d: ["truncated.png"], 3, ["truncated.png"]),
    (lambda d: ["a.jpg", "--max-pixels", "1000"], 3,
     ["a.jpg", "64 x 48 = 3,072 pixels exceeds --max-pixels 1,000"]),
    (lambda d: [_images.make_bomb_png(d, 20_000, 20_000).name], 3,
     ["400,000,000 pixels exceeds --max-pixels 89,478,485, the default"]),
    (lambda d: [_images.make_short_png(d, 100, 100, rows=10).name], 3,
     ["short_10of100.png", "truncated image data", "10 of the 100 rows"]),
    (lambda d: ["-"], 2, ["standard input ('-') is not supported"]),
    (lambda d: ["a.jpg", "-"], 2, ["standard input ('-') is not supported"]),
    (lambda d: ["a.jpg", "-k", "257"], 2, ["-k/--colors", "257 is not in 1..256"]),
    (lambda d: ["a.jpg", "--bogus"], 2, ["unrecognized arguments: --bogus"]),
    (lambda d: [".", "-o", "x.png"], 2, ["-o/--output takes one input", "expands to"]),
    (lambda d: ["a.jpg", "--out-dir", "nowhere"], 4, ["nowhere", "does not exist"]),
    (lambda d: ["a.jpg", "--out-dir", "b.png"], 4, ["b.png", "not a folder"]),
    (lambda d: ["a.jpg", "-o", "nowhere/x.png"], 4, ["a.jpg", "does not exist"]),
    (lambda d: ["b.png", "-o", "b.png", "--force"], 4, ["would overwrite the input"]),
    (lambda d: ["b.png", "--ext", ".png", "--force"], 4, ["would overwrite the input"]),
])
def test_error_paths(folder, make_args, code, needles):
    # Usage errors are tested in-process above (test_parse_args_rejects); the
    # ones here also check the one-line, traceback-free form end to end.
    args = make_args(folder)  # may write an input first
    before = snapshot(folder)
    proc = run(args, folder)
    assert_clean_failure(proc, code, *needles)
    assert proc.stdout == ""
    assert snapshot(folder) == before  # nothing written, inputs unchanged


def test_batch_goes_on_past_bad_files_and_exits_with_worst(folder):
    save(photo(seed=3), folder / "c.jpg")
    existing = folder / "c-k8.png"
    existing.write_bytes(b"keep me")
    inputs = ["a.jpg", "notimage.jpg", "b.png", "c.jpg", "missing.jpg", "empty.png"]
    proc = run([*inputs, "-k", "8", "--workers", "2"], folder)
    assert "Traceback" not in proc.stderr
    assert proc.returncode == 4  # output error outranks the input errors
    errors = error_lines(proc)
    assert len(errors) == 4, proc.stderr
    for name in ("notimage.jpg", "c.jpg", "missing.jpg", "empty.png"):
        assert sum(line.startswith(f"compress.py: error: {name}: ") for line in errors) == 1
    assert existing.read_bytes() == b"keep me"
    for name in ("a-k8.png", "b-k8.png"):
        assert n_used_colors(open_png(folder / name)) <= 8
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("a.jpg (64x48) -> a-k8.png: ")  # input order
    assert lines[1].startswith("b.png (64x48) -> b-k8.png: ")
    assert lines[-1].startswith("6 files: 2 written, 0 skipped, 4 failed; ")
    assert len(lines) == 3


def test_json_lines(folder):
    frames = [Image.fromarray(photo(seed=s)) for s in (8, 9)]
    frames[0].save(folder / "anim.gif", save_all=True, append_images=frames[1:])
    proc = run(["a.jpg", "notimage.jpg", "anim.gif", "--json", "-k", "5"], folder)
    assert proc.returncode == 3
    records = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r["input"] for r in records] == ["a.jpg", "notimage.jpg", "anim.gif"]
    assert [r["status"] for r in records] == ["written", "failed", "written"]
    assert [r["exit_code"] for r in records] == [0, 3, 0]
    assert records[0]["warnings"] == []
    # Every frame is used now (tests/test_cli_animation.py): no warning.
    assert records[2]["warnings"] == [] and records[2]["frames"] == 2
    a = records[0]
    out = folder / "a-k5.png"
    assert a["output"] == "a-k5.png" and a["output_bytes"] == out.stat().st_size
    assert a["input_bytes"] == (folder / "a.jpg").stat().st_size
    assert a["ratio"] == pytest.approx(a["output_bytes"] / a["input_bytes"], abs=1e-4)
    assert a["bpp"] == pytest.approx(a["output_bytes"] * 8 / (64 * 48), abs=1e-4)
    assert (a["width"], a["height"], a["k"], a["method"]) == (64, 48, 5, "kmeans")
    assert a["colors_out"] <= 5 < a["colors_in"]
    assert a["psnr"] == pytest.approx(10 * np.log10(255**2 / a["mse"]), abs=1e-2)
    assert a["n_iter"] >= 1 and a["seconds"] > 0
    # The reported MSE is the one of the written file against the input.
    with Image.open(folder / "a.jpg") as im:
        original = np.asarray(im.convert("RGB"), dtype=np.float64)
    written = np.asarray(open_png(out).convert("RGB"), dtype=np.float64)
    assert a["mse"] == pytest.approx(np.mean((original - written) ** 2), rel=1e-3)
    assert not open_png(out).getexif()  # metadata stripped by default
    assert error_lines(proc) == [
        "compress.py: error: notimage.jpg: not an image, or a format Pillow cannot read",
    ]


def test_quiet_prints_nothing_but_errors(folder):
    ok = run(["a.jpg", "-q", "--method", "minibatch"], folder)
    assert (ok.returncode, ok.stdout, ok.stderr) == (0, "", "")
    assert n_used_colors(open_png(folder / "a-k16.png")) <= 16
    bad = run(["b.png", "notimage.jpg", "-q"], folder)
    assert bad.stdout == ""
    assert_clean_failure(bad, 3, "notimage.jpg")


def test_skip_if_larger(tmp_path):
    # A JPEG of pure noise: 64 colours of noise take 6+ bits a pixel in a PNG
    # (over 2,300 bytes) where the JPEG has about 1,500 bytes.
    noise = np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    save(noise, tmp_path / "small.jpg", quality=30)
    # A true-colour PNG of a smooth gradient: far larger than its quantization.
    y, x = np.mgrid[0:48, 0:64]
    smooth = np.stack([x * 4, y * 5, (x + y) * 2], axis=2).astype(np.uint8)
    save(smooth, tmp_path / "big.png", compress_level=0)
    before = snapshot(tmp_path)
    proc = run(["small.jpg", "big.png", "--skip-if-larger", "-k", "64"],
               tmp_path)
    assert proc.returncode == 98, proc.stderr
    assert error_lines(proc) == [line for line in error_lines(proc)
                                 if line.startswith("compress.py: skipped: small.jpg: ")]
    assert len(error_lines(proc)) == 1 and "not smaller than" in proc.stderr
    assert not (tmp_path / "small-k64.png").exists()
    assert proc.stdout.splitlines()[-1].startswith("2 files: 1 written, 1 skipped")
    assert (tmp_path / "big-k64.png").stat().st_size < (tmp_path / "big.png").stat().st_size
    after = snapshot(tmp_path)
    assert {k: after[k] for k in before} == before


def test_folder_recursive_workers_out_dir(folder):
    for name in ("notimage.jpg", "empty.png", "truncated.png"):
        (folder / name).unlink()
    sub = folder / "sub"
    sub.mkdir()
    save(photo(seed=5), sub / "c.tif")
    save(photo(seed=6), folder / "old-k16.png")  # an earlier output: skipped
    (folder / "out").mkdir()
    proc = run([".", "--recursive", "--workers", "2", "--out-dir", "out", "-k", "6",
                "--ext=-small.gif"], folder)
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in (folder / "out").iterdir()) == [
        "a-small.gif", "b-small.gif", "c-small.gif"]
    with Image.open(folder / "out" / "c-small.gif") as im:
        assert im.format == "GIF" and im.size == (64, 48)
        assert len(np.unique(np.asarray(im))) <= 6
    assert proc.stdout.splitlines()[-1].startswith("3 files: 3 written")

    # Without --recursive sub-folders are left alone.
    (folder / "deep" / "inner").mkdir(parents=True)
    save(photo(seed=7), folder / "deep" / "inner" / "d.png")
    before = snapshot(folder)
    proc = run(["deep", "-k", "6"], folder)
    assert_clean_failure(proc, 3, "deep", "no image files", "--recursive")
    assert snapshot(folder) == before


def test_transparency_kept(tmp_path):
    image = photo(alpha=True)
    save(image, tmp_path / "alpha.png")
    proc = run(["alpha.png", "-o", "out.png", "-k", "8"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    im = open_png(tmp_path / "out.png")
    assert "transparency" in im.info  # a tRNS chunk
    alpha = np.asarray(im.convert("RGBA"))[..., 3]
    assert (alpha[:, :16] == 0).all()  # fully transparent stays transparent
    assert np.abs(alpha[:, 16:32].astype(int) - 128).max() <= 40  # half stays half
    assert (alpha[:, 48:] >= 200).all()  # opaque stays (nearly) opaque


def test_exif_rotated_input(tmp_path):
    image = photo()
    image[:12, :12] = (255, 0, 0)  # a red corner shows where the top-left went
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    exif[0x010F] = "TestCam"  # Make
    save(image, tmp_path / "rotated.jpg", exif=exif.tobytes(), quality=95)
    proc = run(["rotated.jpg", "--json", "-k", "16", "--keep-metadata"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    record = json.loads(proc.stdout)
    assert (record["width"], record["height"]) == (48, 64)
    out = open_png(tmp_path / "rotated-k16.png")
    kept = out.getexif()
    assert kept.get(0x010F) == "TestCam"  # --keep-metadata carried the EXIF over
    assert 0x0112 not in kept  # but not the orientation: the pixels are upright
    out = out.convert("RGB")
    assert out.size == (48, 64)
    red = np.asarray(out)[2:10, -10:-2].astype(int)  # now the top-right corner
    assert (red[..., 0] > 180).all() and (red[..., 1:] < 80).all()


def test_help_lists_exit_codes(tmp_path):
    proc = run(["--help"], tmp_path)
    assert proc.returncode == 0 and proc.stderr == ""
    for needle in ("exit codes", "  0 ", "  1 ", "  2 ", "  3 ", "  4 ", "  98 ",
                   "  99 ", "  130 ", "--skip-if-larger", "--out-dir", "--workers",
                   "--max-pixels", "--keep-metadata", "-k K, --colors K"):
        assert needle in proc.stdout, needle


def test_ctrl_c_leaves_no_partial_file(tmp_path):
    names = [f"p{i:02d}.jpg" for i in range(12)]
    for name in names:
        (tmp_path / name).write_bytes(SAMPLE.read_bytes())
    proc = subprocess.Popen(
        [sys.executable, str(COMPRESS), *names, "-k", "64"], cwd=tmp_path,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    first = proc.stdout.readline()  # the first file is done: others are running
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert first.startswith("p00.jpg"), first + err
    assert proc.returncode == 130, err
    assert err.strip().splitlines() == ["compress.py: interrupted"]
    written = sorted(p.name for p in tmp_path.glob("*-k64.png"))
    assert 1 <= len(written) < len(names)
    for name in written:
        open_png(tmp_path / name)  # every output there is complete
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_plot_and_animation(tmp_path):
    save(photo(), tmp_path / "a.png")
    proc = run(["a.png", "-k", "4", "--plot", "report.png", "--animate", "run.gif",
                "--json"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    record = json.loads(proc.stdout)
    assert record["plot"] == "report.png" and record["animation"] == "run.gif"
    with Image.open(tmp_path / "report.png") as im:
        assert im.format == "PNG"
        drawn = {tuple(c) for c in np.asarray(im.convert("RGB")).reshape(-1, 3).tolist()}
    assert png_palette(tmp_path / "a-k4.png") <= drawn  # the output is in it
    with Image.open(tmp_path / "run.gif") as im:
        assert im.format == "GIF"
        assert im.n_frames == record["animation_frames"] >= 2
        im.seek(0)
        first = np.asarray(im.convert("RGB"))
        im.seek(im.n_frames - 1)
        assert not np.array_equal(np.asarray(im.convert("RGB")), first)  # it moves


# -- colour space, dithering and the quality target ----------------------------


def png_pixels(path):
    """The RGB pixels of a PNG file (indexed or not), uint8."""
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def png_palette(path):
    """The palette entries used by an indexed PNG, as a set of RGB tuples."""
    im = open_png(path)
    used = np.unique(np.asarray(im))
    palette = np.array(im.getpalette()[: 3 * (int(used.max()) + 1)]).reshape(-1, 3)
    return {tuple(int(v) for v in palette[i]) for i in used}


def measured_psnr(a, b):
    err = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if err == 0 else 10 * np.log10(255**2 / err)


@pytest.mark.parametrize("text,value", [("0", 0.0), ("1", 1.0), ("0.25", 0.25),
                                        (".5", 0.5), ("1.0", 1.0)])
def test_dither_level_accepts_0_to_1(text, value):
    assert _args.parse_dither(text) == value


@pytest.mark.parametrize("text", ["2", "1.01", "-0.5", "1e0", "nan", "inf", "half", ""])
def test_dither_level_rejects_junk(text):
    with pytest.raises(argparse.ArgumentTypeError):
        _args.parse_dither(text)


def test_psnr_and_quality_types():
    assert _args.parse_psnr("33") == 33.0 and _args.parse_psnr("30.5") == 30.5
    assert _args.parse_quality("30-36") == (30.0, 36.0)
    assert _args.parse_quality("33-33") == (33.0, 33.0)
    for text in ("0", "-3", "inf", "nan", "3e1", "x"):
        with pytest.raises(argparse.ArgumentTypeError):
            _args.parse_psnr(text)
    for text in ("36", "36-30", "30-", "-36", "30-33-36", "0-30", "a-b"):
        with pytest.raises(argparse.ArgumentTypeError):
            _args.parse_quality(text)


@pytest.mark.parametrize("argv,dither,inputs", [
    (["a.jpg"], None, ["a.jpg"]),
    (["a.jpg", "--dither"], 1.0, ["a.jpg"]),
    (["--dither", "a.jpg"], 1.0, ["a.jpg"]),  # a file name is not a level
    (["--dither", "0.5", "a.jpg"], 0.5, ["a.jpg"]),
    (["a.jpg", "--dither=0.25"], 0.25, ["a.jpg"]),
    (["a.jpg", "--dither", "0"], None, ["a.jpg"]),  # level 0: no dithering
    (["a.jpg", "--dither", "-k", "8"], 1.0, ["a.jpg"]),
])
def test_parse_dither_forms(argv, dither, inputs):
    args = _args.parse_args(argv, prog="compress.py")
    assert args.dither == dither and args.inputs == inputs


def test_parse_psnr_defaults_and_max_k():
    args = _args.parse_args(["a.jpg", "--psnr", "33"], prog="compress.py")
    assert (args.psnr_target, args.psnr_min, args.colors) == (33.0, None, 256)
    args = _args.parse_args(["a.jpg", "--psnr", "33", "-k", "64"], prog="compress.py")
    assert args.colors == 64
    args = _args.parse_args(["a.jpg", "--quality", "30-36"], prog="compress.py")
    assert (args.psnr_target, args.psnr_min, args.colors) == (36.0, 30.0, 256)
    args = _args.parse_args(["a.jpg", "--color-space", "oklab"], prog="compress.py")
    assert (args.color_space, args.colors, args.psnr_target) == ("oklab", 16, None)


@pytest.mark.parametrize("argv,needle", [
    (["a.jpg", "--dither", "2"], "--dither: 2 is not in 0..1"),
    (["a.jpg", "--dither", "1e0"], "'1e0' is not a decimal number"),
    (["a.jpg", "--psnr", "0"], "--psnr: 0 is not > 0"),
    (["a.jpg", "--psnr", "-3"], "--psnr: '-3' is not a decimal number"),
    (["a.jpg", "--quality", "36-30"], "MIN 36 exceeds MAX 30"),
    (["a.jpg", "--quality", "36"], "is not MIN-MAX"),
    (["a.jpg", "--psnr", "30", "--quality", "30-36"], "not allowed with"),
    (["a.jpg", "--psnr", "30", "--method", "minibatch"], "--method kmeans only"),
    (["a.jpg", "--quality", "30-36", "--animate", "a.gif"],
     "--animate cannot be used with --quality"),
    (["a.jpg", "--color-space", "lab"], "invalid choice: 'lab'"),
])
def test_parse_args_rejects_new_options(argv, needle):
    with pytest.raises(_args.UsageError) as info:
        _args.parse_args(argv, prog="compress.py")
    assert needle in str(info.value)


def test_psnr_output_names():
    assert _files.output_path("d/cat.jpg", n_colors=256, psnr_target=33.0) == \
        os.path.join("d", "cat-psnr33.png")
    assert _files.output_path("cat.jpg", n_colors=8, psnr_target=36.0, psnr_min=30.0) == \
        "cat-psnr30-36.png"
    assert _files._is_own_output("cat-psnr33.png", None)
    assert _files._is_own_output("cat-psnr30.5-36.gif", None)
    assert not _files._is_own_output("psnr.png", None)


def test_color_space_and_dither_end_to_end(tmp_path):
    from kmeans_core.color import delta_e_ok

    image = photo(seed=3)
    save(image, tmp_path / "a.png")
    outputs = {}
    for name, extra in (("rgb", []), ("oklab", ["--color-space", "oklab"]),
                        ("fs", ["--dither"]), ("half", ["--dither", "0.5"]),
                        ("zero", ["--dither", "0"])):
        proc = run(["a.png", "-k", "8", "-o", f"{name}.png", "--json", *extra],
                   tmp_path)
        assert proc.returncode == 0, proc.stderr
        outputs[name] = json.loads(proc.stdout)
    assert outputs["rgb"]["color_space"] == "rgb" and outputs["rgb"]["dither"] is None
    assert outputs["oklab"]["color_space"] == "oklab"
    assert (outputs["fs"]["dither"], outputs["half"]["dither"]) == (1.0, 0.5)
    assert outputs["zero"]["dither"] is None
    pixels = {name: png_pixels(tmp_path / f"{name}.png") for name in outputs}
    # OKLab clustering: lower perceptual error, not the same palette.
    assert delta_e_ok(image, pixels["oklab"]) < delta_e_ok(image, pixels["rgb"])
    assert png_palette(tmp_path / "oklab.png") != png_palette(tmp_path / "rgb.png")
    # Dithering: the same palette, other pixels; level 0 is no dithering.
    np.testing.assert_array_equal(pixels["zero"], pixels["rgb"])
    for name in ("fs", "half"):
        assert png_palette(tmp_path / f"{name}.png") <= png_palette(tmp_path / "rgb.png")
        assert not np.array_equal(pixels[name], pixels["rgb"])
        assert outputs[name]["psnr"] == pytest.approx(
            measured_psnr(image, pixels[name]), abs=1e-3)
    # Text output names the options.
    proc = run(["a.png", "-k", "8", "-o", "t.png", "--color-space", "oklab",
                "--dither", "0.5"], tmp_path)
    assert proc.returncode == 0 and "(oklab, dither 0.5)" in proc.stdout


def test_psnr_target_chooses_k_and_reaches_it(tmp_path):
    image = photo(seed=4)
    save(image, tmp_path / "a.png")
    proc = run(["a.png", "--psnr", "30"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    match = re.search(r"k=([0-9]+) chosen for PSNR >= 30 dB in ([0-9]+) fits",
                      proc.stdout)
    assert match, proc.stdout
    k = int(match.group(1))
    out = tmp_path / "a-psnr30.png"
    assert 1 < n_used_colors(open_png(out)) <= k < 256
    assert measured_psnr(image, png_pixels(out)) >= 30
    # k - 1 colours miss the target (the search fitted k - 1, same seed).
    proc = run(["a.png", "--psnr", "30", "-o", "b.png", "--json"], tmp_path)
    record = json.loads(proc.stdout)
    assert record["k"] == k and record["max_k"] == 256 and record["psnr_target"] == 30
    assert record["psnr"] >= 30 and record["n_fits"] == int(match.group(2))
    from kmeans_core.quality import quantize_to_psnr

    _, tried = quantize_to_psnr(image, 30.0)
    assert dict(tried)[k - 1] < 30 <= dict(tried)[k]


def test_psnr_target_not_reachable_exit_99(tmp_path):
    save(photo(seed=5), tmp_path / "a.png")
    before = snapshot(tmp_path)
    proc = run(["a.png", "--psnr", "60", "-k", "4"], tmp_path)
    assert_clean_failure(proc, 99, "a.png", "PSNR 60 dB not reachable",
                         "4 colours give")
    assert snapshot(tmp_path) == before  # no output, no temporary file
    proc = run(["a.png", "--quality", "50-60", "-k", "4", "--json"], tmp_path)
    assert proc.returncode == 99
    record = json.loads(proc.stdout)
    assert record["status"] == "failed" and record["exit_code"] == 99
    assert "PSNR 50 dB not reachable" in record["error"]
    assert snapshot(tmp_path) == before


def test_quality_min_accepts_max_colours(tmp_path):
    image = photo(seed=5)
    save(image, tmp_path / "a.png")
    proc = run(["a.png", "--quality", "15-60", "-k", "4", "--json"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    record = json.loads(proc.stdout)
    assert record["k"] == 4 and record["output"] == "a-psnr15-60.png"
    assert 15 <= measured_psnr(image, png_pixels(tmp_path / "a-psnr15-60.png")) < 60


def test_batch_with_an_unreachable_target_exits_99(tmp_path):
    flat = np.zeros((16, 16, 3), np.uint8)
    flat[:8] = (200, 30, 30)
    save(flat, tmp_path / "flat.png")
    save(photo(seed=6), tmp_path / "photo.png")
    proc = run(["flat.png", "photo.png", "--psnr", "40", "-k", "2"], tmp_path)
    assert proc.returncode == 99
    assert (tmp_path / "flat-psnr40.png").exists()
    assert not (tmp_path / "photo-psnr40.png").exists()
    assert "photo.png: PSNR 40 dB not reachable" in proc.stderr
    np.testing.assert_array_equal(png_pixels(tmp_path / "flat-psnr40.png"), flat)


def test_plot_and_animation_with_oklab(tmp_path):
    save(photo(), tmp_path / "a.png")
    proc = run(["a.png", "-k", "4", "--color-space", "oklab", "--dither",
                "--plot", "report.png", "--animate", "run.gif", "--json"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    record = json.loads(proc.stdout)
    assert record["color_space"] == "oklab" and record["animation_frames"] >= 2
    with Image.open(tmp_path / "report.png") as im:
        assert im.format == "PNG"
    with Image.open(tmp_path / "run.gif") as im:
        assert im.n_frames == record["animation_frames"]


def test_error_figures_ignore_the_colour_of_invisible_pixels(tmp_path):
    # Top half fully transparent over random colours, bottom half 3 greys:
    # 16 colours keep every visible pixel exactly, so the error is 0.
    rng = np.random.default_rng(0)
    image = np.zeros((32, 32, 4), np.uint8)
    image[:16, :, :3] = rng.integers(0, 256, (16, 32, 3))
    image[16:, :, :3] = rng.integers(0, 3, (16, 32, 1)) * 100
    image[16:, :, 3] = 255
    save(image, tmp_path / "rgba.png")
    proc = run(["rgba.png", "-k", "16", "--json"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["mse"] == 0.0 and report["psnr"] is None  # lossless


def test_output_name_near_the_length_limit(tmp_path):
    name = "p" * 240 + ".png"  # output "ppp...-k4.png": 247 bytes, legal
    save(photo(), tmp_path / name)
    proc = run([name, "-k", "4", "-q"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / ("p" * 240 + "-k4.png")).is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [name, "p" * 240 + "-k4.png"])  # no temporary file left


def test_install_never_replaces_a_file_that_appeared(tmp_path):
    # Without --force the file is linked into place: a file created after the
    # existence check is not overwritten.
    tmp = tmp_path / "tmp.png"
    tmp.write_bytes(b"new")
    target = tmp_path / "out.png"
    target.write_bytes(b"theirs")
    real_lexists = os.path.lexists
    try:
        os.path.lexists = lambda path: False if str(path) == str(target) else real_lexists(path)
        with pytest.raises(_atomic.TargetExistsError, match="exists"):
            _atomic._install(str(tmp), str(target), force=False)
    finally:
        os.path.lexists = real_lexists
    assert target.read_bytes() == b"theirs"


def test_a_newline_in_a_name_keeps_one_line_per_file(tmp_path):
    save(photo(seed=4), tmp_path / "two\nlines.png")
    (tmp_path / "not\nimage.png").write_text("text")
    proc = run(["two\nlines.png", "missing\nfile.jpg", "not\nimage.png", "-k", "4"],
               tmp_path)
    assert proc.returncode == 3, proc.stderr
    out, err = proc.stdout.splitlines(), error_lines(proc)
    assert len(out) == 2 and out[0].startswith(r"two\nlines.png (64x48) -> two\nlines-k4.png: ")
    assert out[1].startswith("3 files: 1 written")
    assert err == [r"compress.py: error: missing\nfile.jpg: no such file or folder",
                   (r"compress.py: error: not\nimage.png: not an image, or a format "
                    "Pillow cannot read")]
    assert (tmp_path / "two\nlines-k4.png").is_file()


def test_permission_denied_is_not_a_missing_file(tmp_path, monkeypatch):
    # Tests may run as root, whom no permission stops: the refusal is faked.
    path = save(photo(), tmp_path / "locked.png")

    def refuse(name, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(name))

    monkeypatch.setattr(_files.os, "stat", refuse)
    files, failures = _files.expand_inputs([str(path)])
    assert files == [] and failures[0].exit_code == _report.EXIT_INPUT
    assert failures[0].error.startswith("permission denied")


def test_gif_figures_describe_the_gif_written(tmp_path):
    # Alpha 0, 100 and 255 bands; 16 colours could keep 100 exactly in a PNG
    # but a GIF has no partial alpha: the figures must say what it holds.
    image = photo(alpha=True)
    image[..., 3][image[..., 3] == 128] = 100
    save(image, tmp_path / "semi.png")
    proc = run(["semi.png", "-k", "16", "-o", "semi.gif", "--json"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    with Image.open(tmp_path / "semi.gif") as im:
        held = np.asarray(im.convert("RGBA"))
    reference = image.copy()
    reference[image[..., 3] == 0] = 0  # invisible colours do not count
    mse = np.mean((reference.astype(np.float64) - held) ** 2)
    assert report["mse"] == pytest.approx(mse, abs=1e-4)
    assert report["psnr"] == pytest.approx(measured_psnr(reference, held), abs=1e-3)
    assert report["colors_out"] == len(np.unique(held.reshape(-1, 4), axis=0))
    text = run(["semi.png", "-k", "16", "-o", "semi.gif", "--force"], tmp_path)
    assert f"PSNR {report['psnr']:.2f} dB, MSE {report['mse']:.2f}," in text.stdout
    assert f"-> {report['colors_out']} colours" in text.stdout
    # The same image as a PNG keeps its partial alpha: its own, lower error.
    png = json.loads(run(["semi.png", "-k", "16", "--json"], tmp_path).stdout)
    assert png["mse"] < report["mse"]


def test_planning_is_linear_in_the_file_count(tmp_path, monkeypatch):
    # No timing: count the file-system calls. Comparing every output with
    # every input made 2 n**2 of them (1,000 files: 14 s; 4,000: 219 s).
    folder = tmp_path / "many"
    folder.mkdir()
    pixels = photo(4, 4)
    for i in range(300):
        save(pixels, folder / f"f{i:03d}.png")
    calls = []
    for name in ("stat", "lstat"):
        real = getattr(os, name)

        def counted(*args, _real=real, **kwargs):
            calls.append(1)
            return _real(*args, **kwargs)

        monkeypatch.setattr(os, name, counted)
    args = _args.parse_args([str(folder), "--out-dir", str(tmp_path), "-k", "2"])
    jobs, failures = _files.plan_jobs(args)
    assert len(jobs) == 300 and failures == []
    assert len(calls) <= 10 * 300, len(calls)


def test_links_are_the_files_they_point_to(tmp_path):
    # What the one-stat-per-file planning must still see.
    save(photo(), tmp_path / "a.png")
    (tmp_path / "sub").mkdir()
    os.symlink(tmp_path / "a.png", tmp_path / "sub" / "link.png")
    os.symlink(tmp_path / "nowhere.png", tmp_path / "sub" / "dangling.png")
    files, _ = _files.expand_inputs([str(tmp_path / "a.png"), str(tmp_path)],
                                    recursive=True)
    assert files == [str(tmp_path / "a.png")]  # the link is the same file
    # An output that is an input under another name (a hard link) is refused.
    os.link(tmp_path / "a.png", tmp_path / "hard.png")
    args = _args.parse_args([str(tmp_path / "a.png"), "-o", str(tmp_path / "hard.png"),
                             "--force"])
    jobs, failures = _files.plan_jobs(args)
    assert jobs == [] and "would overwrite the input" in failures[0].error


def test_plot_and_animation_go_through_one_temporary_file_each(tmp_path, monkeypatch,
                                                               capsys):
    save(photo(), tmp_path / "a.png")
    made = []
    real = _atomic._new_temp

    def counted(target):
        made.append(os.path.basename(target))
        return real(target)

    monkeypatch.setattr(_atomic, "_new_temp", counted)
    monkeypatch.chdir(tmp_path)
    assert cli.main(["a.png", "-k", "4", "--plot", "p.png", "--animate", "m.gif"]) == 0
    assert made == ["a-k4.png", "p.png", "m.gif"]  # was two for each figure
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "a-k4.png", "a.png", "m.gif", "p.png"]
    existing = (tmp_path / "p.png").read_bytes()
    assert cli.main(["a.png", "-k", "4", "--plot", "p.png", "-o", "b.png"]) == 4
    assert (tmp_path / "p.png").read_bytes() == existing


# -- first run ----------------------------------------------------------------


def test_first_run_says_the_kernels_compile(tmp_path, monkeypatch, capsys):
    # An empty cache: one line on stderr says why this run is slow; with the
    # kernels cached (every other test) or with -q, nothing is said.
    from kmeans_core import _jit

    save(photo(), tmp_path / "a.png")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(_jit, "cache_is_cold", lambda: True)
    compiled = []
    monkeypatch.setattr(_jit, "compile_kernels", lambda **_: compiled.append(True))
    assert cli.main(["a.png", "-k", "4"]) == 0
    assert compiled == [True]  # before the job (see the test below)
    err = capsys.readouterr().err.splitlines()
    assert err == [("compress.py: first run: compiling the k-means kernels, once "
                    "(about 8 s; later runs load them from the cache)")]
    assert cli.main(["a.png", "-k", "4", "-q", "--force"]) == 0
    assert capsys.readouterr().err == ""
    monkeypatch.undo()
    assert cli.main([str(tmp_path / "a.png"), "-k", "4", "--force"]) == 0
    assert capsys.readouterr().err == ""


def test_first_run_compiles_every_kernel_the_job_runs(tmp_path):
    # compile_kernels compiles for the types of a real run: after it, a
    # compression (an image decoded from a file, read-only) adds no kernel
    # signature, so nothing compiles during the job. Run in a new process,
    # whose kernels have no signature yet (they load from the warm cache).
    save(photo(), tmp_path / "a.png")
    script = (
        "from kmeans_core import _jit, _kernels, _kernels_colors, _kernels_seeding\n"
        "from kmeans_core.cli import main\n"
        "_jit._compile_counting_and_seeding(); _jit._compile_iterations()\n"
        "mods = (_kernels, _kernels_colors, _kernels_seeding)\n"
        "kernels = [k for m in mods for k in vars(m).values() if hasattr(k, 'signatures')]\n"
        "before = {k: set(k.signatures) for k in kernels}\n"
        "assert before[_kernels_seeding.kmeans_plusplus_greedy]\n"
        "assert before[_kernels.assign_chunks] and before[_kernels_colors.unique_rgb]\n"
        "assert main(['a.png', '-k', '16', '-q']) == 0\n"
        "new = [k.py_func.__name__ for k in kernels if set(k.signatures) != before[k]]\n"
        "print('new signatures:', new)\n"
    )
    proc = run_python(script, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "new signatures: []"


def test_compile_kernels_compiles_in_two_other_processes(monkeypatch):
    # Each half of the kernels compiles in a process of its own; this one
    # compiles nothing (it loads them afterwards), and an interrupt while it
    # waits stops both.
    from kmeans_core import _jit

    started = []
    popen = subprocess.Popen

    class Recorded(popen):
        def __init__(self, args, **kwargs):
            super().__init__(args, **kwargs)
            started.append((self, args[4:]))

    def not_here():
        raise AssertionError("compiled in the command's own process")

    monkeypatch.setattr(subprocess, "Popen", Recorded)
    monkeypatch.setattr(_jit, "_compile_iterations", not_here)
    monkeypatch.setattr(_jit, "_compile_counting_and_seeding", not_here)
    monkeypatch.setattr(_jit.os, "cpu_count", lambda: 2)
    _jit.compile_kernels()  # the kernels are cached: the processes load them
    assert [names for _, names in started] == [["_compile_counting_and_seeding"],
                                               ["_compile_iterations"]]
    assert [process.returncode for process, _ in started] == [0, 0]

    started.clear()
    monkeypatch.setattr(_jit.os, "cpu_count", lambda: 1)  # one core: one process
    _jit.compile_kernels()
    assert [names for _, names in started] == [list(_jit._HALVES)]
    assert started[0][0].returncode == 0

    def no_interpreter(*args, **kwargs):
        raise FileNotFoundError("no such interpreter")

    monkeypatch.setattr(subprocess, "Popen", no_interpreter)
    _jit.compile_kernels()  # nothing started: the job will compile
    monkeypatch.setattr(subprocess, "Popen", Recorded)

    started.clear()
    monkeypatch.setattr(_jit.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(_jit, "_COMPILE_SCRIPT", "import time; time.sleep(60)")
    waits = []

    def interrupted(self, timeout=None):
        if not waits:  # the first wait: Ctrl-C
            waits.append(self)
            raise KeyboardInterrupt
        return popen.wait(self, timeout)

    monkeypatch.setattr(Recorded, "wait", interrupted)
    begun = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        _jit.compile_kernels()
    assert time.monotonic() - begun < 30
    assert len(started) == 2
    assert all(process.returncode is not None for process, _ in started)


@pytest.mark.skipif(__import__("numba").config.NUMBA_NUM_THREADS < 2,
                    reason="numba has a single thread here")
def test_a_small_lone_image_is_compressed_on_one_thread(tmp_path, monkeypatch):
    # Below _startup.ONE_THREAD_PIXELS a lone input's k-means runs on one thread
    # (numba's thread pool is not started for it); the setting ends with the
    # command. 64 x 64 random colours: four chunks, two shares otherwise.
    from kmeans_core import _lloyd, _parallel

    pixels = np.random.default_rng(3).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    save(pixels, tmp_path / "a.png")
    shares = []
    assigner_init = _lloyd.Assigner.__init__

    def recorded(self, *args):
        assigner_init(self, *args)
        shares.append(self.n_shares)

    monkeypatch.setattr(_lloyd.Assigner, "__init__", recorded)
    monkeypatch.chdir(tmp_path)
    assert cli.main(["a.png", "-k", "8", "-q"]) == 0
    assert shares and set(shares) == {1}
    assert _parallel.n_threads() >= 2  # back to numba's count
    shares.clear()
    from kmeans_core.cli import _startup

    monkeypatch.setattr(_startup, "ONE_THREAD_PIXELS", 64 * 64)  # now large enough
    assert cli.main(["a.png", "-k", "8", "-q", "--force"]) == 0
    assert 2 in shares


def test_cache_is_cold_looks_for_every_kernels_cache(monkeypatch):
    from kmeans_core import _jit, _kernels

    _jit._compile_counting_and_seeding()  # loaded, or compiled on an empty cache
    _jit._compile_iterations()
    assert _jit.cache_is_cold() is False
    cache_file = _kernels.assign_chunks._cache._cache_file
    monkeypatch.setattr(cache_file, "_index_path", "/nonexistent/index.nbi")
    assert _jit.cache_is_cold() is True


def test_write_atomic_same_ok_accepts_only_the_same_bytes(tmp_path):
    """A task run twice (Dask, after its worker died) finds its own output."""
    target = tmp_path / "out.png"
    _atomic.write_atomic(b"abc", str(target), force=False)
    _atomic.write_atomic(b"abc", str(target), force=False, same_ok=True)
    with pytest.raises(_atomic.TargetExistsError, match="exists"):
        _atomic.write_atomic(b"abd", str(target), force=False, same_ok=True)
    with pytest.raises(_atomic.TargetExistsError, match="exists"):
        _atomic.write_atomic(b"abc", str(target), force=False)
    assert target.read_bytes() == b"abc"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.png"]


def test_default_workers_one_per_core_at_most_one_per_file(monkeypatch):
    from kmeans_core.cli import _concurrency

    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    assert [_concurrency.default_workers(n) for n in (0, 1, 3, 20)] == [1, 1, 3, 4]
    monkeypatch.setattr(os, "cpu_count", lambda: None)
    assert _concurrency.default_workers(20) == 1


def test_workers_get_the_last_jobs_largest_first(tmp_path):
    # Input order, but the last 2 per worker by decreasing file size (ties
    # and missing files keep their order), so that the workers end together.
    from types import SimpleNamespace

    from kmeans_core.cli import _concurrency

    sizes = [5, 1, 9, 2, 7, 3, 8, 4, 0]
    jobs = []
    for i, size in enumerate(sizes):
        path = tmp_path / f"{i}.png"
        path.write_bytes(b"x" * size)
        jobs.append(SimpleNamespace(input=str(path)))
    jobs.append(SimpleNamespace(input=str(tmp_path / "missing.png")))
    order = [Path(job.input).stem for job in _concurrency.hand_out_order(jobs, 2)]
    assert order == ["0", "1", "2", "3", "4", "5", "6", "7", "8", "missing"]
    order = [Path(job.input).stem for job in _concurrency.hand_out_order(jobs, 3)]
    assert order == ["0", "1", "2", "3", "6", "4", "7", "5", "8", "missing"]
    assert _concurrency.hand_out_order(jobs[:2], 2) == jobs[:2]
    # Fewer jobs than 2 per worker: all of them by size.
    assert [Path(j.input).stem for j in _concurrency.hand_out_order(jobs[:3], 2)] == [
        "2", "0", "1"]


def test_a_batch_runs_in_worker_processes_by_default(tmp_path, monkeypatch):
    from kmeans_core.cli import _concurrency

    pools = []
    real_pool = _concurrency._Pool

    class Pool(real_pool):
        def __init__(self, n_workers):
            pools.append(n_workers)
            super().__init__(n_workers)

    monkeypatch.setattr(_concurrency, "_Pool", Pool)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    folder = tmp_path / "in"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        Image.fromarray(rng.integers(0, 256, (16, 24, 3), dtype=np.uint8)).save(
            folder / f"p{i}.png")
    out = tmp_path / "out"
    out.mkdir()
    assert cli.main([str(folder), "--out-dir", str(out), "-k", "4", "-q"]) == 0
    assert pools == [2] and len(os.listdir(out)) == 3
    pools.clear()
    assert cli.main([str(folder / "p0.png"), "--out-dir", str(out), "-k", "4", "-q",
                     "--force"]) == 0
    assert pools == []  # one file: in this process


def test_kernels_warmed_on_a_thread_for_a_large_input(tmp_path, monkeypatch):
    # From _WARM_MIN_PIXELS on, the kernels of a quantize with the job's
    # options load on a thread while the input decodes; the output is the
    # same bytes, and a failure of the warm-up never fails the job.
    from kmeans_core.cli import _compress

    save(photo(), tmp_path / "a.png")
    monkeypatch.chdir(tmp_path)
    jobs, _ = _files.plan_jobs(_args.parse_args(["a.png", "-k", "8"], "compress.py"))
    report = _compress.compress_file(jobs[0])
    assert report.exit_code == 0
    plain = Path(jobs[0].output).read_bytes()

    calls = []
    real_quantize, real_load_kernels = _compress.quantize, _compress.load_kernels

    def watched(image, n_colors, **options):
        calls.append((threading.current_thread().name, image.shape, n_colors))
        return real_quantize(image, n_colors, **options)

    def watched_load(n_colors, **options):
        calls.append((threading.current_thread().name, "load_kernels", n_colors))
        return real_load_kernels(n_colors, **options)

    monkeypatch.setattr(_compress, "quantize", watched)
    monkeypatch.setattr(_compress, "load_kernels", watched_load)
    monkeypatch.setattr(_compress, "_WARM_MIN_PIXELS", 1)
    jobs, _ = _files.plan_jobs(_args.parse_args(["a.png", "-k", "8", "--force"],
                                                "compress.py"))
    assert _compress.compress_file(jobs[0]).exit_code == 0
    for thread in threading.enumerate():
        if thread.name == "kmeans-warm":
            thread.join(timeout=30)
    assert ("kmeans-warm", "load_kernels", 8) in calls
    assert ("MainThread", photo().shape, 8) in calls
    assert Path(jobs[0].output).read_bytes() == plain

    def failing(n_colors, **options):
        if threading.current_thread().name == "kmeans-warm":
            raise RuntimeError("no warm-up today")
        return real_load_kernels(n_colors, **options)

    monkeypatch.setattr(_compress, "load_kernels", failing)
    assert _compress.compress_file(jobs[0]).exit_code == 0
    assert Path(jobs[0].output).read_bytes() == plain

    # Below the threshold no thread starts.
    monkeypatch.setattr(_compress, "_WARM_MIN_PIXELS", 10**9)
    calls.clear()
    monkeypatch.setattr(_compress, "load_kernels", watched_load)
    assert _compress.compress_file(jobs[0]).exit_code == 0
    assert [name for name, _, _ in calls] == ["MainThread"]


def test_main_freezes_the_imported_objects_once(tmp_path):
    # The objects of the imports (numba's type system) are moved out of the
    # collector's reach at the first main(); a second main() in the same
    # process freezes nothing more (it would keep the first run's garbage),
    # unless it runs as the program (argv None), which exits next.
    save(photo(), tmp_path / "a.png")
    script = (
        "import gc, sys\n"
        "from kmeans_core.cli import main\n"
        "before = gc.get_freeze_count()\n"
        "assert main(['a.png', '-k', '4', '-q']) == 0\n"
        "first = gc.get_freeze_count()\n"
        "garbage = [[] for _ in range(1000)]\n"
        "assert main(['a.png', '-k', '4', '-q', '--force']) == 0\n"
        "second = gc.get_freeze_count()\n"
        "sys.argv = ['compress.py', 'a.png', '-k', '4', '-q', '--force']\n"
        "assert main() == 0  # as the program: what the run made is frozen too\n"
        "print(before, first, second, gc.get_freeze_count())\n"
    )
    proc = run_python(script, tmp_path)
    assert proc.returncode == 0, proc.stderr
    before, first, second, at_exit = map(int, proc.stdout.split())
    assert before == 0
    assert first > 10_000  # numba and numpy's objects
    assert second == first
    assert at_exit > second + 1000


def test_help_and_argument_errors_do_not_load_numba(tmp_path):
    # kmeans_core imports its numba side on first use: the command line
    # answers --help and refuses bad options without it.
    script = (
        "import sys\n"
        "from kmeans_core.cli import main\n"
        "codes = [main(['--help']), main(['-k', '0', 'a.png'])]\n"
        "print(codes, 'numba' in sys.modules)\n"
    )
    proc = run_python(script, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "[0, 2] False"


def test_a_lone_input_is_decoded_on_a_thread_while_numba_loads(tmp_path, monkeypatch,
                                                               capsys):
    # The decode runs on its own thread; its warnings reach the file's
    # report, its time counts in the file's, and the output is the same.
    from kmeans_core.cli import _compress, _prefetch

    save(photo(), tmp_path / "a.png")
    monkeypatch.chdir(tmp_path)
    jobs, _ = _files.plan_jobs(_args.parse_args(["a.png", "-k", "8", "-o", "direct.png"],
                                                "compress.py"))
    assert _compress.compress_file(jobs[0]).exit_code == 0  # no prefetch here

    threads = []
    real_load = _prefetch.load_animation

    def slow_load(path, **options):
        threads.append(threading.current_thread().name)
        warnings.warn("something odd in this file", UserWarning, stacklevel=1)
        time.sleep(0.3)
        return real_load(path, **options)

    monkeypatch.setattr(_prefetch, "load_animation", slow_load)
    assert cli.main(["a.png", "-k", "8", "-o", "lone.png", "--json"]) == 0
    record = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert threads == ["kmeans-decode"]
    assert record["warnings"] == ["something odd in this file"]
    assert record["seconds"] >= 0.3
    assert (tmp_path / "lone.png").read_bytes() == (tmp_path / "direct.png").read_bytes()
    assert not _prefetch.started(jobs[0])  # taken, nothing left behind

    def broken_load(path, **options):
        from kmeans_core.io import ImageReadError

        raise ImageReadError("a.png: cannot decode: broken on purpose")

    monkeypatch.setattr(_prefetch, "load_animation", broken_load)
    assert cli.main(["a.png", "-k", "8", "-o", "never.png"]) == 3
    assert "a.png: cannot decode: broken on purpose" in capsys.readouterr().err
    assert not (tmp_path / "never.png").exists()
