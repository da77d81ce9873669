"""The whole ``compress.py`` process against pngquant, file for file.

- 12 MP: china.jpg upscaled to 4000 x 3000 (bicubic) and saved as PNG, at
  k = 256: ``compress.py IN -k 256 -o OUT`` against ``pngquant --nofs 256 IN``,
  each timed as a whole process; then one more run of each in a fresh
  interpreter for its peak RSS (``ru_maxrss`` of the child), and the MSE of
  each output against the upscaled pixels.
- Batch: 20 photos (5 photos x 4 orientations, PNG) at k = 256 in ONE
  ``compress.py FOLDER --out-dir DIR`` command (its default ``--workers``:
  one process per core) against pngquant run once per file; the quality is
  the mean MSE over the files.
- Start-up: ``compress.py`` on samples/chelsea.jpg (451 x 300) at the default
  k = 16. One run on an empty numba cache (``NUMBA_CACHE_DIR`` a fresh folder,
  so everything compiles: the first run after install) is recorded as
  ``cold_seconds``, with whether it said on stderr that it compiles
  (``cold_notice``); the timed rounds then run on that warm cache.

Processes run with ``NUMBA_NUM_THREADS`` and ``OMP_NUM_THREADS`` set to the
benchmarks' thread count (pngquant uses OpenMP too).

    python -m pytest benchmarks/test_bench_cli.py
"""

import time

import numpy as np
import pytest
from conftest import (
    CHILD_ENV,
    QUICK,
    SAMPLES,
    compress_cmd,
    label,
    load_photo,
    n_colors,
    peak_rss,
    pngquant_cmd,
    read_rgb,
    record,
    rounds,
    run,
    save_png,
)
from PIL import Image
from sklearn.datasets import load_sample_image

from kmeans_core.metrics import mse, psnr

IMPLS = ("ours", "pngquant")
BIG_SIZE = (400, 300) if QUICK else (4000, 3000)  # width, height
BIG_K = 256
BATCH_K = 256
BATCH_PHOTOS = ("china.jpg", "flower.jpg", "astronaut.jpg", "chelsea.jpg",
                "coffee.jpg")
BATCH_SIZE = 4 if QUICK else 20
STARTUP_PHOTO = SAMPLES / "chelsea.jpg"


def _command(impl, request, n_colors, src, out):
    if impl == "ours":
        return compress_cmd(src, "-k", n_colors, "-o", out, "--force", "-q")
    return pngquant_cmd(request.getfixturevalue("pngquant"), n_colors, src, out)


# -- 12 megapixels -------------------------------------------------------------


@pytest.fixture(scope="module")
def big_photo(workdir):
    """china.jpg upscaled to BIG_SIZE: (path of the PNG, its pixels)."""
    image = Image.fromarray(load_sample_image("china.jpg")).resize(
        BIG_SIZE, Image.Resampling.BICUBIC
    )
    pixels = np.asarray(image)
    return save_png(pixels, workdir / "china-big.png"), pixels


@pytest.mark.parametrize("impl", IMPLS)
def test_12mp(benchmark, impl, big_photo, workdir, request):
    src, original = big_photo
    width, height = BIG_SIZE
    label(benchmark, bench="cli-12mp", case=f"china {width}x{height} k={BIG_K}",
          impl=impl)
    out = workdir / f"china-big-{impl}.png"
    cmd = _command(impl, request, BIG_K, src, out)
    benchmark.pedantic(run, args=(cmd,), rounds=rounds(3), warmup_rounds=1,
                       iterations=1)
    _, rss_mib = peak_rss(cmd)
    rgb = read_rgb(out)
    record(benchmark, quality_name="MSE", quality=mse(original, rgb),
           psnr=psnr(original, rgb), peak_rss_mib=rss_mib,
           output_bytes=out.stat().st_size, n_colors_out=n_colors(rgb),
           megapixels=width * height / 1e6, command=" ".join(map(str, cmd)))


# -- a batch of 20 photos ------------------------------------------------------


@pytest.fixture(scope="module")
def batch(workdir):
    """BATCH_SIZE different PNG photos in one folder: (folder, {path: pixels})."""
    folder = workdir / "batch"
    folder.mkdir(exist_ok=True)
    variants = (lambda a: a, np.fliplr, np.flipud, np.rot90)
    files = {}
    for i in range(BATCH_SIZE):
        photo = BATCH_PHOTOS[i % len(BATCH_PHOTOS)]
        variant = variants[i // len(BATCH_PHOTOS)]
        pixels = np.ascontiguousarray(variant(load_photo(photo)))
        path = save_png(pixels, folder / f"{i:02d}-{photo.rsplit('.', 1)[0]}.png")
        files[path] = pixels
    return folder, files


@pytest.mark.parametrize("impl", IMPLS)
def test_batch(benchmark, impl, batch, workdir, request):
    folder, files = batch
    label(benchmark, bench="cli-batch", case=f"{len(files)} photos k={BATCH_K}",
          impl=impl)
    out_dir = workdir / f"batch-out-{impl}"
    out_dir.mkdir(exist_ok=True)
    outputs = {src: out_dir / f"{src.stem}-k{BATCH_K}.png" for src in files}
    if impl == "ours":
        cmd = compress_cmd(folder, "-k", BATCH_K, "--out-dir", out_dir, "--force",
                           "-q")

        def compress_all():
            run(cmd)
    else:
        exe = request.getfixturevalue("pngquant")

        def compress_all():
            for src, out in outputs.items():
                run(pngquant_cmd(exe, BATCH_K, src, out))

    benchmark.pedantic(compress_all, rounds=rounds(3), warmup_rounds=1,
                       iterations=1)
    errors = [mse(files[src], read_rgb(out)) for src, out in outputs.items()]
    megapixels = sum(a.shape[0] * a.shape[1] for a in files.values()) / 1e6
    record(benchmark, quality_name="MSE", quality=float(np.mean(errors)),
           mse_per_file=errors, n_files=len(files), megapixels=megapixels)


# -- start-up ------------------------------------------------------------------


def test_startup(benchmark, workdir, tmp_path):
    with Image.open(STARTUP_PHOTO) as image:
        width, height = image.size
    label(benchmark, bench="startup", case=f"chelsea.jpg {width}x{height} k=16",
          impl="ours")
    env = dict(CHILD_ENV, NUMBA_CACHE_DIR=str(tmp_path / "numba-cache"))
    out = workdir / "startup.png"
    cmd = compress_cmd(STARTUP_PHOTO, "-o", out, "--force", "-q")
    # The first run compiles and fills the empty cache, and says so (without
    # -q: the notice is not an error).
    loud = [arg for arg in cmd if arg != "-q"]
    start = time.perf_counter()
    first = run(loud, env=env)
    cold = time.perf_counter() - start
    benchmark.pedantic(run, args=(cmd, env), rounds=rounds(5, quick=2),
                       warmup_rounds=1, iterations=1)
    record(benchmark, cold_seconds=cold, command=" ".join(map(str, cmd)),
           cold_notice="compiling the k-means kernels" in first.stderr)
