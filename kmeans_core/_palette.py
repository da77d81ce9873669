"""From an image's colours to a palette: the steps ``quantize`` and
``quantize_to_psnr`` share.

- ``unique_colors``: the distinct colours of an image and their pixel counts
  (public as ``kmeans_core.unique_colors``);
- ``weighted_colors``: the points k-means clusters, those colours in the
  working space weighted by their counts;
- ``palette_from_centers``: the centres rounded to uint8 colours, every
  distinct colour labelled with its nearest rounded centre in the clustering
  space (one assignment pass, not a new clustering); every pixel then takes
  the label of its colour;
- ``sort_by_use``: palette entries no pixel uses (two centres that round to
  the same colour) dropped, the rest sorted by decreasing pixel count.

A palette and indices become a Pillow image in ``io.palette_image``.
"""

import warnings

import numpy as np

from . import _kernels_colors
from ._lloyd import nearest_centers
from ._validation import check_image
from .color import from_working_space, to_working_space
from .kmeans import ConvergenceWarning, KMeans
from .minibatch import MiniBatchKMeans

# Largest count a float32 weight holds exactly.
_FLOAT32_EXACT = 1 << 24


def pack_colors(image):
    """Each pixel's colour as one uint32, R first: ``R << 16 | G << 8 | B``
    (``R << 24 | G << 16 | B << 8 | A`` with alpha).

    Parameters
    ----------
    image : ndarray of shape (H, W, C) or (m, C), uint8

    Returns
    -------
    ndarray of shape (H * W,) or (m,), uint32
    """
    pixels = image.reshape(-1, image.shape[-1])
    codes = np.zeros(pixels.shape[0], dtype=np.uint32)
    for c in range(pixels.shape[1]):
        codes <<= np.uint32(8)
        codes |= pixels[:, c]
    return codes


def unique_colors(image):
    """Distinct colours of an image, their pixel counts and each pixel's colour.

    Parameters
    ----------
    image : ndarray of shape (H, W, 3) or (H, W, 4), uint8
        Never modified.

    Returns
    -------
    colors : ndarray of shape (m, C), uint8
        The distinct colours, in increasing order of their packed code
        (R, G, B[, A] as one big-endian integer).
    counts : ndarray of shape (m,), int64
        Number of pixels of each colour.
    inverse : ndarray of shape (H * W,), int32
        Index into ``colors`` of every pixel, in row-major order:
        ``colors[inverse]`` is the image's pixels.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.array([[[9, 9, 9], [0, 0, 0], [9, 9, 9]]], dtype=np.uint8)
    >>> colors, counts, inverse = unique_colors(image)
    >>> colors.tolist(), counts.tolist(), inverse.tolist()
    ([[0, 0, 0], [9, 9, 9]], [1, 2], [1, 0, 1])
    """
    image = check_image(image)
    n_channels = image.shape[2]
    inverse = np.empty(image.shape[0] * image.shape[1], dtype=np.int32)
    if n_channels == 3:
        # Counted in numba passes over the pixels themselves (a bitmap of all
        # 2**24 RGB colours): no sort, and no array of codes.
        pixels = np.ascontiguousarray(image).reshape(-1, 3)
        # Read-only, as a decoded image is: numba compiles (and caches) a
        # kernel per argument type, read-only or not, so this keeps it to one.
        pixels = pixels.view()
        pixels.flags.writeable = False
        colors, counts = _kernels_colors.unique_rgb(pixels, inverse)
        return colors, counts, inverse
    # RGBA: a hash table of the packed codes.
    codes = pack_colors(image)
    unique_codes, counts = _kernels_colors.unique_codes_hash(codes, inverse)
    shifts = np.arange(8 * (n_channels - 1), -1, -8, dtype=np.uint32)
    colors = ((unique_codes[:, np.newaxis] >> shifts) & np.uint32(0xFF)).astype(
        np.uint8
    )
    return colors, counts, inverse


def weighted_colors(image, color_space):
    """The points k-means clusters for ``image``: its distinct colours.

    Fully transparent pixels are first set to (0, 0, 0, 0), on a copy.
    Returns ``(image, colors, counts, inverse, X, sample_weight)``: the image
    as clustered, ``unique_colors`` of it, the colours in the working space
    (float32; float64 when a colour covers more than 2**24 pixels, which a
    float32 weight would round) and the counts as weights of the same dtype.
    """
    if image.shape[2] == 4 and (image[..., 3] == 0).any():
        image = image.copy()  # never touch the caller's array
        image[image[..., 3] == 0] = 0
    colors, counts, inverse = unique_colors(image)
    X, sample_weight = colors_as_points(colors, counts, color_space)
    return image, colors, counts, inverse, X, sample_weight


def colors_as_points(colors, counts, color_space):
    """``(X, sample_weight)``: distinct colours as the points k-means
    clusters, in the working space, weighted by their counts.

    float32, or float64 when a colour covers more than 2**24 pixels, which
    a float32 weight would round.
    """
    X = np.ascontiguousarray(to_working_space(colors, color_space))
    if counts.max() > _FLOAT32_EXACT:
        X = X.astype(np.float64)
    return X, counts.astype(X.dtype)


def palette_from_centers(centers, X, sample_weight, colors, counts, color_space,
                         guess=None):
    """Round centres to a palette and give each distinct colour its nearest entry.

    Parameters
    ----------
    centers : ndarray of shape (k, C), float
        Centres in the working space of ``color_space``.
    X : ndarray of shape (m, C), float32, C-contiguous
        The distinct colours in the working space (``to_working_space``).
    sample_weight : ndarray of shape (m,), float32
        ``counts`` as float32.
    colors : ndarray of shape (m, C), uint8
        The distinct colours.
    counts : ndarray of shape (m,), int64
        Pixels of each colour.
    color_space : {"rgb", "oklab"}
    guess : ndarray of shape (m,), int, optional
        The fit's labels of the colours: rounding moves a centre by less than
        one unit, so most keep theirs, and the mapping searches only the
        others (``_lloyd.nearest_centers``); the result is the same.

    Returns
    -------
    palette : ndarray of shape (k, C), uint8
        The centres rounded (``from_working_space``), in the centres' order;
        entries may be unused.
    labels : ndarray of shape (m,), int32
        Index of each colour's nearest palette entry in the working space (the
        lowest index wins a tie, so of two centres rounding to the same colour
        only the first is used).
    sq_error : float
        Sum over pixels of the squared RGB(A) error, 0-255 units.
    """
    palette = from_working_space(centers, color_space)
    palette_work = np.ascontiguousarray(to_working_space(palette, color_space))
    labels, distances, _ = nearest_centers(X, sample_weight,
                                           palette_work.astype(X.dtype), guess)
    if color_space == "rgb":
        # Integer differences: the float32 distances are exact (< 2**24).
        per_color = distances.astype(np.float64)
    else:
        diff = colors.astype(np.float64) - palette[labels]
        per_color = (diff * diff).sum(axis=1)
    # Not ``@``: a BLAS dot product wakes OpenBLAS's threads, which then
    # spin for about 0.1 s and take a core from the k-means threads.
    return palette, labels, float(np.multiply(counts, per_color).sum())


def sort_by_use(palette, labels, counts):
    """Drop unused palette entries and sort the rest by decreasing pixel count.

    Returns the new palette, ndarray of shape (n_used, C), uint8, and
    ``remap``, ndarray of shape (len(palette),), uint8: ``remap[labels]``
    indexes the new palette (unused entries map to 0).
    """
    pixel_counts = np.bincount(labels, weights=counts, minlength=palette.shape[0])
    order = np.argsort(-pixel_counts, kind="stable")
    order = order[pixel_counts[order] > 0]  # drop entries no pixel uses
    remap = np.zeros(palette.shape[0], dtype=np.uint8)
    remap[order] = np.arange(order.size, dtype=np.uint8)
    return palette[order], remap


# Seeding sample of the default method: this many rows per colour asked for,
# and at least _MIN_INIT_SIZE (see KMeans's init_size).
_INIT_ROWS_PER_COLOR = 32
_MIN_INIT_SIZE = 4096


def make_model(method, n_colors, *, random_state, max_iter, tol, batch_size,
               record_history):
    """The ``KMeans`` (method "kmeans") or ``MiniBatchKMeans`` that
    ``quantize`` and ``fit_palette`` fit on weighted colours."""
    if method == "kmeans":
        # k-means++ on a weighted sample of the colours: as good a start as
        # seeding on all of them (china.jpg, k=256: MSE 14.28 either way), for
        # a tenth of the time; Lloyd's iterations then use every colour.
        init_size = max(_MIN_INIT_SIZE, _INIT_ROWS_PER_COLOR * n_colors)
        return KMeans(n_colors, init="k-means++", n_init=1, max_iter=max_iter,
                      tol=tol, random_state=random_state,
                      record_history=record_history, init_size=init_size)
    options = {} if batch_size is None else {"batch_size": batch_size}
    return MiniBatchKMeans(n_colors, init="k-means++", max_iter=max_iter,
                           random_state=random_state,
                           record_history=record_history, **options)


# A "kmeans" fit on at least this many colours starts on every
# _COARSE_STEP-th of them (see fit_colors).
_COARSE_MIN_ROWS = 1 << 19
_COARSE_STEP = 4


def fit_colors(method, n_colors, X, sample_weight, *, random_state, max_iter, tol,
               batch_size, record_history):
    """The ``make_model`` model, fitted on the weighted colours ``X``.

    Coarse to fine, for "kmeans" on ``_COARSE_MIN_ROWS`` colours or more
    (without history: the iterations shown would be the fine ones only):
    the model first converges on every ``_COARSE_STEP``-th colour with its
    own weight (``unique_colors`` gives the colours sorted by their code, so
    these spread over all of the colour space, in proportion), then Lloyd's
    iterations on all the colours start from those centres and run until
    the same convergence test holds. The result is a k-means of all the
    colours, as the direct fit's is (exact labels, the same stopping rule),
    from another start, and most of the iterations run on a quarter of the
    rows. ``python benchmarks/bench_coarse_start.py``, six photos of 0.54 to
    1.32 million colours at k = 16, 64 and 256: 1.1 to 5.3x faster, inertia
    from 3.1% lower to 1.3% higher (another start, another local minimum);
    the 12-megapixel photo of the benchmarks at k = 256, 1085 -> 396 ms (78
    iterations on all the colours, against 80 on a quarter and 14 on all),
    inertia 0.16% lower. With a tenth as many colours (a photo of 0.3
    megapixels) the fine stage takes as many iterations as a direct fit, and
    the coarse one only adds to them. The model returned counts in
    ``n_iter_`` its iterations on all the colours.
    """
    model = make_model(method, n_colors, random_state=random_state,
                       max_iter=max_iter, tol=tol, batch_size=batch_size,
                       record_history=record_history)
    if method != "kmeans" or record_history or X.shape[0] < _COARSE_MIN_ROWS:
        return fit_quietly(model, X, sample_weight)
    fit_quietly(model, np.ascontiguousarray(X[::_COARSE_STEP]),
                np.ascontiguousarray(sample_weight[::_COARSE_STEP]))
    fine = KMeans(n_colors, init=model.cluster_centers_, n_init=1, max_iter=max_iter,
                  tol=tol, random_state=random_state)
    return fit_quietly(fine, X, sample_weight)


def fit_quietly(model, X, sample_weight):
    """``model.fit(X, sample_weight=...)`` without the ``ConvergenceWarning``
    of fewer distinct clusters than asked for: for a palette, that just
    means a smaller one."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, sample_weight=sample_weight)
