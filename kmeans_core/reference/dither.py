"""Floyd–Steinberg error diffusion in plain NumPy: what
``_kernels_dither.py`` does fast (``tests/test_dither.py`` holds them equal,
index for index)."""

import numpy as np


def floyd_steinberg(image, palette, level, low, high):
    """``_kernels_dither.floyd_steinberg``, slowly: the same arguments
    (working-space float32 image and palette, the level, the clip bounds),
    the same float32 arithmetic in the same order; returns the indices.

    The scan is serpentine (even rows left to right, odd rows right to
    left). Each pixel plus the error diffused into it is clipped to
    [low, high], mapped to the nearest palette entry, and ``level`` x the
    error goes on: 7/16 ahead, 3/16, 5/16 and 1/16 to the row below.
    """
    work_image, work_palette = image, palette
    level = np.float32(level)
    weights = [np.float32(w / 16) for w in (7, 3, 5, 1)]  # ahead, below: behind, -, ahead
    height, width, n_channels = work_image.shape
    indices = np.empty((height, width), dtype=np.uint8)
    # Error waiting for each pixel of this row and the next (1 pixel padding).
    err_row = np.zeros((width + 2, n_channels), dtype=np.float32)
    for y in range(height):
        err_next = np.zeros_like(err_row)
        step = 1 if y % 2 == 0 else -1  # serpentine scan
        columns = range(width) if step == 1 else range(width - 1, -1, -1)
        for x in columns:
            p = x + 1
            value = np.clip(work_image[y, x] + err_row[p], low, high)
            diff = value - work_palette
            dist = np.zeros(len(work_palette), dtype=np.float32)
            for c in range(n_channels):
                dist += diff[:, c] * diff[:, c]
            best = int(dist.argmin())  # the lowest index wins a tie
            indices[y, x] = best
            error = level * (value - work_palette[best])
            err_row[p + step] += error * weights[0]
            err_next[p - step] += error * weights[1]
            err_next[p] += error * weights[2]
            err_next[p + step] += error * weights[3]
        err_row = err_next
    return indices
