"""Colour quantization: an image's colours reduced to a palette by k-means.

``quantize`` clusters the *distinct* colours of an image, each weighted by the
number of pixels that have it. With integer weights this is exactly the
objective of clustering all pixels (same centres, same iterations, same
inertia), on far fewer points: a 273,280-pixel photo has about 97,000 distinct
colours, a flat graphic a few hundred. The clustering itself is ``KMeans`` (or
``MiniBatchKMeans``); this module only prepares the points and turns the
centres into a palette.

Alpha: an (H, W, 4) image is clustered in four dimensions, R, G, B and A, all
in 0-255 units, so opacity is treated like one more colour channel. Fully
transparent pixels (A = 0) are first set to (0, 0, 0, 0): their colour is
invisible, and would otherwise pull palette entries towards colours nobody
sees. An (H, W, 3) image gives an RGB palette.

Colour space: with ``color_space="oklab"`` the distinct colours are
converted to OKLab (``kmeans_core.color.to_working_space``; alpha, if any, as
alpha / 255) and clustered there, so that the k-means objective follows
perceived colour differences; the centres are converted back to sRGB and
clipped to 0-255. ``inertia`` is always measured in RGB(A) 0-255 units.

From centres to palette (the steps of ``_palette.py``, shared with
``quality.quantize_to_psnr``): the centres are rounded to uint8 colours,
every distinct colour is labelled with its nearest rounded centre in the
clustering space (one assignment pass, not a new clustering) and every pixel
takes the label of its colour. Palette entries no pixel uses (two centres that
round to the same colour) are dropped, and the palette is sorted by
decreasing pixel count.

Dithering (``dither=level``): the pixels are then mapped onto that same
palette by Floyd–Steinberg error diffusion (``kmeans_core.dither.dither``)
instead of nearest colour; the palette does not change.
"""

import time
from dataclasses import dataclass

import numpy as np

from ._lloyd import IterationRecord
from ._palette import (
    fit_colors,
    palette_from_centers,
    sort_by_use,
    weighted_colors,
)
from ._validation import check_color_space, check_dither, check_image, check_int
from .color import oklab_to_srgb
from .dither import dither as _dither
from .io import palette_image
from .metrics import squared_error

_METHODS = ("kmeans", "minibatch")


@dataclass
class QuantizeResult:
    """A quantized image: a palette and, per pixel, an index into it.

    Attributes
    ----------
    palette : ndarray of shape (n_out, C), uint8
        The colours, C = 3 (RGB) or 4 (RGBA); ``n_out <= n_colors``, sorted by
        decreasing pixel count of the undithered result, where every entry is
        used by at least one pixel (with dithering, rarely, an entry may end
        up unused: the palette is kept as it is).
    indices : ndarray of shape (H, W), uint8
        Index into ``palette`` of every pixel.
    n_iter : int
        k-means iterations on all the colours (mini-batch: passes over the
        data); 0 when the image had no more distinct colours than asked for.
        From half a million distinct colours on, these follow a fit on every
        4th colour (``_palette.fit_colors``), whose iterations are not counted.
    inertia : float
        Sum over all pixels of the squared distance between the pixel and its
        palette colour, in RGB(A) 0-255 units whatever the colour space, and
        after dithering if any (so ``mse = inertia / (H * W * C)``).
    seconds : float
        Time spent in ``quantize`` (counting colours, clustering, assigning).
    n_colors_in : int
        Number of distinct colours of the input (after transparent pixels were
        set to (0, 0, 0, 0)).
    method : str
        "kmeans" or "minibatch".
    history : list of IterationRecord or None
        With ``record_history=True``: the centres and inertia of every
        iteration of the fit. The centres are always float32 RGB(A) in 0-255
        units (OKLab centres are converted and clipped, so plots can draw
        them); the inertia is the k-means objective in the clustering space
        (0-255 units for "rgb", OKLab units for "oklab").
    color_space : str
        "rgb" or "oklab": where the colours were clustered and assigned.
    dither : float or None
        The dithering level used, None when the pixels took their nearest
        palette colour.
    """

    palette: np.ndarray
    indices: np.ndarray
    n_iter: int
    inertia: float
    seconds: float
    n_colors_in: int
    method: str
    history: list | None = None
    color_space: str = "rgb"
    dither: float | None = None

    def to_image(self):
        """The quantized image, ndarray of shape (H, W, C), uint8."""
        return self.palette[self.indices]

    def to_pil(self):
        """The quantized image as a Pillow image of mode "P".

        The palette is this result's palette; for an RGBA palette the image
        carries the alpha of each entry (saved as a PNG ``tRNS`` chunk).
        """
        return palette_image(self.palette, self.indices)


def quantize(image, n_colors, *, method="kmeans", random_state=0, max_iter=300,
             tol=1e-4, batch_size=None, record_history=False, color_space="rgb",
             dither=None):
    """Reduce an image to at most ``n_colors`` colours with k-means.

    Parameters
    ----------
    image : ndarray of shape (H, W, 3) or (H, W, 4), uint8
        RGB or RGBA pixels. Never modified.
    n_colors : int
        Largest palette size, 1 to 256.
    method : {"kmeans", "minibatch"}, default="kmeans"
        "kmeans": ``KMeans`` (Lloyd, k-means++ start) on the distinct colours
        weighted by their pixel counts, the same objective as clustering every
        pixel; with half a million distinct colours or more it starts from a
        fit on every 4th of them (coarse to fine, ``_palette.fit_colors``).
        "minibatch": ``MiniBatchKMeans`` on the same weighted colours.
    random_state : None, int or numpy.random.Generator, default=0
        Seed of the clustering; the default makes the result repeatable.
    max_iter : int, default=300
        Most iterations (mini-batch: passes over the data).
    tol : float, default=1e-4
        Convergence threshold of ``KMeans`` (see there). Ignored by
        "minibatch", which uses its own early stopping.
    batch_size : int or None, default=None
        Mini-batch size; None keeps ``MiniBatchKMeans``'s default. Only with
        ``method="minibatch"``.
    record_history : bool, default=False
        Keep the centres of every iteration in ``result.history`` (as RGB(A)
        0-255 values, also for OKLab).
    color_space : {"rgb", "oklab"}, default="rgb"
        Where the colours are clustered and assigned to the palette: "rgb",
        the 0-255 values; "oklab", OKLab (perceptual; alpha as alpha / 255).
        The palette is sRGB(A) uint8 either way.
    dither : float in [0, 1] or None, default=None
        Floyd–Steinberg dithering level onto the found palette (1: full error
        diffusion, 0.5: half the error). None or 0: each pixel takes its
        nearest palette colour. The palette is the same with or without.

    Returns
    -------
    QuantizeResult
        When the image has no more than ``n_colors`` distinct colours, the
        palette is exactly those colours (no clustering, ``n_iter=0``,
        ``inertia=0.0`` without dithering).

    Examples
    --------
    >>> import numpy as np
    >>> image = np.array([[[0, 0, 0], [10, 0, 0], [250, 250, 250]]], dtype=np.uint8)
    >>> result = quantize(image, 2)
    >>> result.palette.tolist(), result.indices.tolist()
    ([[5, 0, 0], [250, 250, 250]], [[0, 0, 1]])
    >>> quantize(image, 2, color_space="oklab").palette.tolist()  # OKLab mean
    [[1, 0, 0], [250, 250, 250]]
    """
    start = time.perf_counter()
    image = check_image(image)
    n_colors = check_int(n_colors, "n_colors", low=1, high=256)
    color_space = check_color_space(color_space)
    level = check_dither(dither)
    if method not in _METHODS:
        raise ValueError(f"method={method!r} is not 'kmeans' or 'minibatch'")
    if batch_size is not None and method != "minibatch":
        raise ValueError(
            f"batch_size={batch_size!r} is only used with method='minibatch'"
        )
    height, width = image.shape[:2]

    image, colors, counts, inverse, X, sample_weight = weighted_colors(
        image, color_space)
    n_colors_in = colors.shape[0]

    if n_colors_in <= n_colors:
        centers = X
        n_iter = 0
        guess = None
        history = [_initial_record(X)] if record_history else None
    else:
        model = fit_colors(method, n_colors, X, sample_weight,
                           random_state=random_state, max_iter=max_iter, tol=tol,
                           batch_size=batch_size, record_history=record_history)
        centers = model.cluster_centers_
        guess = getattr(model, "labels_", None)
        n_iter = int(model.n_iter_)
        history = list(getattr(model, "history_", [])) if record_history else None
    if history is not None and color_space != "rgb":
        history = [_rgb_record(record, color_space) for record in history]

    palette, labels, inertia = palette_from_centers(
        centers, X, sample_weight, colors, counts, color_space, guess)
    palette, remap = sort_by_use(palette, labels, counts)
    indices = remap[labels][inverse].reshape(height, width)
    if level:
        indices = _dither(image, palette, level=level, color_space=color_space)
        inertia = squared_error(image, palette[indices])

    return QuantizeResult(
        palette=palette,
        indices=indices,
        n_iter=n_iter,
        inertia=inertia,
        seconds=time.perf_counter() - start,
        n_colors_in=int(n_colors_in),
        method=method,
        history=history,
        color_space=color_space,
        dither=level or None,
    )


def load_kernels(n_colors, *, method="kmeans", color_space="rgb"):
    """Load, from numba's cache, the kernels ``quantize`` runs on an RGB image.

    The steps of ``quantize`` with these options (colour counting, the fit,
    the palette mapping) on 17 x 17 random colours, so every kernel is called
    with the types of a real run; a kernel not cached yet compiles. Unlike
    ``quantize`` it touches no warning filters (``warnings.catch_warnings``
    is not thread-safe), so it can run while another thread records
    warnings, and it gives none: 289 distinct colours are more than 256
    centres need.
    """
    pixels = np.random.default_rng(0).integers(0, 256, (17, 17, 3), dtype=np.uint8)
    _, colors, counts, _, X, sample_weight = weighted_colors(pixels, color_space)
    model = fit_colors(method, n_colors, X, sample_weight, random_state=0,
                       max_iter=300, tol=1e-4, batch_size=None, record_history=False)
    palette_from_centers(model.cluster_centers_, X, sample_weight, colors, counts,
                         color_space, getattr(model, "labels_", None))


def _rgb_record(record, color_space):
    """A history record with its working-space centres as RGB(A) 0-255 float32."""
    centers = np.asarray(record.centers, dtype=np.float64)
    rgb = np.empty(centers.shape, dtype=np.float32)
    rgb[:, :3] = oklab_to_srgb(centers[:, :3], clip=True) * 255.0
    rgb[:, 3:] = np.clip(centers[:, 3:] * 255.0, 0.0, 255.0)
    return IterationRecord(rgb, record.inertia)


def _initial_record(centers):
    return IterationRecord(centers.copy(), 0.0)
