"""One palette for every output: ``--shared-palette`` and ``--palette-from``.

``--shared-palette``: the colour counts of every input (``count_file``, in
this process, one file at a time) are summed exactly and one palette is
fitted on them (``kmeans_core.fit_palette``, the weighted k-means of the
single-image path, seeded with ``--seed``); every job then maps its image
onto that palette (``kmeans_core.apply_palette``). A file that cannot be read
fails here, with the code and message it would get in the batch, and takes
no part in the fit.

``--palette-from FILE``: the palette is read once, before any job
(``read_palette``).
"""

import dataclasses

import numpy as np

from ..io import ImageReadError, load_image
from ..palettes import fit_palette, sum_counts
from ._compress import count_file


class PaletteFileError(Exception):
    """The --palette-from file cannot give a palette (exit code 3)."""


def read_palette(path):
    """The palette of ``--palette-from FILE``, (n, 3|4) uint8.

    An indexed PNG gives its palette as stored (every ``PLTE`` entry, used or
    not, in file order, with the ``tRNS`` alpha when some entry is not
    opaque); any other image its distinct colours, most used first (at most
    256). Raises PaletteFileError with a one-line message.
    """
    try:
        loaded = load_image(path)
    except ImageReadError as exc:
        raise PaletteFileError(str(exc)) from None
    if loaded.format == "PNG" and loaded.mode == "P":
        from PIL import Image

        with Image.open(path) as im:
            rgb = np.array(im.getpalette("RGB"), dtype=np.uint8).reshape(-1, 3)
            transparency = im.info.get("transparency")
        alpha = np.full(len(rgb), 255, dtype=np.uint8)
        if isinstance(transparency, bytes):
            alpha[:len(transparency)] = np.frombuffer(transparency, np.uint8)[:len(rgb)]
        elif isinstance(transparency, int) and transparency < len(rgb):
            alpha[transparency] = 0
        return np.column_stack([rgb, alpha]) if (alpha < 255).any() else rgb
    pixels = loaded.pixels.reshape(-1, loaded.pixels.shape[2])
    colors, counts = np.unique(pixels, axis=0, return_counts=True)
    if len(colors) > 256:
        raise PaletteFileError(
            f"{path}: has {len(colors):,} colours; a palette holds at most 256 "
            "(use an indexed PNG, or --shared-palette to fit one)")
    return colors[np.argsort(-counts, kind="stable")]


def share_palette(jobs, args, count=None):
    """Fit one palette on all the jobs' inputs and give it to every job.

    ``count(jobs)`` returns ``(total ColorCounts or None, counted jobs,
    failures)``; by default ``count_locally``, on a Dask cluster
    ``DaskRunner.count``. Returns ``(jobs, failures)``: the jobs whose input
    could be counted, each carrying the palette, and a FileReport for each
    that could not.
    """
    total, counted, failures = (count or count_locally)(jobs)
    if not counted:
        return [], failures
    palette, n_iter = fit_palette(total, args.colors, random_state=args.seed,
                                  color_space=args.color_space, return_n_iter=True)
    return [attach_palette(job, palette, n_iter) for job in counted], failures


def count_locally(jobs):
    """The summed colour counts of the jobs' inputs, in this process."""
    counted, failures, parts = [], [], []
    for job in jobs:
        counts, failure = count_file(job)
        if failure is not None:
            failures.append(failure)
        else:
            counted.append(job)
            parts.append(counts)
    return (sum_counts(parts) if parts else None), counted, failures


def attach_palette(job, palette, n_iter):
    """``job`` mapping onto the shared ``palette`` (fitted in ``n_iter``)."""
    return dataclasses.replace(job, palette=palette, palette_source="shared",
                               palette_n_iter=n_iter)
