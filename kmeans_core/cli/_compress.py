"""The work for one file: load, quantize, encode, write, measure.

``compress_file`` runs in the main process or in a worker process
(``--workers``) and never raises (except KeyboardInterrupt): every failure
becomes a ``FileReport`` with an exit code and a one-line message.
"""

import os
import time
import warnings

import numpy as np

# Imported here, not in the functions: ``import kmeans_core.cli`` imports the
# package, which imports these anyway (matplotlib stays lazy in plotting).
from .. import plotting
from ..io import (
    DEFAULT_MAX_PIXELS,
    ImageReadError,
    ImageTooLargeError,
    encode_image,
    gif_palette,
    load_image,
)
from ..metrics import psnr_from_mse, squared_error
from ..palettes import apply_palette, color_counts
from ..quality import QualityTooLowError, chosen_k, quantize_to_psnr
from ..quantize import quantize
from ._files import OutputError, cause, write_atomic
from ._report import (
    EXIT_INPUT,
    EXIT_INTERNAL,
    EXIT_OK,
    EXIT_OUTPUT,
    EXIT_QUALITY,
    EXIT_SKIPPED,
    FileReport,
)


def compress_file(job):
    """Compress one file as ``job`` says; a FileReport, never an exception.

    Only KeyboardInterrupt goes through (after removing the temporary file).
    """
    report = _new_report(job)
    _guarded(_compress, job, report)
    return report


def count_file(job):
    """The colour counts of ``job``'s input for ``--shared-palette``.

    Returns ``(ColorCounts, None)``, or ``(None, FileReport)`` of the failure
    (the same codes and messages as ``compress_file``). Never raises, except
    KeyboardInterrupt.
    """
    report, found = _new_report(job), []
    _guarded(lambda job, report: found.append(
        color_counts(_load(job, report).pixels)), job, report)
    return (found[0], None) if found else (None, report)


def _new_report(job):
    report = FileReport(input=job.input, output=job.output, method=job.method,
                        k=job.n_colors, color_space=job.color_space,
                        dither=job.dither, psnr_target=job.psnr_target,
                        psnr_min=job.psnr_min, palette=job.palette_source)
    if job.psnr_target is not None:
        report.k, report.max_k = None, job.n_colors
    return report


def _guarded(work, job, report):
    """Run ``work(job, report)``; turn every failure into ``report``'s code."""
    start = time.perf_counter()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            work(job, report)
        report.warnings = list(dict.fromkeys(
            cause(w.message, job.input) for w in caught if issubclass(w.category, UserWarning)
        ))
    except OutputError as exc:
        report.exit_code, report.error = EXIT_OUTPUT, str(exc)
    except _InputError as exc:
        report.exit_code = EXIT_INPUT
        report.error = str(exc) or cause(exc.__cause__, job.input)
    except _QualityError as exc:
        report.exit_code, report.error = EXIT_QUALITY, str(exc)
    except MemoryError:
        report.exit_code, report.error = EXIT_INTERNAL, "out of memory"
    except Exception as exc:  # noqa: BLE001 - reported as one line, exit 1
        report.exit_code = EXIT_INTERNAL
        report.error = f"internal error: {type(exc).__name__}: {cause(exc, job.input)}"
    if report.error is not None:
        report.status = "failed"
    report.seconds = round(time.perf_counter() - start, 4)


class _InputError(Exception):
    """Wraps the error of loading an input: exit code 3."""


class _QualityError(Exception):
    """The PSNR target cannot be reached: exit code 99."""


def _load(job, report):
    """``load_image`` of the job's input, its errors as ``_InputError``."""
    max_pixels = DEFAULT_MAX_PIXELS if job.max_pixels is None else job.max_pixels
    try:
        report.input_bytes = os.path.getsize(job.input)
        return load_image(job.input, max_pixels=max_pixels)
    except ImageTooLargeError as exc:
        # The library names its parameter; the user set (or not) the option.
        default = "" if job.max_pixels is not None else ", the default"
        raise _InputError(
            f"{exc.width} x {exc.height} = {exc.width * exc.height:,} pixels "
            f"exceeds --max-pixels {max_pixels:,}{default}") from exc
    except (ImageReadError, OSError) as exc:
        raise _InputError() from exc


def _compress(job, report):
    loaded = _load(job, report)
    original = loaded.pixels
    report.height, report.width = int(original.shape[0]), int(original.shape[1])

    if job.palette is not None:
        result = apply_palette(original, job.palette, color_space=job.color_space,
                               dither=job.dither)
        result.n_iter = job.palette_n_iter  # of the shared fit (0: a file's)
        if result.palette.shape[1] > original.shape[2]:
            # An RGB image on an RGBA palette was measured as opaque RGBA.
            original = np.dstack([original, np.full(original.shape[:2], 255,
                                                    np.uint8)])
    elif job.psnr_target is None:
        result = quantize(
            original, job.n_colors, method=job.method, random_state=job.seed,
            record_history=job.animate is not None, color_space=job.color_space,
            dither=job.dither,
        )
    else:
        try:
            result, tried = quantize_to_psnr(
                original, job.psnr_target, max_colors=job.n_colors,
                min_psnr=job.psnr_min, color_space=job.color_space,
                dither=job.dither, random_state=job.seed,
            )
        except QualityTooLowError as exc:
            raise _QualityError(str(exc)) from None
        report.k = int(chosen_k(tried, job.psnr_target))
        report.n_fits = len(tried)
    data = encode_image(
        result, job.fmt, metadata=loaded.metadata if job.keep_metadata else None
    )
    n_pixels = report.width * report.height
    report.output_bytes = len(data)
    report.ratio = round(len(data) / report.input_bytes, 4) if report.input_bytes else None
    report.bpp = round(len(data) * 8 / n_pixels, 4)
    report.colors_in = int(result.n_colors_in)
    report.colors_out = len(result.palette)
    # The fit's own error: over all pixels and channels, against the image as
    # clustered (fully transparent pixels count as (0, 0, 0, 0), whatever
    # invisible colour they had).
    error = float(result.inertia) / original.size
    if job.fmt == "gif" and result.palette.shape[1] == 4:
        # A GIF holds no partial alpha: measure what the file holds.
        error, report.colors_out = _gif_figures(original, result)
    report.mse = round(error, 4)
    value = psnr_from_mse(error)
    report.psnr = round(value, 3) if value != float("inf") else None
    report.n_iter = int(result.n_iter)
    report.cluster_seconds = round(float(result.seconds), 4)

    if job.skip_if_larger and len(data) >= report.input_bytes:
        report.status, report.exit_code = "skipped", EXIT_SKIPPED
        return
    write_atomic(data, job.output, force=job.force)
    report.status, report.exit_code = "written", EXIT_OK

    if job.plot is not None or job.animate is not None:
        # Both write through save_atomic: one temporary file each.
        if job.plot is not None:
            plotting.save_report(
                original, result, job.plot, title=os.path.basename(job.input),
                n_bytes=len(data), original_bytes=report.input_bytes,
                overwrite=job.force)
            report.plot = job.plot
        if job.animate is not None:
            report.animation_frames = int(plotting.save_animation(
                original, result, job.animate, overwrite=job.force))
            report.animation = job.animate


def _gif_figures(original, result):
    """MSE and distinct colours of the GIF of an RGBA ``result``.

    Against the image as clustered, like the figures of a PNG; the pixels
    are those the GIF holds (``kmeans_core.io.gif_palette``: alpha all or
    nothing), so merged transparent entries count once.
    """
    shown = gif_palette(result.palette)
    reference = original.copy()
    reference[original[..., 3] == 0] = 0
    error = squared_error(reference, shown[result.indices]) / original.size
    used = shown[np.unique(result.indices)]
    return error, len(np.unique(used, axis=0))


