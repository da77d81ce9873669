"""Shared set-up of the benchmarks: photos, thread count, quick mode, tools.

Run them with ``python -m pytest benchmarks/``; they are never part of the
default test run (``testpaths = ["tests"]`` in pyproject.toml). Every
benchmark runs one warm-up round first, so numba's compile time (or loading
the cache) is never timed, and records what it measured beside the time in
``benchmark.extra_info``: ``impl`` (what ran), ``role`` ("ours" or
"reference"), ``case`` (the row of the report) and ``quality`` (inertia or
MSE, named by ``quality_name``). ``benchmarks/report.py`` pairs them up.

Environment
-----------
KMEANS_BENCH_QUICK=1
    Smoke test: small images, small k, one round. The timings mean nothing;
    the default (unset or 0) is the full benchmark.

Everything runs on ``N_THREADS`` threads: numba and the BLAS/OpenMP pools
of scikit-learn in this process (threadpoolctl), and ``NUMBA_NUM_THREADS`` /
``OMP_NUM_THREADS`` for the processes started (compress.py, pngquant).
"""

import os
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path

import numba
import numpy as np
import pytest
from PIL import Image
from sklearn.datasets import load_sample_image
from threadpoolctl import threadpool_limits

QUICK = os.environ.get("KMEANS_BENCH_QUICK", "0") not in ("", "0")
N_THREADS = 2
PHOTOS = ("china.jpg", "flower.jpg")
K_VALUES = (4, 16) if QUICK else (16, 64, 256)
# Every photo is cut to every QUICK_STEP-th row and column in quick mode.
QUICK_STEP = 4

ROOT = Path(__file__).resolve().parent.parent
COMPRESS = ROOT / "compress.py"
SAMPLES = ROOT / "samples"
PNGQUANT = shutil.which("pngquant")

# Environment of the processes the benchmarks start. Without
# PYTHONDONTWRITEBYTECODE (set in some sandboxes): with it, a compress.py run
# from the repository compiles the package's modules from source every time
# (about 50 ms), which no default Python pays after its first run.
CHILD_ENV = {name: value for name, value in os.environ.items()
             if name != "PYTHONDONTWRITEBYTECODE"}
CHILD_ENV.update(NUMBA_NUM_THREADS=str(N_THREADS), OMP_NUM_THREADS=str(N_THREADS))


def rounds(full, quick=1):
    """Timed rounds: ``full`` normally, ``quick`` in quick mode."""
    return quick if QUICK else full


def pytest_generate_tests(metafunc):
    """Parametrize every benchmark that asks for ``photo`` or ``k``."""
    if "photo" in metafunc.fixturenames:
        metafunc.parametrize("photo", PHOTOS)
    if "k" in metafunc.fixturenames:
        metafunc.parametrize("k", K_VALUES)


# Run in a process of its own before any benchmark, so that the benchmarks
# load every kernel from numba's cache: code that a process compiled itself
# runs up to 4x slower in that process than the same code loaded from the
# cache. On an empty cache, KMeans on china.jpg at k=256 measured 120 ms
# without this, 45 ms with it.
_FILL_CACHE = """
import numpy as np
from kmeans_core import KMeans, MiniBatchKMeans, quantize
rng = np.random.default_rng(0)
image = rng.integers(0, 256, (96, 96, 3), dtype=np.uint8)
quantize(image, 16)
X = (image.reshape(-1, 3) / 255).astype(np.float32)
X = np.concatenate([X, X])  # repeated rows, as in a photo
KMeans(8, init=X[:8].copy(), n_init=1).fit(X)
MiniBatchKMeans(8, batch_size=1024, random_state=0).fit(X)
"""


def pytest_sessionstart(session):
    """Fill numba's cache for the kernels the benchmarks run (see above)."""
    subprocess.run([sys.executable, "-c", _FILL_CACHE], env=CHILD_ENV, check=True)


def pytest_report_header(config):
    mode = "QUICK (timings meaningless)" if QUICK else "full"
    return (f"kmeans_core benchmarks: {mode} mode, {N_THREADS} threads, "
            f"pngquant={PNGQUANT or 'not found'}")


@pytest.fixture(scope="session", autouse=True)
def same_threads():
    """numba and scikit-learn's thread pools on ``N_THREADS`` threads."""
    numba.set_num_threads(min(N_THREADS, numba.config.NUMBA_NUM_THREADS))
    with threadpool_limits(limits=N_THREADS):
        yield


@cache
def load_photo(name):
    """A photo as (H, W, 3) uint8: scikit-learn's sample images or samples/."""
    path = SAMPLES / name
    if path.exists():
        with Image.open(path) as image:
            pixels = np.asarray(image.convert("RGB"))
    else:
        pixels = load_sample_image(name)
    if QUICK:
        pixels = pixels[::QUICK_STEP, ::QUICK_STEP]
    pixels = np.ascontiguousarray(pixels)
    pixels.flags.writeable = False
    return pixels


@cache
def load_pixels(name):
    """All pixels of a photo as (H * W, 3) float32 in [0, 1]."""
    pixels = (load_photo(name).reshape(-1, 3) / np.float32(255)).astype(np.float32)
    pixels.flags.writeable = False
    return pixels


@pytest.fixture
def image(photo):
    """The (H, W, 3) uint8 pixels of ``photo``."""
    return load_photo(photo)


@pytest.fixture
def pixels(photo):
    """The (H * W, 3) float32 pixels of ``photo`` in [0, 1]."""
    return load_pixels(photo)


@pytest.fixture(scope="session")
def workdir(tmp_path_factory):
    """A folder for the PNG inputs and outputs of the process benchmarks."""
    return tmp_path_factory.mktemp("bench")


@pytest.fixture(scope="session")
def pngquant():
    """Path of the pngquant executable."""
    if PNGQUANT is None:
        pytest.skip("pngquant not installed (Debian package 'pngquant')")
    return PNGQUANT


def save_png(pixels, path):
    """Write (H, W, 3) uint8 as a fast-compressed truecolour PNG; returns path."""
    Image.fromarray(np.asarray(pixels)).save(path, compress_level=1)
    return Path(path)


def read_rgb(path):
    """A written image as (H, W, 3) uint8."""
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def n_colors(pixels):
    """Number of distinct colours of (H, W, 3) pixels."""
    return int(np.unique(np.asarray(pixels).reshape(-1, 3), axis=0).shape[0])


def compress_cmd(*args):
    """The command line of ``python compress.py ARGS``."""
    return [sys.executable, str(COMPRESS), *map(str, args)]


def pngquant_cmd(exe, n_colors, src, out):
    """pngquant at its default speed, no dithering, writing ``out``."""
    return [exe, "--nofs", "--force", "--output", str(out), str(n_colors), str(src)]


def run(cmd, env=None):
    """Run a command to completion; raise with its stderr if it fails."""
    proc = subprocess.run(cmd, env=CHILD_ENV if env is None else env,
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(
            f"{' '.join(cmd)} exited with {proc.returncode}: {proc.stderr.strip()}"
        )
    return proc


# Runs a command in a fresh interpreter and prints its wall time and the peak
# resident set size of the (largest) child, in KiB on Linux.
_RSS_PROBE = """
import resource, subprocess, sys, time
start = time.perf_counter()
code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode
seconds = time.perf_counter() - start
print(code, seconds, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def peak_rss(cmd, env=None):
    """Run ``cmd`` once in a fresh process; return (seconds, peak RSS in MiB)."""
    out = run([sys.executable, "-c", _RSS_PROBE, *map(str, cmd)], env=env).stdout
    code, seconds, max_kib = out.split()
    if int(code) != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} exited with {code}")
    return float(seconds), int(max_kib) / 1024


def label(benchmark, *, bench, case, impl):
    """Name a benchmark for the report; call it before timing.

    ``bench`` and ``case`` make the group (the row of the report) in which
    ``impl`` ("ours" or a reference) sits beside the others.
    """
    benchmark.group = f"{bench} {case}"
    benchmark.extra_info.update(
        bench=bench, case=case, impl=impl,
        role="ours" if impl == "ours" else "reference", quick=QUICK,
    )


def record(benchmark, *, quality_name=None, quality=None, **extra):
    """Store what a benchmark measured beside its time (after timing)."""
    benchmark.extra_info.update(
        quality_name=quality_name,
        quality=None if quality is None else float(quality),
        **extra,
    )
