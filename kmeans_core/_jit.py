"""What the first run after install pays: compiling the numba kernels.

Every kernel is compiled once and kept in numba's on-disk cache
(``cache=True``); ``cache_is_cold`` tells whether that has happened yet for
the kernels an image compression runs, so the command line can say why its
first run is slow.
"""

import os

from . import _kernels, _kernels_colors, _kernels_seeding

# The kernels every ``quantize`` run calls (the others compile when used).
_IMAGE_PATH_KERNELS = (
    _kernels.assign_chunks,
    _kernels.update_centers,
    _kernels_seeding.kmeans_plusplus_greedy,
    _kernels_colors.unique_codes_bitmap,
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
