"""numba at start-up: what the first run after install compiles, and what every
run loads.

Every kernel is compiled once and kept in numba's on-disk cache
(``cache=True``); ``cache_is_cold`` tells whether that has happened yet for
the kernels an image compression runs, so the command line can say why its
first run is slow.

``compile_kernels`` makes that first run shorter on a machine with two cores
or more: numba compiles one kernel at a time, 13 to 15 s for an image
compression. So two other Python processes compile them at once, one the
first steps of a run, colour counting and the k-means++ seeding
(``_compile_counting_and_seeding``, about 7 s), the other Lloyd's
iterations and the palette mapping (``_compile_iterations``, about 6.5 s);
the command then loads them all from the cache. It compiles nothing itself:
a process runs the kernels it compiled 25 to 35% slower than kernels it
loaded from the cache (a 12-megapixel photo at k = 256: 1.67 to 1.99 s
against 1.27 to 1.49 s, three runs each), and the worker processes of a
batch would inherit the slower ones.
"""

import os
import sys

import numpy as np

from . import _kernels, _kernels_colors, _kernels_seeding

# The kernels every ``quantize`` run calls (the others compile when used).
_IMAGE_PATH_KERNELS = (
    _kernels.assign_chunks,
    _kernels.assign_shares,
    _kernels.update_centers,
    _kernels_seeding.kmeans_plusplus_greedy,
    _kernels_colors.unique_rgb,
)


def cache_is_cold():
    """Whether any kernel of the image path has no compiled version on disk.

    Looks for numba's cache index file of each kernel; never compiles.
    """
    for kernel in _IMAGE_PATH_KERNELS:
        cache = getattr(kernel, "_cache", None)
        index = getattr(getattr(cache, "_cache_file", None), "_index_path", None)
        if index is None or not os.path.exists(index):
            return True
    return False


def load_numba_without_scipy_linalg():
    """Let numba finish loading without importing ``scipy.linalg``.

    At its first compiled call numba imports ``numba.np.arraymath``, which
    imports ``scipy.linalg`` (when SciPy is installed) only to find the BLAS
    functions that ``np.dot`` and ``np.linalg`` need in compiled code: 0.25 s
    of a 0.5 s start-up. No kernel here uses them, so the command line lets
    numba find no BLAS instead. ``scipy.linalg`` stays importable afterwards;
    only numba's compiled ``np.dot`` is off in this process.
    """
    if "numba.np.arraymath" in sys.modules or "scipy.linalg" in sys.modules:
        return
    sys.modules["scipy.linalg"] = None  # makes "import scipy.linalg" fail
    try:
        import numba.np.arraymath  # noqa: F401 - runs numba's BLAS check now
    finally:
        del sys.modules["scipy.linalg"]


# A compiling process: the package's parent folder first on its path (the
# package may run from a source tree, not installed), then the functions
# named on the command line.
_COMPILE_SCRIPT = (
    "import sys; sys.path.insert(0, sys.argv[1]); "
    "from kmeans_core import _jit; "
    "[getattr(_jit, name)() for name in sys.argv[2:]]"
)
_HALVES = ("_compile_counting_and_seeding", "_compile_iterations")


def compile_kernels(on_stop=None):
    """Compile the kernels of an image compression into numba's cache, in
    two other processes at once (one on a single core), and wait for them.

    Each compiles one half of the kernels (see the module notes), for the
    types of a real run, so the job that follows compiles nothing: it loads
    them from the cache. If a process fails or cannot start, the job
    compiles what it left out; if this one is interrupted, they are stopped.

    Parameters
    ----------
    on_stop : callable, optional
        ``on_stop(callback)``, a context manager within which a process that
        must end at once (the command line's stop signal) calls
        ``callback()`` to kill the compiling processes.
    """
    import subprocess  # here: only a first run needs it (7 ms to import)
    from contextlib import nullcontext

    groups = [_HALVES] if (os.cpu_count() or 1) < 2 else [[half] for half in _HALVES]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    processes = []

    def kill():
        for process in processes:
            try:
                process.kill()
            except OSError:
                pass

    try:
        with (on_stop or (lambda _: nullcontext()))(kill):
            for group in groups:
                try:
                    processes.append(subprocess.Popen(
                        [sys.executable, "-c", _COMPILE_SCRIPT, root, *group],
                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL))
                except OSError:  # no interpreter to start: the job compiles them
                    break
            for process in processes:
                process.wait()
    except BaseException:
        kill()
        for process in processes:
            process.wait()
        raise


def _compile_counting_and_seeding():
    """Compile (or load) the kernels of colour counting and k-means++ seeding,
    with the types of a fit on an image's colours (64 x 64 random pixels;
    ``unique_colors`` passes them on read-only, as it does a decoded image)."""
    from ._lloyd import kmeans_plusplus
    from ._palette import weighted_colors

    load_numba_without_scipy_linalg()
    pixels = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    _, _, _, _, X, sample_weight = weighted_colors(pixels, "rgb")
    kmeans_plusplus(X, 16, sample_weight, np.random.default_rng(0))


def _compile_iterations():
    """Compile (or load) the kernels of Lloyd's iterations and of the palette
    mapping, with the types of a fit on an image's colours: float32 rows and
    weights, 4,096 of them (four chunks), once on one thread
    (``_kernels.assign_chunks``) and once on numba's threads
    (``_kernels.assign_shares``)."""
    from ._lloyd import lloyd, nearest_centers, scaled_tolerance
    from ._parallel import at_most

    load_numba_without_scipy_linalg()
    X = np.random.default_rng(0).integers(0, 256, (4096, 3)).astype(np.float32)
    sample_weight = np.ones(len(X), dtype=np.float32)
    tol = scaled_tolerance(X, sample_weight, 1e-4)
    for threads in (1, None):
        with at_most(threads or 2**16):
            centers, labels, _, _, _ = lloyd(X, sample_weight, X[:16].copy(),
                                             max_iter=3, tol=tol)
            nearest_centers(X, sample_weight, centers, labels)
