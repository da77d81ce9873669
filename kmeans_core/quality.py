"""A quality target instead of a palette size: the fewest colours reaching a PSNR.

``quantize_to_psnr`` searches over the palette size k. PSNR grows with k in
practice (not provably: each k is a separate local optimum), and close to
linearly in log k. So the search doubles k (1, 2, 4, ...) until the target is
reached, then narrows the bracket between the last k that missed it and the
first that reached it: each probe is where the line (on a log k axis) through
the two fits closest to the target meets it, which is usually right or one
off; a bracket that 3 probes did not halve is bisected instead.

Every fit is warm-started: it starts from the final centres of the nearest k
fitted so far, either below it, plus new centres chosen the k-means++ way
(greedy: each new centre is the best of ``2 + ln k`` candidates drawn with
probability proportional to weight x squared distance to the nearest centre so
far), or above it, minus the centres whose removal raises the inertia least.
Starting near a good solution, Lloyd's iterations converge in fewer steps, and
the colours already found are kept.

Precision: the k returned reaches the target, and k - 1 was fitted by the
search and missed it (unless k = 1), so k is exactly the fewest colours as long
as PSNR is monotone in k. It costs ``log2`` of the answer plus 2 fits for the
doubling, then typically 2 to 4 probes (on the three sample photos at 30, 33
and 36 dB: 7 to 12 fits in all); ``tried`` lists them all.
"""

import math
import time

import numpy as np

from . import _kernels
from ._lloyd import kmeans_plusplus
from ._palette import fit_quietly, palette_from_centers, sort_by_use, weighted_colors
from ._quantize import QuantizeResult
from ._validation import (
    check_color_space,
    check_dither,
    check_image,
    check_int,
    check_random_state,
    check_real,
)
from .dither import dither as _dither
from .kmeans import KMeans
from .metrics import psnr_from_squared_error, squared_error


class QualityTooLowError(ValueError):
    """Even the largest allowed palette misses the quality target.

    Attributes
    ----------
    best_psnr : float
        PSNR in dB reached with ``max_colors`` colours.
    max_colors : int
        The largest palette size that was tried.
    target_psnr : float
        The PSNR in dB that was asked for (``min_psnr`` when one was given).
    """

    def __init__(self, best_psnr, max_colors, target_psnr):
        self.best_psnr = float(best_psnr)
        self.max_colors = int(max_colors)
        self.target_psnr = float(target_psnr)
        colours = "colour gives" if max_colors == 1 else "colours give"
        super().__init__(
            f"PSNR {target_psnr:g} dB not reachable: {max_colors} {colours} "
            f"{best_psnr:.2f} dB"
        )


def quantize_to_psnr(image, target_psnr, *, max_colors=256, min_psnr=None,
                     color_space="rgb", dither=None, random_state=0, max_iter=300,
                     tol=1e-4):
    """Quantize with the fewest colours whose result reaches ``target_psnr``.

    Parameters
    ----------
    image : ndarray of shape (H, W, 3) or (H, W, 4), uint8
        RGB or RGBA pixels. Never modified. As in ``quantize``, fully
        transparent pixels count as (0, 0, 0, 0).
    target_psnr : float
        Required PSNR in dB (peak 255, over all pixels and channels, as
        ``kmeans_core.metrics.psnr``), > 0; ``inf`` asks for a lossless
        palette.
    max_colors : int, default=256
        Largest palette size allowed, 1 to 256.
    min_psnr : float or None, default=None
        Like pngquant's ``--quality MIN-MAX`` (with ``target_psnr`` as MAX):
        when ``max_colors`` colours miss ``target_psnr`` but reach
        ``min_psnr``, return the ``max_colors`` result instead of raising.
        None: ``target_psnr`` is the minimum.
    color_space : {"rgb", "oklab"}, default="rgb"
        Where the colours are clustered and assigned (see
        ``kmeans_core.color.to_working_space``). PSNR is always measured on
        the RGB(A) values.
    dither : float in [0, 1] or None, default=None
        Dither the chosen palette onto the image, as ``quantize`` does. The
        search measures PSNR *without* dithering (dithering usually lowers
        PSNR while it removes banding): the target applies to the palette,
        and ``result.inertia`` is the error of the dithered image.
    random_state : None, int or numpy.random.Generator, default=0
        Seed of the k-means++ steps; the default makes the result repeatable.
    max_iter, tol
        Passed to each ``KMeans`` fit.

    Returns
    -------
    result : QuantizeResult
        The chosen palette (``len(result.palette)`` colours, at most the k
        found: centres that round to the same colour merge) and indices;
        ``n_iter`` is the iteration count of the chosen fit, ``seconds`` the
        time of the whole search, ``inertia`` the sum of squared RGB(A)
        errors, so ``psnr = 10 log10(255**2 H W C / inertia)``. The chosen
        k is ``chosen_k(tried, target_psnr)``.
    tried : list of (int, float)
        Every (k, PSNR in dB) fitted, in the order of the search. The chosen
        k is the smallest one here reaching ``target_psnr`` (the last k tried
        when ``min_psnr`` made ``max_colors`` acceptable).

    Raises
    ------
    QualityTooLowError
        When ``max_colors`` colours give less than ``target_psnr`` (or
        ``min_psnr`` when given). Carries ``best_psnr``.

    Examples
    --------
    >>> import numpy as np
    >>> from kmeans_core.quality import quantize_to_psnr
    >>> ramp = np.repeat(np.arange(0, 256, 4, dtype=np.uint8), 3).reshape(8, 8, 3)
    >>> result, tried = quantize_to_psnr(ramp, 30)
    >>> len(result.palette), [(k, round(p, 1)) for k, p in tried]
    (10, [(1, 10.8), (2, 16.8), (4, 22.7), (8, 28.7), (16, 34.9), (10, 30.4), (9, 29.6)])
    """
    start = time.perf_counter()
    image = check_image(image)
    target_psnr = _check_psnr(target_psnr, "target_psnr")
    max_colors = check_int(max_colors, "max_colors", low=1, high=256)
    if min_psnr is not None:
        min_psnr = _check_psnr(min_psnr, "min_psnr")
        if min_psnr > target_psnr:
            raise ValueError(
                f"min_psnr={min_psnr:g} exceeds target_psnr={target_psnr:g}"
            )
    color_space = check_color_space(color_space)
    level = check_dither(dither)
    rng = check_random_state(random_state)

    image, colors, counts, inverse, X, weight = weighted_colors(image, color_space)
    search = _Search(colors, counts, X, weight, color_space, rng, max_iter=max_iter,
                     tol=tol)
    n_max = min(max_colors, len(colors))  # more colours than that: lossless

    # Doubling: 1, 2, 4, ... up to n_max.
    lo, k = 0, 1
    while True:
        if search.fit(k) >= target_psnr:
            hi = k
            break
        if k == n_max:
            best = search.fits[k]
            if min_psnr is not None and best.psnr >= min_psnr:
                result = search.result(k, inverse, image, level, start)
                return result, search.tried
            floor = target_psnr if min_psnr is None else min_psnr
            raise QualityTooLowError(best.psnr, n_max, floor)
        lo, k = k, min(2 * k, n_max)
    # Shrink the bracket: lo missed the target (or is 0), hi reached it.
    widths = [hi - lo]
    while hi - lo > 1:
        # Safeguard: a bracket not halved by the last 3 probes is bisected.
        bisect = len(widths) > 3 and 2 * widths[-1] > widths[-4]
        k = (lo + hi) // 2 if bisect else _interpolate(search, lo, hi, target_psnr)
        if search.fit(k) >= target_psnr:
            hi = k
        else:
            lo = k
        widths.append(hi - lo)
    return search.result(hi, inverse, image, level, start), search.tried


def chosen_k(tried, target_psnr):
    """The palette size ``quantize_to_psnr`` chose, from its ``tried`` list.

    The smallest k that reached ``target_psnr``; when none did (``min_psnr``
    accepted the largest palette), the last k tried.

    Examples
    --------
    >>> chosen_k([(1, 10.8), (2, 16.8), (4, 22.7), (3, 19.9)], 20.0)
    4
    >>> chosen_k([(1, 10.8), (2, 16.8)], 20.0)
    2
    """
    reached = [k for k, value in tried if value >= target_psnr]
    return min(reached) if reached else tried[-1][0]


def _interpolate(search, lo, hi, target):
    """The k to fit next, strictly between lo and hi (hi - lo >= 2).

    PSNR is close to linear in log k. Of the fits from lo to hi, the two
    closest to the target in PSNR give a line on a log k axis; the first
    integer k where it reaches the target is usually right or one off. The
    midpoint when there is no usable line (lo = 0, lossless hi, PSNR not
    increasing between the two).
    """
    points = sorted(
        (abs(fit.psnr - target), j, fit.psnr) for j, fit in search.fits.items()
        if lo <= j <= hi and j > 0 and math.isfinite(fit.psnr)
    )
    if lo == 0 or len(points) < 2:
        return (lo + hi) // 2
    (_, k1, p1), (_, k2, p2) = sorted(points[:2], key=lambda point: point[1])
    if p2 <= p1:
        return (lo + hi) // 2
    k = math.ceil(k1 * (k2 / k1) ** ((target - p1) / (p2 - p1)))
    return min(max(k, lo + 1), hi - 1)


def _check_psnr(value, name):
    return check_real(value, name, low=0, low_open=True, unit="dB")


class _Fit:
    """One fitted palette size: centres, palette, labels of the colours, PSNR."""

    def __init__(self, centers, palette, labels, sq_error, psnr, n_iter):
        self.centers = centers    # (k, C) float32, working space
        self.palette = palette    # (k, C) uint8
        self.labels = labels      # (n_colors,) int32, index into palette
        self.sq_error = sq_error  # sum over pixels of squared RGB(A) error
        self.psnr = psnr
        self.n_iter = n_iter


class _Search:
    """Fits palettes of any size k, each warm-started from a smaller one."""

    def __init__(self, colors, counts, X, weight, color_space, rng, *, max_iter,
                 tol):
        self.colors = colors
        self.counts = counts
        self.color_space = color_space
        self.X = X  # the colours in the working space, weighted by counts
        self.weight = weight
        self.rng = rng
        self.max_iter = max_iter
        self.tol = tol
        self.n_values = float(counts.sum()) * colors.shape[1]
        self.fits = {}
        self.tried = []

    def fit(self, k):
        """Fit k colours (warm-started), record and return the PSNR."""
        if k >= len(self.X):
            centers, n_iter = self.X.copy(), 0  # every colour its own entry
        else:
            init = self._warm_start(k)
            model = KMeans(k, init=init, n_init=1, max_iter=self.max_iter,
                           tol=self.tol)
            fit_quietly(model, self.X, self.weight)
            centers, n_iter = model.cluster_centers_, model.n_iter_
        fit = self._finish(centers, n_iter)
        self.fits[k] = fit
        self.tried.append((k, fit.psnr))
        return fit.psnr

    def _warm_start(self, k):
        """Initial centres for k: from the nearest fit below or above k."""
        below = max((j for j in self.fits if j < k), default=0)
        above = min((j for j in self.fits if j > k and j < len(self.X)),
                    default=None)
        if above is not None and above - k < k - below:
            return self._drop_centers(self.fits[above].centers, above - k)
        base = self.fits[below].centers if below else self.X[:0]
        return self._add_centers(base, k - below)

    def _drop_centers(self, centers, n_drop):
        """``centers`` without the ``n_drop`` whose removal costs least.

        The cost of removing a centre: the weighted increase of squared
        distance of its rows when they move to their second-nearest centre
        (each centre's cost taken alone, ignoring interactions; the Lloyd
        iterations that follow settle the rest).
        """
        X, w = self.X, self.weight.astype(np.float64)
        n_clusters = len(centers)
        cost = np.zeros(n_clusters)
        chunk = 1 << 15
        d2 = np.empty((min(chunk, len(X)), n_clusters), dtype=X.dtype)
        for start in range(0, len(X), chunk):
            rows = X[start: start + chunk]
            out = d2[: len(rows)]
            _kernels.squared_distances(rows, centers, out)
            two = np.partition(out, 1, axis=1)[:, :2].astype(np.float64)
            nearest = out.argmin(axis=1)
            cost += np.bincount(nearest, weights=w[start: start + chunk]
                                * (two[:, 1] - two[:, 0]), minlength=n_clusters)
        keep = np.sort(np.argsort(cost, kind="stable")[n_drop:])
        return np.ascontiguousarray(centers[keep])

    def _add_centers(self, centers, n_new):
        """``centers`` plus ``n_new`` greedy k-means++ centres (rows of X)."""
        return kmeans_plusplus(self.X, len(centers) + n_new, self.weight, self.rng,
                               start=centers)

    def _finish(self, centers, n_iter):
        """Round the centres to a palette, map the colours to it, measure."""
        palette, labels, sq_error = palette_from_centers(
            centers, self.X, self.weight, self.colors, self.counts, self.color_space)
        psnr = psnr_from_squared_error(sq_error, self.n_values)
        return _Fit(centers, palette, labels, sq_error, psnr, int(n_iter))

    def result(self, k, inverse, image, level, start):
        """The ``QuantizeResult`` of the fit of size k (palette as ``quantize``).

        ``image`` is the (alpha-cleared) image the colours came from; with
        ``level`` > 0 its pixels are dithered onto the palette.
        """
        fit = self.fits[k]
        palette, remap = sort_by_use(fit.palette, fit.labels, self.counts)
        indices = remap[fit.labels][inverse].reshape(image.shape[:2])
        inertia = fit.sq_error
        if level:
            indices = _dither(image, palette, level=level,
                              color_space=self.color_space)
            inertia = squared_error(image, palette[indices])
        return QuantizeResult(
            palette=palette,
            indices=indices,
            n_iter=fit.n_iter,
            inertia=inertia,
            seconds=time.perf_counter() - start,
            n_colors_in=len(self.colors),
            method="kmeans",
            history=None,
            color_space=self.color_space,
            dither=level or None,
        )
