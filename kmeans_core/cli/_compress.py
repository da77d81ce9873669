"""The work for one file: load, quantize, encode, write, measure.

``compress_file`` runs in the main process or in a worker process
(``--workers``) and never raises (except KeyboardInterrupt): every failure
becomes a ``FileReport`` with an exit code and a one-line message.
"""

import os
import threading
import time
import warnings

import numpy as np
from PIL import Image

# The numba side of the package, imported with this module: ``import
# kmeans_core.cli`` does not import it; the command line imports this module
# when a job is about to run, after a lone input started decoding
# (``_prefetch``). matplotlib stays lazy in plotting.
from .. import plotting
from .._atomic import TargetExistsError, WriteError, one_line_cause, write_atomic
from .._quantize import load_kernels, quantize
from ..io import (
    ImageReadError,
    ImageTooLargeError,
    encode_animation,
    encode_image,
    gif_palette,
    load_animation,
)
from ..metrics import psnr_from_mse, squared_error
from ..palettes import apply_palette, color_counts, fit_palette, sum_counts
from ..quality import QualityTooLowError, chosen_k, quantize_to_psnr
from . import _prefetch, _startup
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
    _guarded(lambda job, report: found.append(sum_counts(
        color_counts(frame) for frame in _load(job, report).frames)), job, report)
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
    start = time.perf_counter() - _prefetch.seconds(job)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            work(job, report)
        report.warnings = list(dict.fromkeys(
            one_line_cause(w.message, job.input) for w in caught if issubclass(w.category, UserWarning)
        ))
    except TargetExistsError as exc:
        report.exit_code = EXIT_OUTPUT
        report.error = f"{exc} (use --force to replace it)"
    except WriteError as exc:
        report.exit_code, report.error = EXIT_OUTPUT, str(exc)
    except _InputError as exc:
        report.exit_code = EXIT_INPUT
        report.error = str(exc) or one_line_cause(exc.__cause__, job.input)
    except _QualityError as exc:
        report.exit_code, report.error = EXIT_QUALITY, str(exc)
    except MemoryError:
        report.exit_code, report.error = EXIT_INTERNAL, "out of memory"
    except Exception as exc:  # noqa: BLE001 - reported as one line, exit 1
        report.exit_code = EXIT_INTERNAL
        report.error = f"internal error: {type(exc).__name__}: {one_line_cause(exc, job.input)}"
    if report.error is not None:
        report.status = "failed"
    report.seconds = round(time.perf_counter() - start, 4)


class _InputError(Exception):
    """Wraps the error of loading an input: exit code 3."""


class _QualityError(Exception):
    """The PSNR target cannot be reached: exit code 99."""


def _load(job, report):
    """``load_animation`` of the job's input (every frame; a still image is
    one frame, read as ``load_image`` reads it), or what ``_prefetch``
    loaded of it, errors as ``_InputError``."""
    max_pixels = _prefetch.max_pixels(job)
    try:
        report.input_bytes = os.path.getsize(job.input)
        loaded = _prefetch.take(job)
        if loaded is not None:
            return loaded
        return load_animation(job.input, max_pixels=max_pixels)
    except ImageTooLargeError as exc:
        # The library names its parameter; the user set (or not) the option.
        default = "" if job.max_pixels is not None else ", the default"
        raise _InputError(
            f"{exc.width} x {exc.height} = {exc.width * exc.height:,} pixels "
            f"exceeds --max-pixels {max_pixels:,}{default}") from exc
    except (ImageReadError, OSError) as exc:
        raise _InputError() from exc


# From this many pixels on, the k-means kernels are loaded from numba's cache
# on a thread while the image decodes (see ``_warm_kernels``).
_WARM_MIN_PIXELS = 4_000_000


def _image_pixels(path):
    """Width x height from the file's header (no decoding), or 0."""
    try:
        with Image.open(path) as image:
            return image.width * image.height
    except Exception:  # noqa: BLE001 - _load reports a bad input properly
        return 0


def _warm_kernels(job):
    """Load the kernels ``quantize`` will run while the main thread decodes.

    Numba loads a cached kernel on its first call, 0.3 s for quantize's
    kernels, mostly holding the GIL; Pillow decodes without it. Run on a
    large input only (``_WARM_MIN_PIXELS``): on a small one the decode is
    shorter than the thread's start, and the two would only compete. The
    thread runs ``warm_up``, which sets no warning filters beside the job's.
    """
    if not _startup.on("warm-up") or _image_pixels(job.input) < _WARM_MIN_PIXELS:
        return
    threading.Thread(target=warm_up, args=(job,), daemon=True,
                     name="kmeans-warm").start()


def warm_up(job):
    """Load the kernels of ``job``'s quantize (``_quantize.load_kernels``:
    those of an RGB run with its options; an RGBA input still loads its
    colour counting and 4-feature kernels itself); never fails the job.
    Nothing for ``--palette`` or ``--psnr`` runs, which take other steps."""
    if job.palette is not None or job.psnr_target is not None:
        return
    try:
        load_kernels(job.n_colors, method=job.method, color_space=job.color_space)
    except Exception:  # noqa: BLE001, S110 - only a head start; the real
        pass  # run loads (and reports) the same way


def _compress(job, report):
    if not _prefetch.started(job):
        _warm_kernels(job)
    loaded = _load(job, report)
    frames = loaded.frames
    report.height, report.width = int(frames[0].shape[0]), int(frames[0].shape[1])
    if loaded.is_animated:
        report.frames = len(frames)
        results, data = _animation(job, report, loaded)
    else:
        results = [_still(job, report, frames[0])]
        data = encode_image(results[0], job.fmt,
                            metadata=loaded.metadata if job.keep_metadata else None)
    if results[0].palette.shape[1] > frames[0].shape[2]:
        # An RGB image on an RGBA palette was measured as opaque RGBA.
        frames = [np.dstack([f, np.full(f.shape[:2], 255, np.uint8)]) for f in frames]
    n_pixels = report.width * report.height * len(frames)
    report.output_bytes = len(data)
    report.ratio = round(len(data) / report.input_bytes, 4) if report.input_bytes else None
    report.bpp = round(len(data) * 8 / n_pixels, 4)
    report.colors_in = int(results[0].n_colors_in)
    _measure(job, report, frames, results)
    report.n_iter = int(sum(result.n_iter for result in results))
    report.cluster_seconds = round(float(sum(result.seconds for result in results)), 4)

    if job.skip_if_larger and len(data) >= report.input_bytes:
        report.status, report.exit_code = "skipped", EXIT_SKIPPED
        return
    write_atomic(data, job.output, force=job.force, same_ok=job.rerun_safe)
    report.status, report.exit_code = "written", EXIT_OK

    if job.plot is not None or job.animate is not None:
        original, result = frames[0], results[0]
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


def _still(job, report, original):
    """The QuantizeResult of a still image, as the options say."""
    if job.palette is not None:
        result = apply_palette(original, job.palette, color_space=job.color_space,
                               dither=job.dither)
        result.n_iter = job.palette_n_iter  # of the shared fit (0: a file's)
        return result
    if job.psnr_target is None:
        return quantize(
            original, job.n_colors, method=job.method, random_state=job.seed,
            record_history=job.animate is not None, color_space=job.color_space,
            dither=job.dither,
        )
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
    return result


def _animation(job, report, loaded):
    """The QuantizeResults of every frame and the encoded animation.

    One palette for all frames (fitted on their summed colour counts, or the
    job's shared palette), or with ``--per-frame`` one ``quantize`` a frame.
    """
    frames = loaded.frames
    for option, used in (("--psnr/--quality", job.psnr_target is not None),
                         ("--plot", job.plot is not None),
                         ("--animate", job.animate is not None)):
        if used:
            raise _InputError(f"animated image ({len(frames)} frames): {option} "
                              "works on still images only")
    start = time.perf_counter()
    total = sum_counts(color_counts(frame) for frame in frames)
    if job.per_frame:
        report.palette = "per frame"
        results = [quantize(frame, job.n_colors, method=job.method,
                            random_state=job.seed, color_space=job.color_space,
                            dither=job.dither) for frame in frames]
    else:
        if job.palette is not None:
            palette, n_iter = job.palette, job.palette_n_iter
        else:
            palette, n_iter = fit_palette(total, job.n_colors, random_state=job.seed,
                                          color_space=job.color_space,
                                          return_n_iter=True)
        results = [apply_palette(frame, palette, color_space=job.color_space,
                                 dither=job.dither) for frame in frames]
        results[0].n_iter = n_iter
    # Figures of the whole animation: its distinct colours, all the time.
    results[0].n_colors_in = len(total)
    results[0].seconds = time.perf_counter() - start - sum(r.seconds for r in results[1:])
    data = encode_animation(results, job.fmt, durations=loaded.durations,
                            loop=loaded.loop)
    return results, data


def _measure(job, report, frames, results):
    """MSE, PSNR and output colours over all frames, of what the file holds."""
    n_values = sum(frame.size for frame in frames)
    if job.fmt == "gif" and results[0].palette.shape[1] == 4:
        # A GIF holds no partial alpha: measure what the file holds.
        figures = [_gif_figures(frame, result) for frame, result in zip(frames, results)]
        error = sum(sse for sse, _ in figures) / n_values
        colors = np.unique(np.vstack([used for _, used in figures]), axis=0)
        report.colors_out = len(colors)
    else:
        # The fit's own error: over all pixels and channels, against the
        # image as clustered (fully transparent pixels count as (0, 0, 0, 0),
        # whatever invisible colour they had).
        error = sum(float(result.inertia) for result in results) / n_values
        if len(results) == 1 or not job.per_frame:
            report.colors_out = len(results[0].palette)
        else:
            report.colors_out = len(np.unique(
                np.vstack([result.palette for result in results]), axis=0))
    report.mse = round(error, 4)
    value = psnr_from_mse(error)
    report.psnr = round(value, 3) if value != float("inf") else None


def _gif_figures(original, result):
    """Squared error and used colours of the GIF of an RGBA ``result``.

    Against the image as clustered, like the figures of a PNG; the pixels
    are those the GIF holds (``kmeans_core.io.gif_palette``: alpha all or
    nothing), so merged transparent entries count once.
    """
    shown = gif_palette(result.palette)
    reference = original.copy()
    reference[original[..., 3] == 0] = 0
    error = squared_error(reference, shown[result.indices])
    return error, np.unique(shown[np.unique(result.indices)], axis=0)
