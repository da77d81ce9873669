"""An image's distinct colours in plain NumPy: what ``_kernels_colors.py``
does fast (``tests/test_colors_kernels.py`` holds them equal). A colour is
one integer code, R first (``_palette.pack_colors``)."""

import numpy as np


def unique_codes(codes):
    """Sorted distinct codes, their counts (int64) and each code's index
    among them (int32): what the kernels return, by ``np.unique``."""
    unique, inverse, counts = np.unique(codes, return_inverse=True, return_counts=True)
    return unique, counts.astype(np.int64), inverse.reshape(-1).astype(np.int32)
