"""Pictures of k-means at work: colour spaces, before/after, an animation.

Every function draws into the axes or figure it is given, or makes its own
figure, and returns what it drew into; none calls ``show()``. matplotlib is
imported inside the functions, so ``import kmeans_core`` (and the command
line) pays for it only when a plot is asked for. Figures are plain
``matplotlib.figure.Figure`` objects, not pyplot figures: nothing is kept in
pyplot's global list, files are written with the Agg renderer, and a notebook
shows a returned figure like any other.

The ``result`` arguments are ``kmeans_core.QuantizeResult`` objects
(``palette``, ``indices``, ``n_colors_in``, ``history`` ...).

Example
-------
>>> from kmeans_core import quantize
>>> from kmeans_core.plotting import save_report, save_animation
>>> result = quantize(image, 16, record_history=True)      # doctest: +SKIP
>>> save_report(image, result, "report.png")                # doctest: +SKIP
>>> save_animation(image, result, "kmeans.gif")             # doctest: +SKIP
"""

import os
from pathlib import Path

import numpy as np

#: Pixels drawn in a colour-space plot unless told otherwise.
DEFAULT_SAMPLE_SIZE = 10_000

_CHANNELS = ("Red", "Green", "Blue")
# (x, y) channels of the three panels: Red–Green, Red–Blue, Green–Blue.
_PANELS = ((0, 1), (0, 2), (1, 2))
# Grey behind the points, so that neither white nor black pixels vanish.
_BACKGROUND = "#9a9a9a"

# Animation: frames are at most this wide/high in pixels of the image panel.
_FRAME_IMAGE_SIDE = 160
_FRAME_SAMPLE_SIZE = 2_000
_FRAME_MS = 300
_LAST_FRAME_MS = 2_000


# -- inputs --------------------------------------------------------------------


def _pixels(image, name="image"):
    """``image`` (H, W, C) or (n, C) uint8 as an (n, C) array, C in {3, 4}."""
    image = np.asarray(image)
    if image.ndim not in (2, 3) or image.shape[-1] not in (3, 4):
        raise ValueError(
            f"{name} must have shape (H, W, 3|4) or (n_pixels, 3|4); got shape "
            f"{image.shape}"
        )
    if image.dtype != np.uint8:
        raise ValueError(f"{name} must be uint8 (0-255); got dtype {image.dtype}")
    if image.size == 0:
        raise ValueError(f"{name} is empty: shape {image.shape}")
    return image.reshape(-1, image.shape[-1])


def count_colors(image):
    """Number of distinct colours of ``image`` (H, W, C) or (n, C) uint8.

    Example
    -------
    >>> count_colors(np.array([[0, 0, 0], [255, 0, 0], [0, 0, 0]], np.uint8))
    2
    """
    pixels = _pixels(image)
    packed = np.zeros(len(pixels), dtype=np.uint32)
    for c in range(pixels.shape[1]):
        packed = (packed << np.uint32(8)) | pixels[:, c]
    return int(np.unique(packed).size)


def sample_pixels(image, n_samples=DEFAULT_SAMPLE_SIZE, *, random_state=0):
    """Indices of a seeded random sample of the visible pixels of ``image``.

    Parameters
    ----------
    image : ndarray of shape (H, W, C) or (n_pixels, C), uint8
    n_samples : int, default=10_000
        Size of the sample; all visible pixels when there are fewer.
    random_state : None, int or numpy.random.Generator, default=0

    Returns
    -------
    ndarray of shape (min(n_samples, n_visible),), int64
        Sorted indices into ``image.reshape(-1, C)``, drawn without
        replacement. Fully transparent pixels (alpha 0) are left out unless
        every pixel is transparent.

    Example
    -------
    >>> image = np.zeros((10, 10, 3), np.uint8)
    >>> sample_pixels(image, 5, random_state=1).shape
    (5,)
    """
    from ._validation import check_int, check_random_state

    pixels = _pixels(image)
    check_int(n_samples, "n_samples", low=1)
    rng = check_random_state(random_state)
    if pixels.shape[1] == 4 and (pixels[:, 3] > 0).any():
        visible = np.flatnonzero(pixels[:, 3] > 0)
        if len(visible) <= n_samples:
            return visible
        return np.sort(rng.choice(visible, size=n_samples, replace=False))
    if len(pixels) <= n_samples:
        return np.arange(len(pixels))
    return np.sort(rng.choice(len(pixels), size=n_samples, replace=False))


def _check_centers(centers):
    centers = np.asarray(centers, dtype=np.float64)
    if centers.ndim != 2 or centers.shape[1] not in (3, 4):
        raise ValueError(
            f"centers must have shape (n_clusters, 3|4); got shape {centers.shape}"
        )
    return centers


def _rgb01(colors):
    """(n, C) colours in 0-255 units -> (n, 3) floats in [0, 1] for matplotlib."""
    return np.clip(np.asarray(colors, dtype=np.float64)[:, :3] / 255.0, 0.0, 1.0)


def _new_figure(**kwargs):
    from matplotlib.figure import Figure

    return Figure(layout="constrained", **kwargs)


# -- colour space --------------------------------------------------------------


def _style_color_axes(ax, x, y):
    ax.set_xlim(-5, 260)
    ax.set_ylim(-5, 260)
    ax.set_aspect("equal")
    ax.set_xticks([0, 128, 255])
    ax.set_yticks([0, 128, 255])
    ax.set_xlabel(_CHANNELS[x])
    ax.set_ylabel(_CHANNELS[y])
    ax.set_facecolor(_BACKGROUND)


def _draw_centers(ax, centers, coords, **kwargs):
    """Centres as large discs of their own colour with a black rim."""
    style = {"s": 70, "marker": "o", "edgecolors": "black", "linewidths": 1.5,
             "zorder": 3, "label": "centres"}
    style.update(kwargs)
    return ax.scatter(*coords, c=_rgb01(centers), **style)


def plot_color_space(image, *, centers=None, colors=None, axes=None,
                     n_samples=DEFAULT_SAMPLE_SIZE, random_state=0, title=None,
                     three_d=False, point_size=None):
    """Scatter a random sample of an image's pixels in RGB colour space.

    Three panels, Red–Green, Red–Blue and Green–Blue, each point drawn in its
    own colour; with ``three_d=True`` one 3-D panel instead.

    Parameters
    ----------
    image : ndarray of shape (H, W, 3|4) or (n_pixels, 3|4), uint8
        Where the points go (alpha is ignored; fully transparent pixels are
        left out).
    centers : array-like of shape (n_clusters, 3|4), default=None
        Cluster centres in 0-255 units, drawn as large discs of their own
        colour with a black rim.
    colors : ndarray of the shape of ``image``, uint8, default=None
        The colour to paint each pixel; default the pixel's own. Passing the
        compressed image paints every pixel at its original place with the
        colour k-means gave it, which shows the clusters.
    axes : None, Figure/SubFigure, sequence of 3 Axes, or one 3-D Axes
        Where to draw. None makes a new figure; a figure or subfigure gets
        the panels added.
    n_samples : int, default=10_000
        Number of pixels drawn (a seeded random sample, see ``sample_pixels``).
    random_state : None, int or numpy.random.Generator, default=0
    title : str, default=None
        Default ``"Colour space: N colours"``, N the distinct colours of
        ``colors`` (or ``image``). Goes to the figure's suptitle when this
        function made the panels, else to the middle panel.
    three_d : bool, default=False
    point_size : float, default=None
        Marker area of the points; default chosen from the sample size.

    Returns
    -------
    list of matplotlib.axes.Axes
        The three panels (or the one 3-D panel).

    Example
    -------
    >>> image = np.random.default_rng(0).integers(0, 256, (20, 20, 3), np.uint8)
    >>> axes = plot_color_space(image, centers=[[50, 50, 50], [200, 200, 200]])
    >>> [ax.get_xlabel() + "-" + ax.get_ylabel() for ax in axes]
    ['Red-Green', 'Red-Blue', 'Green-Blue']
    """
    pixels = _pixels(image)
    paint = pixels if colors is None else _pixels(colors, "colors")
    if paint.shape != pixels.shape:
        raise ValueError(
            f"colors has shape {np.shape(colors)}; expected the shape of image "
            f"{np.shape(image)}"
        )
    if centers is not None:
        centers = _check_centers(centers)
    ids = sample_pixels(pixels, n_samples, random_state=random_state)
    points, point_colors = pixels[ids], _rgb01(paint[ids])
    if point_size is None:
        point_size = float(np.clip(25_000.0 / max(len(ids), 1), 1.0, 25.0))
    if title is None:
        title = f"Colour space: {count_colors(paint):,} colours"

    given_axes = isinstance(axes, (list, tuple, np.ndarray)) or hasattr(axes, "scatter")
    fig_title = not given_axes
    if axes is None:
        axes = _new_figure(figsize=(6, 6) if three_d else (12, 4.2))
    if fig_title:
        fig = axes
        if three_d:
            axes = [fig.add_subplot(projection="3d")]
        else:
            axes = list(fig.subplots(1, 3))
        fig.suptitle(title)
    elif three_d:
        axes = [axes] if hasattr(axes, "scatter") else list(axes)
    else:
        axes = list(axes)
        if len(axes) != 3:
            raise ValueError(f"axes must hold 3 Axes; got {len(axes)}")
        axes[1].set_title(title)

    if three_d:
        ax = axes[0]
        ax.scatter(points[:, 0], points[:, 1], points[:, 2], c=point_colors,
                   s=point_size, linewidths=0, depthshade=False)
        if centers is not None:
            _draw_centers(ax, centers, centers[:, :3].T, depthshade=False)
        for setter, name in zip((ax.set_xlabel, ax.set_ylabel, ax.set_zlabel),
                                _CHANNELS):
            setter(name)
        for setter in (ax.set_xlim, ax.set_ylim, ax.set_zlim):
            setter(0, 255)
        if len(axes) == 1 and not fig_title:
            ax.set_title(title)
        return axes

    for ax, (x, y) in zip(axes, _PANELS):
        ax.scatter(points[:, x], points[:, y], c=point_colors, s=point_size,
                   linewidths=0, rasterized=True, label="pixels")
        if centers is not None:
            _draw_centers(ax, centers, (centers[:, x], centers[:, y]))
        _style_color_axes(ax, x, y)
    return axes


# -- before / after ------------------------------------------------------------


def _comparison_height(height, width):
    """Inches of height for two (height, width) images side by side, 12 in wide."""
    return float(np.clip(5.8 * height / width, 2.0, 8.0)) + 0.9


def _format_bytes(n_bytes):
    return f"{n_bytes:,} bytes"


def plot_comparison(original, result, *, axes=None, n_bytes=None,
                    original_bytes=None):
    """The original and the compressed image side by side.

    Parameters
    ----------
    original : ndarray of shape (H, W, 3|4), uint8
    result : QuantizeResult
        The compression of ``original``.
    axes : None, Figure/SubFigure or sequence of 2 Axes
        Where to draw; None makes a new figure.
    n_bytes : int, default=None
        Size of the compressed file, shown in the title when given.
    original_bytes : int, default=None
        Size of the original file, shown in the title when given.

    Returns
    -------
    list of 2 matplotlib.axes.Axes
        Titled "Original: N colours[, B bytes]" and
        "Compressed (method): k colours[, B bytes], PSNR x dB".

    Example
    -------
    >>> from kmeans_core import quantize
    >>> image = np.random.default_rng(0).integers(0, 256, (8, 8, 3), np.uint8)
    >>> ax0, ax1 = plot_comparison(image, quantize(image, 4))
    >>> ax1.get_title().startswith("Compressed (kmeans): 4 colours")
    True
    """
    from .metrics import psnr

    original = np.asarray(original)
    _pixels(original, "original")
    if original.ndim != 3:
        raise ValueError(f"original must have shape (H, W, 3|4); got {original.shape}")
    compressed = result.to_image()
    if compressed.shape != original.shape:
        raise ValueError(
            f"result is an image of shape {compressed.shape}; original has shape "
            f"{original.shape}"
        )
    if axes is None or not isinstance(axes, (list, tuple, np.ndarray)):
        if axes is None:
            axes = _new_figure(figsize=(12, _comparison_height(*original.shape[:2])))
        axes = list(axes.subplots(1, 2))
    axes = list(axes)
    if len(axes) != 2:
        raise ValueError(f"axes must hold 2 Axes; got {len(axes)}")

    before = f"Original: {result.n_colors_in:,} colours"
    if original_bytes is not None:
        before += f", {_format_bytes(original_bytes)}"
    after = f"Compressed ({result.method}): {len(result.palette):,} colours"
    if n_bytes is not None:
        after += f", {_format_bytes(n_bytes)}"
    quality = psnr(original, compressed)
    after += ", PSNR " + ("inf" if np.isinf(quality) else f"{quality:.1f}") + " dB"
    for ax, img, text in zip(axes, (original, compressed), (before, after)):
        ax.imshow(img, interpolation="antialiased")
        ax.set_title(text)
        ax.set_axis_off()
    return axes


def report_figure(original, result, *, title=None, n_bytes=None,
                  original_bytes=None, color_space=True,
                  n_samples=DEFAULT_SAMPLE_SIZE, random_state=0, fig=None):
    """One figure: before/after, then the colour space before and after.

    Row 1 is ``plot_comparison``. Row 2, "Input colour space: N colours": a
    sample of the original pixels in their own colours with the final
    centres. Row 3, "Reduced colour space: k colours": the same pixels at the
    same places, painted with the colour each was given, which shows the
    cluster each pixel fell into.

    Parameters
    ----------
    original : ndarray of shape (H, W, 3|4), uint8
    result : QuantizeResult
    title : str, default=None
        Suptitle of the whole figure.
    n_bytes, original_bytes : int, default=None
        File sizes shown in the titles (see ``plot_comparison``).
    color_space : bool, default=True
        False leaves out rows 2 and 3.
    n_samples : int, default=10_000
    random_state : None, int or numpy.random.Generator, default=0
    fig : Figure or SubFigure, default=None
        Where to draw; None makes a new figure.

    Returns
    -------
    matplotlib.figure.Figure (or the SubFigure given)

    Example
    -------
    >>> from kmeans_core import quantize
    >>> image = np.random.default_rng(0).integers(0, 256, (8, 8, 3), np.uint8)
    >>> fig = report_figure(image, quantize(image, 4))
    >>> len(fig.subfigs)
    3
    """
    height, width = np.shape(original)[:2]
    top = _comparison_height(height, width)
    rows = [top, 4.2, 4.2] if color_space else [top]
    if fig is None:
        fig = _new_figure(figsize=(12, sum(rows) + (0.4 if title else 0.0)))
    subfigs = fig.subfigures(len(rows), 1, height_ratios=rows, squeeze=False)[:, 0]
    plot_comparison(original, result, axes=subfigs[0], n_bytes=n_bytes,
                    original_bytes=original_bytes)
    if color_space:
        common = {"centers": result.palette, "n_samples": n_samples,
                  "random_state": random_state}
        plot_color_space(
            original, axes=subfigs[1],
            title=f"Input colour space: {result.n_colors_in:,} colours", **common)
        plot_color_space(
            original, colors=result.to_image(), axes=subfigs[2],
            title=f"Reduced colour space: {len(result.palette):,} colours",
            **common)
    if title:
        fig.suptitle(title, fontsize="x-large")
    return fig


# -- writing files -------------------------------------------------------------


def _check_output_path(path, suffixes):
    """``path`` as a Path whose folder exists and whose suffix is allowed."""
    path = Path(os.fspath(path))
    suffix = path.suffix.lower().lstrip(".")
    if suffix not in suffixes:
        raise ValueError(
            f"cannot write {path}: unsupported file type {path.suffix or '(none)'!r}; "
            f"use one of {', '.join('.' + s for s in sorted(suffixes))}"
        )
    folder = path.parent
    if not folder.is_dir():
        raise ValueError(f"cannot write {path}: folder {folder} does not exist")
    if path.is_dir():
        raise ValueError(f"cannot write {path}: it is a folder")
    return path, suffix


def _save(write, path, overwrite):
    """``write(tmp)`` a temporary file beside ``path``, then rename it into
    place: the one atomic writer of the package. Any failure is an OSError
    whose one-line message names the file; no temporary file is left."""
    from ._atomic import save_atomic

    save_atomic(write, os.fspath(path), force=overwrite)


def save_report(original, result, path, *, title=None, n_bytes=None,
                original_bytes=None, dpi=80, overwrite=True):
    """Write ``report_figure(original, result)`` to an image file.

    Parameters
    ----------
    original : ndarray of shape (H, W, 3|4), uint8
    result : QuantizeResult
    path : str or os.PathLike
        A .png (or .jpg, .pdf, .svg) file. Written to a temporary file in the
        same folder, then renamed into place (by the package's one atomic
        writer, ``kmeans_core._atomic.save_atomic``).
    title : str, default=None
    n_bytes, original_bytes : int, default=None
        File sizes shown in the titles.
    dpi : int, default=80
    overwrite : bool, default=True
        Replace an existing file; False refuses (OSError) rather than replace
        one, even one that appears while the figure is drawn.

    Raises
    ------
    ValueError
        The folder does not exist, ``path`` is a folder, or its suffix is not
        an image format.
    OSError
        The file could not be written (one-line message naming it).

    Example
    -------
    >>> save_report(image, quantize(image, 16), "report.png")   # doctest: +SKIP
    """
    path, suffix = _check_output_path(path, {"png", "jpg", "jpeg", "pdf", "svg"})
    fig = report_figure(original, result, title=title, n_bytes=n_bytes,
                        original_bytes=original_bytes)
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)  # render with Agg whatever pyplot's backend is
    _save(lambda tmp: fig.savefig(tmp, dpi=dpi, format=suffix), path, overwrite)


# -- animation -----------------------------------------------------------------


def select_frames(n_records, max_frames):
    """Which of ``n_records`` recorded iterations become animation frames.

    All of them when ``n_records <= max_frames``. Otherwise the first
    ``max_frames // 2`` (where the centres move most), then the rest of the
    frames evenly spaced over the remaining iterations, always ending with the
    last one.

    Returns
    -------
    ndarray of shape (min(n_records, max_frames),), int64, increasing

    Example
    -------
    >>> select_frames(5, 60).tolist()
    [0, 1, 2, 3, 4]
    >>> select_frames(100, 6).tolist()
    [0, 1, 2, 3, 51, 99]
    """
    from ._validation import check_int

    check_int(n_records, "n_records", low=1)
    check_int(max_frames, "max_frames", low=1)
    if n_records <= max_frames:
        return np.arange(n_records)
    if max_frames == 1:
        return np.array([n_records - 1])
    head = max_frames // 2
    if max_frames - head == 1:
        tail = np.array([n_records - 1])
    else:
        tail = np.linspace(head, n_records - 1, max_frames - head).round()
    tail = tail.astype(np.int64)
    return np.concatenate([np.arange(head), tail])


def _small_image(original, side):
    """``original`` shrunk (box filter) so that neither side exceeds ``side``."""
    from PIL import Image

    height, width = original.shape[:2]
    scale = min(1.0, side / max(height, width))
    if scale == 1.0:
        return original
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    mode = "RGBA" if original.shape[2] == 4 else "RGB"
    img = Image.fromarray(original, mode).resize(size, Image.Resampling.BOX)
    return np.asarray(img)


def _to_gif_frame(rgba):
    """An (H, W, 4) uint8 canvas as a palette image for the GIF."""
    from PIL import Image

    img = Image.fromarray(np.ascontiguousarray(rgba[:, :, :3]), "RGB")
    return img.quantize(colors=255, method=Image.Quantize.FASTOCTREE,
                        dither=Image.Dither.NONE)


def animation_frames(original, result, *, max_frames=60):
    """Render the frames of ``save_animation``.

    Yields ``(record_index, rgba)`` pairs, ``rgba`` an (H, W, 4) uint8 array,
    for the records chosen by ``select_frames``. Each frame shows, for that
    iteration's centres: the image quantized with them (shrunk to at most
    160 pixels a side), a sample of 2,000 pixels in the Red–Green and
    Green–Blue planes painted with the colour of their nearest centre, the
    centres with the path they have taken so far, and the inertia curve so far.
    """
    history = getattr(result, "history", None)
    if not history:
        raise ValueError(
            "result has no recorded history; quantize with record_history=True"
        )
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.collections import LineCollection

    from ._lloyd import nearest_centers

    original = np.asarray(original)
    _pixels(original, "original")
    if original.ndim != 3:
        raise ValueError(f"original must have shape (H, W, 3|4); got {original.shape}")
    channels = original.shape[2]
    centers_all = np.stack([np.asarray(r.centers, np.float32) for r in history])
    if centers_all.shape[2] != channels:
        raise ValueError(
            f"history centres have {centers_all.shape[2]} channels; original has "
            f"{channels}"
        )
    inertia = np.array([float(r.inertia) for r in history])
    chosen = select_frames(len(history), max_frames)

    small = _small_image(original, _FRAME_IMAGE_SIDE)
    ids = sample_pixels(original, _FRAME_SAMPLE_SIZE, random_state=0)
    sample = original.reshape(-1, channels)[ids]
    # The shrunk image's pixels, then the sample: one assignment per frame.
    X = np.concatenate([small.reshape(-1, channels), sample]).astype(np.float32)
    weight = np.ones(len(X), dtype=np.float32)
    n_small = small.shape[0] * small.shape[1]

    fig = _new_figure(figsize=(10.5, 3.1), dpi=80)
    ax_img, ax_rg, ax_gb, ax_in = fig.subplots(
        1, 4, width_ratios=[small.shape[1] / small.shape[0], 1, 1, 1.25])
    FigureCanvasAgg(fig)
    ax_img.set_axis_off()
    ax_img.set_title("image with these centres", fontsize="medium")
    image_artist = ax_img.imshow(small, interpolation="nearest")

    planes = []
    for ax, (x, y) in ((ax_rg, (0, 1)), (ax_gb, (1, 2))):
        _style_color_axes(ax, x, y)
        points = ax.scatter(sample[:, x], sample[:, y], s=3, linewidths=0)
        trails = LineCollection([], colors="black", linewidths=0.8, zorder=2)
        ax.add_collection(trails)
        marks = _draw_centers(ax, centers_all[0], (centers_all[0][:, x],
                                                   centers_all[0][:, y]),
                              s=45, linewidths=1.2)
        planes.append((x, y, points, trails, marks))
    ax_rg.set_title("pixels and centres", fontsize="medium")
    ax_gb.set_title("(painted by nearest centre)", fontsize="medium")

    steps = np.arange(len(history))
    ax_in.plot(steps, inertia, color="0.8", linewidth=1)
    (curve,) = ax_in.plot([], [], color="tab:blue", linewidth=2)
    (dot,) = ax_in.plot([], [], "o", color="tab:blue")
    if (inertia > 0).all() and inertia.max() > 3 * inertia.min():
        ax_in.set_yscale("log")
    ax_in.set_xlim(-0.5, max(len(history) - 1, 1) + 0.5)
    ax_in.set_ylabel("inertia")
    ax_in.set_title("inertia so far", fontsize="medium")
    last = len(history) - 1
    name = {"kmeans": "k-means", "minibatch": "mini-batch k-means"}.get(
        result.method, result.method)
    step = "step" if result.method == "minibatch" else "iteration"
    ax_in.set_xlabel(step)
    if result.method == "minibatch":  # each step measures its own batch only
        ax_in.set_title("inertia so far (batch estimates)", fontsize="medium")

    # Draw the static parts (axes, ticks, labels, the grey curve) once with
    # the layout solved, then per frame only the moving artists on top.
    title = fig.suptitle(f"{name}, k={len(centers_all[0])}: {step} {last} of "
                         f"{last}, inertia {inertia.max():.4g}")
    moving = [image_artist]
    for _, _, points, trails, marks in planes:
        moving += [points, trails, marks]
    moving += [curve, dot, title]
    for artist in moving:
        artist.set_animated(True)
    canvas = fig.canvas
    canvas.draw()
    fig.set_layout_engine("none")
    background = canvas.copy_from_bbox(fig.bbox)

    for i in chosen:
        centers = centers_all[i]
        palette = np.clip(np.rint(centers), 0, 255).astype(np.uint8)
        labels, _, _ = nearest_centers(X, weight, np.ascontiguousarray(centers, X.dtype))
        image_artist.set_data(palette[labels[:n_small]].reshape(small.shape))
        point_colors = _rgb01(palette[labels[n_small:]])
        for x, y, points, trails, marks in planes:
            points.set_facecolor(point_colors)
            marks.set_offsets(centers[:, [x, y]])
            marks.set_facecolor(_rgb01(palette))
            paths = centers_all[: i + 1][:, :, [x, y]].transpose(1, 0, 2)
            trails.set_segments(list(paths))
        curve.set_data(steps[: i + 1], inertia[: i + 1])
        dot.set_data([i], [inertia[i]])
        what = "initial centres" if i == 0 else f"{step} {i} of {last}"
        title.set_text(f"{name}, k={len(centers)}: {what}, inertia {inertia[i]:.4g}")
        canvas.restore_region(background)
        for artist in moving:
            fig.draw_artist(artist)
        yield int(i), np.asarray(canvas.buffer_rgba()).copy()


def save_animation(original, result, path, *, max_frames=60, overwrite=True):
    """Write a GIF of the recorded k-means run, one frame per iteration.

    Frame ``i`` shows the centres of ``result.history[i]`` (``i = 0`` is the
    initial centres): the image quantized with them, the pixels and centres
    in colour space with the paths the centres took, and the inertia so far
    (see ``animation_frames``). With more records than ``max_frames``, the
    frames are chosen by ``select_frames``: the first ``max_frames // 2``
    iterations, then evenly spaced ones up to the last. Frames last 0.3 s,
    the last one 2 s; the GIF loops.

    Parameters
    ----------
    original : ndarray of shape (H, W, 3|4), uint8
    result : QuantizeResult
        Made with ``record_history=True``.
    path : str or os.PathLike
        A .gif file; written to a temporary file in the same folder, then
        renamed into place.
    max_frames : int, default=60
    overwrite : bool, default=True
        Replace an existing file; False refuses (OSError).

    Returns
    -------
    int
        The number of frames written.

    Raises
    ------
    ValueError
        ``result`` has no history, or the folder does not exist, or ``path``
        does not end in .gif.
    OSError
        The file could not be written (one-line message naming it).

    Example
    -------
    >>> result = quantize(image, 16, record_history=True)    # doctest: +SKIP
    >>> save_animation(image, result, "kmeans.gif")          # doctest: +SKIP
    13
    """
    path, _ = _check_output_path(path, {"gif"})
    frames = [_to_gif_frame(rgba) for _, rgba in
              animation_frames(original, result, max_frames=max_frames)]
    durations = [_FRAME_MS] * (len(frames) - 1) + [_LAST_FRAME_MS]

    def write(tmp):
        frames[0].save(tmp, format="GIF", save_all=True, append_images=frames[1:],
                       duration=durations, loop=0, disposal=1)

    _save(write, path, overwrite)
    return len(frames)
