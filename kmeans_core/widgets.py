"""An interactive compression explorer for Jupyter, built on ipywidgets.

``interactive_compression()`` shows a dropdown of the images in a folder, a k
slider (1 to 256, applied on release), a k-means / mini-batch toggle and an
optional colour-space panel; every change shows the compressed image beside
the original. The work is done by ``render``, a plain function the widget
calls and tests call directly. Results are cached per (image, k, method).

ipywidgets is imported only when the widget is built: ``pip install
"kmeans_core[notebook]"``.

Example
-------
>>> from kmeans_core.widgets import interactive_compression
>>> interactive_compression()            # in a notebook cell  # doctest: +SKIP
"""

import base64
import functools
import os
from pathlib import Path

#: File suffixes listed in the dropdown.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff", ".webp")
_METHODS = (("k-means", "kmeans"), ("mini-batch", "minibatch"))


def samples_folder():
    """The bundled ``samples/`` folder of the repository.

    Looked for beside the package (a source checkout or editable install),
    then in the current folder and its parent (a notebook in ``examples/``).

    Raises
    ------
    ValueError
        Neither exists; the message names both places.
    """
    candidates = [Path(__file__).resolve().parent.parent / "samples",
                  Path.cwd() / "samples", Path.cwd().parent / "samples"]
    for folder in candidates:
        if folder.is_dir():
            return folder
    raise ValueError(
        "no samples folder found at " + " or ".join(str(c) for c in candidates)
        + "; pass folder= explicitly"
    )


def list_images(folder=None):
    """Sorted image files (by suffix, see ``IMAGE_SUFFIXES``) of ``folder``.

    Parameters
    ----------
    folder : str, os.PathLike or None
        None means ``samples_folder()``.

    Returns
    -------
    list of pathlib.Path

    Raises
    ------
    ValueError
        ``folder`` is not a folder, or holds no images.
    """
    folder = samples_folder() if folder is None else Path(os.fspath(folder))
    if not folder.is_dir():
        raise ValueError(f"folder={str(folder)!r} is not a folder")
    images = sorted(p for p in folder.iterdir()
                    if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not images:
        raise ValueError(
            f"folder={str(folder)!r} holds no images ({', '.join(IMAGE_SUFFIXES)})"
        )
    return images


@functools.lru_cache(maxsize=8)
def _load(path, mtime_ns):
    from .io import load_image

    return load_image(path).pixels


@functools.lru_cache(maxsize=64)
def _compress(path, mtime_ns, k, method):
    from ._quantize import quantize

    return quantize(_load(path, mtime_ns), k, method=method, random_state=0)


def compress_cached(path, k, method="kmeans"):
    """``(pixels, result)`` of ``quantize(load_image(path).pixels, k, method)``.

    Cached per (file, modification time, k, method), so moving the slider
    back to a k already seen costs nothing.

    Parameters
    ----------
    path : str or os.PathLike
    k : int
        Number of colours, 1 to 256.
    method : {"kmeans", "minibatch"}, default="kmeans"

    Returns
    -------
    pixels : ndarray of shape (H, W, 3|4), uint8
    result : QuantizeResult
    """
    path = os.fspath(path)
    mtime = os.stat(path).st_mtime_ns
    return _load(path, mtime), _compress(path, mtime, k, method)


def render(path, k, method="kmeans", show_color_space=False):
    """The figure the widget shows for one choice of its controls.

    Parameters
    ----------
    path : str or os.PathLike
        The image file.
    k : int
        Number of colours, 1 to 256.
    method : {"kmeans", "minibatch"}, default="kmeans"
    show_color_space : bool, default=False
        Add the colour space before and after (see
        ``plotting.report_figure``).

    Returns
    -------
    fig : matplotlib.figure.Figure
    result : QuantizeResult

    Example
    -------
    >>> fig, result = render("samples/photo.jpg", 16)          # doctest: +SKIP
    """
    from .plotting import report_figure

    pixels, result = compress_cached(path, k, method)
    title = f"{Path(path).name}: {result.seconds * 1000:.0f} ms to compress"
    fig = report_figure(pixels, result, title=title, color_space=show_color_space)
    return fig, result


def _png_bytes(fig, dpi=72):
    """``fig`` rendered with Agg as PNG bytes."""
    import io

    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def figure_png(fig, *, dpi=72):
    """``fig`` rendered with Agg as an ``IPython.display.Image`` (PNG).

    Shows the same in every front end, whatever matplotlib backend is active.
    """
    from IPython.display import Image

    return Image(data=_png_bytes(fig, dpi), format="png")


def interactive_compression(folder=None):
    """Build the compression explorer widget.

    Parameters
    ----------
    folder : str, os.PathLike or None
        Folder whose images the dropdown lists; None means the bundled
        ``samples/`` folder (see ``samples_folder``).

    Returns
    -------
    ipywidgets.VBox
        The controls above an output area; display it (the last expression of
        a notebook cell is displayed). Its ``render_now()`` attribute redraws
        the output, e.g. after changing a control programmatically.
    """
    import ipywidgets as widgets

    images = list_images(folder)
    image = widgets.Dropdown(options=[(p.name, str(p)) for p in images],
                             description="image")
    k = widgets.IntSlider(value=16, min=1, max=256, step=1, description="k",
                          continuous_update=False)
    method = widgets.ToggleButtons(options=list(_METHODS), value="kmeans",
                                   description="method")
    color_space = widgets.Checkbox(value=False, description="colour space")
    output = widgets.Output()

    def update(_change=None):
        # Set the output's content directly (no ``with output:``), so that the
        # callback works the same in a kernel and when called from a test.
        try:
            fig, _ = render(image.value, k.value, method.value, color_space.value)
        except ValueError as exc:  # e.g. an unreadable image
            output.outputs = ({"output_type": "stream", "name": "stdout",
                               "text": f"error: {exc}\n"},)
            return
        png = base64.b64encode(_png_bytes(fig)).decode("ascii")
        output.outputs = ({"output_type": "display_data", "metadata": {},
                           "data": {"image/png": png,
                                    "text/plain": "<compressed image figure>"}},)

    for control in (image, k, method, color_space):
        control.observe(update, names="value")
    box = widgets.VBox([widgets.HBox([image, method]),
                        widgets.HBox([k, color_space]), output])
    box.render_now = update
    update()
    return box
