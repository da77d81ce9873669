"""Error measures between an image and its quantized version.

All in 0-255 units over every pixel and channel (alpha included for RGBA):

- ``squared_error(a, b)``: the sum of squared differences (the k-means
  objective of a quantized image, its ``inertia``);
- ``mse(a, b)``: that sum divided by the number of values;
- ``psnr(a, b)``, ``psnr_from_mse(mse)``, ``psnr_from_squared_error(sse, n)``:
  peak signal-to-noise ratio in dB, peak 255, ``inf`` for identical images.

Two uint8 images are compared in exact integer arithmetic, a slice at a time:
the memory used is a few slices, not a float64 (or int64) copy of the image
(a 12-megapixel RGBA image is 48 MB; an int64 difference of it is 384 MB).
"""

import math

import numpy as np

# Values per slice when two uint8 images are compared: the squared
# differences of one slice (at most 255**2 each) fit an int32 dot product.
_CHUNK = 1 << 15


def _pair(original, reconstructed):
    a = np.asarray(original)
    b = np.asarray(reconstructed)
    if a.shape != b.shape:
        raise ValueError(
            f"original has shape {a.shape} but reconstructed has shape {b.shape}"
        )
    if a.size == 0:
        raise ValueError(f"images are empty: shape {a.shape}")
    return a, b


def squared_error(original, reconstructed):
    """Sum of squared differences over all pixels and channels, 0-255 units.

    Parameters
    ----------
    original, reconstructed : ndarray of the same shape
        Images (any number of channels). Not modified. Two uint8 arrays are
        summed exactly in integers, a slice of 32,768 values at a time; any
        other dtypes are compared as float64.

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> a = np.zeros((2, 2, 3), np.uint8)
    >>> b = a.copy(); b[0, 0] = (255, 0, 3)
    >>> squared_error(a, b)
    65034.0
    """
    a, b = _pair(original, reconstructed)
    if a.dtype == np.uint8 and b.dtype == np.uint8:
        a, b = a.reshape(-1), b.reshape(-1)
        total = 0
        for start in range(0, a.size, _CHUNK):
            diff = a[start:start + _CHUNK].astype(np.int32)
            diff -= b[start:start + _CHUNK]
            total += int(np.dot(diff, diff))
        return float(total)
    diff = a.astype(np.float64) - b.astype(np.float64)
    return float(np.sum(diff * diff))


def mse(original, reconstructed):
    """Mean squared error over all pixels and channels, in 0-255 units.

    Parameters
    ----------
    original, reconstructed : ndarray of the same shape
        Images (any number of channels). Not modified.

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> mse(np.array([[0, 0], [0, 0]]), np.array([[0, 2], [0, 0]]))
    1.0
    """
    return squared_error(original, reconstructed) / np.asarray(original).size


def psnr_from_mse(error):
    """PSNR in dB (peak 255) of a mean squared error; ``inf`` for 0.

    Examples
    --------
    >>> round(psnr_from_mse(65025.0), 6), psnr_from_mse(0)
    (0.0, inf)
    """
    if error == 0:
        return float("inf")
    return float(10.0 * np.log10(255.0**2 / error))


def psnr_from_squared_error(sq_error, n_values):
    """PSNR in dB (peak 255) of a sum of squared errors over ``n_values``.

    ``10 log10(255**2 n_values / sq_error)``, ``inf`` for 0: the same as
    ``psnr_from_mse(sq_error / n_values)`` up to the last bit of rounding.

    Examples
    --------
    >>> psnr_from_squared_error(65025.0 * 4, 4), psnr_from_squared_error(0, 4)
    (0.0, inf)
    """
    if sq_error == 0:
        return math.inf
    return 10 * math.log10(255.0**2 * n_values / sq_error)


def psnr(original, reconstructed):
    """Peak signal-to-noise ratio in dB, peak 255: ``10 log10(255**2 / mse)``.

    Returns ``inf`` when the images are identical.

    Examples
    --------
    >>> import numpy as np
    >>> psnr(np.zeros((2, 2)), np.full((2, 2), 255.0))
    0.0
    """
    return psnr_from_mse(mse(original, reconstructed))
