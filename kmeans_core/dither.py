"""Floyd–Steinberg dithering onto a fixed palette.

A palette of k colours turns smooth gradients into bands. Error diffusion
trades the bands for fine-grained noise: each pixel's quantization error is
pushed onto its not-yet-visited neighbours, so that local averages of the
result follow the original.

Why not Pillow's ``Image.quantize(palette=..., dither=FLOYDSTEINBERG)``? It
does not map to the nearest palette entry: it looks colours up in a cache with
fewer bits per channel, so even without dithering some pixels get an entry
that is not the nearest (``tests/test_dither.py`` shows one), and it has no
partial levels and no OKLab. Every call here runs the numba kernel in
``_kernels_dither.py``.
"""

import numpy as np

from . import _kernels_dither
from ._validation import check_color_space, check_real
from .color import to_working_space


def dither(image, palette, *, level=1.0, color_space="rgb"):
    """Map an image onto a palette with Floyd–Steinberg error diffusion.

    Serpentine scan (even rows left to right, odd rows right to left), error
    weights 7/16 ahead, 3/16, 5/16, 1/16 below. Distances and errors are
    taken in ``color_space``; each pixel plus its incoming error is clipped
    per channel to the range spanned by the image's pixels and the palette
    (in that space), which keeps errors from running away where the image
    has colours far outside the palette.

    Parameters
    ----------
    image : ndarray of shape (height, width, C), uint8
        RGB (C = 3) or RGBA (C = 4). Never modified.
    palette : ndarray of shape (n_colors, C), uint8
        The colours to use, 1 <= n_colors <= 256, same C as ``image``.
    level : float in [0, 1], default=1.0
        Fraction of the error that is diffused. 1 is classic Floyd–Steinberg;
        0 is plain nearest-colour mapping (no dithering).
    color_space : {"rgb", "oklab"}, default="rgb"
        Where distances and errors are measured: RGB values 0-255, or OKLab
        (alpha, if any, as a fourth channel alpha / 255); see
        ``kmeans_core.color.to_working_space``.

    Returns
    -------
    indices : ndarray of shape (height, width), uint8
        Index into ``palette`` of each pixel; ``palette[indices]`` is the
        dithered image.

    Examples
    --------
    >>> import numpy as np
    >>> from kmeans_core.dither import dither
    >>> grey = np.full((2, 4, 3), 128, np.uint8)
    >>> palette = np.array([[0, 0, 0], [255, 255, 255]], np.uint8)
    >>> dither(grey, palette)
    array([[1, 0, 1, 0],
           [0, 1, 0, 1]], dtype=uint8)
    >>> dither(grey, palette, level=0.0)
    array([[1, 1, 1, 1],
           [1, 1, 1, 1]], dtype=uint8)
    """
    image, palette, level = _check_dither_args(image, palette, level, color_space)
    work_image, work_palette, low, high = _prepare(image, palette, color_space)
    indices = np.empty(image.shape[:2], dtype=np.uint8)
    _kernels_dither.floyd_steinberg(work_image, work_palette, np.float32(level),
                                    low, high, indices)
    return indices


def _check_dither_args(image, palette, level, color_space):
    image = np.asarray(image)
    palette = np.asarray(palette)
    if image.dtype != np.uint8 or palette.dtype != np.uint8:
        raise ValueError(
            f"image and palette must be uint8; got {image.dtype} and {palette.dtype}"
        )
    if image.ndim != 3 or image.shape[2] not in (3, 4) or 0 in image.shape:
        raise ValueError(
            f"image must have shape (height, width, 3 or 4); got shape {image.shape}"
        )
    if palette.ndim != 2 or palette.shape[1] != image.shape[2]:
        raise ValueError(
            f"palette must have shape (n_colors, {image.shape[2]}) to match the "
            f"image; got shape {palette.shape}"
        )
    if not 1 <= palette.shape[0] <= 256:
        raise ValueError(
            f"palette has {palette.shape[0]} colours; it must have 1 to 256"
        )
    level = check_real(level, "level", low=0, high=1)
    check_color_space(color_space)
    return image, palette, level


def _prepare(image, palette, color_space):
    """Working-space image and palette (float32, C-contiguous) and clip bounds."""
    work_image = np.ascontiguousarray(to_working_space(image, color_space))
    work_palette = np.ascontiguousarray(to_working_space(palette, color_space))
    n_channels = image.shape[2]
    flat = work_image.reshape(-1, n_channels)
    low = np.minimum(flat.min(axis=0), work_palette.min(axis=0))
    high = np.maximum(flat.max(axis=0), work_palette.max(axis=0))
    return work_image, work_palette, low, high
