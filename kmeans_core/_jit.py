"""numba at start-up: what the first run after install compiles, and what every
run loads.

Every kernel is compiled once and kept in numba's on-disk cache
(``cache=True``); ``cache_is_cold`` tells whether that has happened yet for
the kernels an image compression runs, so the command line can say why its
first run is slow.
"""

import os
import sys

from . import _kernels, _kernels_colors, _kernels_seeding

# The kernels every ``quantize`` run calls (the others compile when used).
_IMAGE_PATH_KERNELS = (
    _kernels.assign_chunks,
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
