"""Numba kernel for Floyd–Steinberg error diffusion onto a fixed palette.

Error diffusion is sequential by nature (every pixel depends on the errors of
the pixels before it), so this kernel runs on one thread. ``dither.py`` holds
the public function; ``reference/dither.py`` is a plain NumPy version of the
same loop that the tests hold equal to this one.
"""

import numpy as np
from numba import njit

# Floyd–Steinberg weights, exact in binary: 7/16 to the next pixel in scan
# direction, 3/16, 5/16 and 1/16 to the three neighbours below.
_AHEAD = np.float32(7 / 16)
_BELOW_BEHIND = np.float32(3 / 16)
_BELOW = np.float32(5 / 16)
_BELOW_AHEAD = np.float32(1 / 16)


@njit(cache=True)
def floyd_steinberg(image, palette, level, low, high, indices):
    """Map every pixel to a palette entry, diffusing ``level`` x the error.

    The scan is serpentine: even rows (0, 2, ...) run left to right, odd rows
    right to left, and "ahead"/"behind" follow the scan direction. Each pixel
    plus the error diffused into it is clipped to [low, high] per channel, then
    mapped to the palette entry at the smallest squared distance (the lowest
    index on a tie). ``level`` x (pixel - entry) goes on to the neighbours not
    yet visited; error that would leave the image is dropped.

    image    IN  (height, width, n_channels) float32, working-space pixels
    palette  IN  (n_colors, n_channels) float32, same space
    level    IN  float32 in [0, 1]; 0 gives plain nearest-colour mapping
    low      IN  (n_channels,) float32, lower clip bound of each channel
    high     IN  (n_channels,) float32, upper clip bound of each channel
    indices  OUT (height, width) uint8, index into ``palette`` (n_colors <= 256)
    """
    height, width, n_channels = image.shape
    n_colors = palette.shape[0]
    palette_t = np.ascontiguousarray(palette.T)  # SIMD over entries
    # Error carried into the current and the next row, one pixel of padding
    # on each side so that border pixels need no special case.
    err_row = np.zeros((width + 2, n_channels), dtype=np.float32)
    err_next = np.zeros((width + 2, n_channels), dtype=np.float32)
    value = np.empty(n_channels, dtype=np.float32)
    dist = np.empty(n_colors, dtype=np.float32)
    for y in range(height):
        step = 1 if y % 2 == 0 else -1
        err_next[:] = 0
        for s in range(width):
            x = s if step == 1 else width - 1 - s
            p = x + 1  # position in the padded error rows
            for c in range(n_channels):
                v = image[y, x, c] + err_row[p, c]
                value[c] = min(max(v, low[c]), high[c])
            dist[:] = 0
            for c in range(n_channels):
                v = value[c]
                for j in range(n_colors):
                    diff = v - palette_t[c, j]
                    dist[j] += diff * diff
            best = 0
            best_dist = dist[0]
            for j in range(1, n_colors):
                if dist[j] < best_dist:
                    best_dist = dist[j]
                    best = j
            indices[y, x] = best
            for c in range(n_channels):
                e = level * (value[c] - palette[best, c])
                err_row[p + step, c] += e * _AHEAD
                err_next[p - step, c] += e * _BELOW_BEHIND
                err_next[p, c] += e * _BELOW
                err_next[p + step, c] += e * _BELOW_AHEAD
        err_row, err_next = err_next, err_row
