"""One palette for many images: colour counts, a shared fit, mapping onto it.

Colour counts are the unit of work. ``color_counts(image)`` packs every
pixel into one integer code (24-bit ``0xRRGGBB``, or 32-bit ``0xRRGGBBAA``
for RGBA) and counts the pixels of each distinct code. Counts of different
images, frames or machines add exactly (``sum_counts``, or ``a + b``): a
code's total is the sum of its int64 counts, so the sum of the counts of
many images *is* the counts of all their pixels together, whatever order
or grouping the sums were taken in. Only counts need to travel, never
pixels.

``fit_palette`` runs the library's weighted ``KMeans`` on the summed distinct
colours, each weighted by its count: the same objective as k-means on every
pixel of every image (integer weights equal repeated rows), exactly what
``quantize`` does for one image, and the same palette ``quantize`` would give
for all the images placed side by side. It adds no clustering of its own.

``apply_palette`` maps an image onto a given palette (each pixel takes its
nearest entry, or Floyd–Steinberg dithering) and keeps the palette exactly
as given, entry for entry, used or not: index i is the same colour in every
image mapped onto the same palette, as sprite sheets and palette swaps need.

Alpha: as in ``quantize``, fully transparent pixels count as (0, 0, 0, 0).
When RGB counts meet RGBA counts, the RGB colours become RGBA with alpha 255.
"""

import time
from dataclasses import dataclass

import numpy as np

from ._lloyd import nearest_centers

# The steps of the single-image path, shared so that the fit of several
# images is the same computation (see ``fit_palette``).
from ._palette import (
    colors_as_points,
    fit_colors,
    pack_colors,
    palette_from_centers,
    sort_by_use,
    weighted_colors,
)
from ._quantize import QuantizeResult
from ._validation import check_color_space, check_dither, check_image, check_int
from .color import to_working_space
from .dither import dither as _dither

__all__ = ["ColorCounts", "apply_palette", "color_counts", "fit_palette",
           "sum_counts"]

@dataclass(frozen=True, eq=False)
class ColorCounts:
    """Distinct colours and their pixel counts, as packed integer codes.

    Attributes
    ----------
    codes : ndarray of shape (m,), uint32
        The distinct colours packed big-endian: ``0xRRGGBB`` (3 channels) or
        ``0xRRGGBBAA`` (4 channels), strictly increasing.
    counts : ndarray of shape (m,), int64
        Pixels of each colour, all > 0.
    n_channels : int
        3 (RGB) or 4 (RGBA).

    ``a + b`` is ``sum_counts([a, b])``. Picklable: this is what travels
    between processes or machines.
    """

    codes: np.ndarray
    counts: np.ndarray
    n_channels: int

    def __add__(self, other):
        if not isinstance(other, ColorCounts):
            return NotImplemented
        return sum_counts([self, other])

    def __len__(self):
        return int(self.codes.shape[0])

    @property
    def n_pixels(self):
        """Total pixels counted, int."""
        return int(self.counts.sum())

    def colors(self):
        """The distinct colours, ndarray of shape (m, n_channels), uint8."""
        shifts = np.arange(8 * (self.n_channels - 1), -1, -8, dtype=np.uint32)
        return ((self.codes[:, np.newaxis] >> shifts) & np.uint32(0xFF)).astype(
            np.uint8)

    def __eq__(self, other):
        if not isinstance(other, ColorCounts):
            return NotImplemented
        return (self.n_channels == other.n_channels
                and np.array_equal(self.codes, other.codes)
                and np.array_equal(self.counts, other.counts))


def color_counts(image):
    """Count the distinct colours of an image.

    Parameters
    ----------
    image : ndarray of shape (H, W, 3) or (H, W, 4), uint8
        RGB or RGBA pixels. Never modified. Fully transparent pixels count as
        (0, 0, 0, 0).

    Returns
    -------
    ColorCounts

    Examples
    --------
    >>> import numpy as np
    >>> image = np.array([[[9, 9, 9], [0, 0, 0], [9, 9, 9]]], dtype=np.uint8)
    >>> counts = color_counts(image)
    >>> [hex(c) for c in counts.codes], counts.counts.tolist()
    (['0x0', '0x90909'], [1, 2])
    """
    image = check_image(image)
    _, colors, counts, _, _, _ = weighted_colors(image, "rgb")
    return ColorCounts(pack_colors(colors), counts.astype(np.int64), image.shape[2])


def _as_rgba(counts):
    if counts.n_channels == 4:
        return counts
    rgba = (counts.codes.astype(np.uint32) << np.uint32(8)) | np.uint32(0xFF)
    return ColorCounts(rgba, counts.counts, 4)


def sum_counts(counts):
    """Add colour counts exactly.

    Parameters
    ----------
    counts : iterable of ColorCounts
        At least one. If some are RGBA, the RGB ones are taken as RGBA with
        alpha 255.

    Returns
    -------
    ColorCounts
        Every code that occurs in any of them, with the sum of its counts
        (int64, exact). The result does not depend on the order or grouping
        of the sums.

    Examples
    --------
    >>> import numpy as np
    >>> a = color_counts(np.zeros((1, 2, 3), np.uint8))
    >>> b = color_counts(np.full((1, 3, 3), 7, np.uint8))
    >>> total = sum_counts([a, b, a])
    >>> total.colors().tolist(), total.counts.tolist()
    ([[0, 0, 0], [7, 7, 7]], [4, 3])
    """
    counts = list(counts)
    if not counts:
        raise ValueError("sum_counts needs at least one ColorCounts; got none")
    for item in counts:
        if not isinstance(item, ColorCounts):
            raise TypeError(f"sum_counts takes ColorCounts; got {type(item).__name__}")
    if len(counts) == 1:
        return counts[0]
    if any(item.n_channels == 4 for item in counts):
        counts = [_as_rgba(item) for item in counts]
    codes = np.concatenate([item.codes for item in counts])
    values = np.concatenate([item.counts for item in counts]).astype(np.int64)
    order = np.argsort(codes, kind="stable")
    codes, values = codes[order], values[order]
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    # reduceat adds int64 in int64: exact.
    return ColorCounts(codes[starts], np.add.reduceat(values, starts),
                       counts[0].n_channels)


def _total_counts(images_or_counts):
    """The summed ColorCounts of one image, one ColorCounts, or a list of them."""
    if isinstance(images_or_counts, ColorCounts):
        return images_or_counts
    if isinstance(images_or_counts, np.ndarray) and images_or_counts.ndim == 3:
        return color_counts(images_or_counts)
    items = list(images_or_counts)
    if not items:
        raise ValueError("images_or_counts is empty: give at least one image")
    return sum_counts(item if isinstance(item, ColorCounts) else color_counts(item)
                      for item in items)


def fit_palette(images_or_counts, n_colors, *, random_state=0, max_iter=300,
                tol=1e-4, color_space="rgb", return_n_iter=False):
    """One palette of at most ``n_colors`` colours for many images.

    k-means (``KMeans``, k-means++ start, as ``quantize``) on the distinct
    colours of all the images together, each weighted by its summed pixel
    count: the same objective as clustering every pixel of every image. For
    images of equal width this is the palette ``quantize`` gives for the
    images stacked into one.

    Parameters
    ----------
    images_or_counts : ndarray, ColorCounts, or iterable of them
        One (H, W, 3|4) uint8 image, the ``color_counts`` of one or of many
        (summed with ``sum_counts``), or a list mixing images and counts.
        Never modified.
    n_colors : int
        Largest palette size, 1 to 256.
    random_state : None, int or numpy.random.Generator, default=0
        Seed of the k-means start.
    max_iter : int, default=300
        Most Lloyd iterations.
    tol : float, default=1e-4
        Convergence threshold of ``KMeans``.
    color_space : {"rgb", "oklab"}, default="rgb"
        Where the colours are clustered (see ``quantize``).
    return_n_iter : bool, default=False
        Also return the number of k-means iterations (0 when there were no
        more distinct colours than ``n_colors``).

    Returns
    -------
    palette : ndarray of shape (n_out, C), uint8
        ``n_out <= n_colors``; C = 4 if any input has alpha, else 3. Sorted by
        decreasing pixel count over all the images; every entry is the
        nearest of at least one pixel.
    n_iter : int
        Only with ``return_n_iter=True``.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.array([[[0, 0, 0], [10, 0, 0]]], dtype=np.uint8)
    >>> b = np.array([[[250, 250, 250], [250, 250, 250]]], dtype=np.uint8)
    >>> fit_palette([a, b], 2).tolist()
    [[250, 250, 250], [5, 0, 0]]
    """
    n_colors = check_int(n_colors, "n_colors", low=1, high=256)
    color_space = check_color_space(color_space)
    total = _total_counts(images_or_counts)
    colors, counts = total.colors(), total.counts
    X, sample_weight = colors_as_points(colors, counts, color_space)
    if colors.shape[0] <= n_colors:
        centers, n_iter = X, 0
    else:
        model = fit_colors("kmeans", n_colors, X, sample_weight,
                           random_state=random_state, max_iter=max_iter, tol=tol,
                           batch_size=None, record_history=False)
        centers, n_iter = model.cluster_centers_, int(model.n_iter_)
    palette, labels, _ = palette_from_centers(
        centers, X, sample_weight, colors, counts, color_space)
    palette, _ = sort_by_use(palette, labels, counts)
    return (palette, n_iter) if return_n_iter else palette


def check_palette(palette):
    """``palette`` as an (n, 3|4) uint8 array with 1 <= n <= 256, or a ValueError."""
    palette = np.asarray(palette)
    if palette.dtype != np.uint8:
        if palette.dtype.kind not in "iu" or (
                palette.size and (palette.min() < 0 or palette.max() > 255)):
            raise ValueError(
                f"palette must hold integers 0-255; got dtype {palette.dtype}")
        palette = palette.astype(np.uint8)
    if palette.ndim != 2 or palette.shape[1] not in (3, 4) \
            or not 1 <= palette.shape[0] <= 256:
        raise ValueError(
            f"palette must have shape (n, 3) or (n, 4) with 1 <= n <= 256; got "
            f"{palette.shape}")
    return palette


def _with_alpha(array):
    """RGB(A) uint8 values of shape (..., 3|4) as RGBA (alpha 255 added)."""
    if array.shape[-1] == 4:
        return array
    alpha = np.full(array.shape[:-1] + (1,), 255, dtype=np.uint8)
    return np.concatenate([array, alpha], axis=-1)


def apply_palette(image, palette, *, color_space="rgb", dither=None):
    """Map an image onto a given palette, keeping the palette entry for entry.

    Parameters
    ----------
    image : ndarray of shape (H, W, 3) or (H, W, 4), uint8
        Never modified. Fully transparent pixels count as (0, 0, 0, 0).
    palette : array-like of shape (n, 3) or (n, 4), integers 0-255
        1 to 256 colours, e.g. from ``fit_palette``. When the image and the
        palette differ in channels, the one without alpha is compared as
        alpha 255.
    color_space : {"rgb", "oklab"}, default="rgb"
        Where the distance to the palette is measured.
    dither : float in [0, 1] or None, default=None
        Floyd–Steinberg dithering level (see ``quantize``); None: nearest
        entry.

    Returns
    -------
    QuantizeResult
        ``palette`` exactly as given (uint8, same order, unused entries
        kept), ``indices`` the nearest entry of each pixel (the lowest index
        wins a tie), ``n_iter=0``, ``method="palette"``, ``inertia`` the
        squared error in RGB(A) 0-255 units against the image as mapped.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.array([[[0, 0, 0], [200, 0, 0], [240, 240, 240]]], np.uint8)
    >>> result = apply_palette(image, [[255, 255, 255], [255, 0, 0], [0, 0, 0]])
    >>> result.indices.tolist(), result.palette.shape, result.inertia
    ([[2, 1, 0]], (3, 3), 3700.0)
    """
    start = time.perf_counter()
    image = check_image(image)
    palette = check_palette(palette)
    color_space = check_color_space(color_space)
    level = check_dither(dither)
    if image.shape[2] == 4 or palette.shape[1] == 4:
        image, work_palette = _with_alpha(image), _with_alpha(palette)
    else:
        work_palette = palette
    height, width = image.shape[:2]
    image, colors, counts, inverse, X, sample_weight = weighted_colors(
        image, color_space)
    centers = np.ascontiguousarray(
        to_working_space(work_palette, color_space)).astype(X.dtype)
    labels, _, _ = nearest_centers(X, sample_weight, centers)
    if level:
        indices = _dither(image, work_palette, level=level, color_space=color_space)
        diff = (image.astype(np.int64) - work_palette[indices]).reshape(-1)
        inertia = float(np.dot(diff, diff))
    else:
        indices = labels.astype(np.uint8)[inverse].reshape(height, width)
        per_color = colors.astype(np.int64) - work_palette[labels]
        inertia = float(counts @ (per_color * per_color).sum(axis=1))
    return QuantizeResult(
        palette=palette, indices=indices, n_iter=0, inertia=inertia,
        seconds=time.perf_counter() - start, n_colors_in=int(colors.shape[0]),
        method="palette", color_space=color_space, dither=level or None)

