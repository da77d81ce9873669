"""What happened to each file, and how it is printed.

``FileReport`` is one file's outcome (a text line or a JSON object); the exit
codes and their order of severity; ``Printer`` writes the lines as results
come in (and a progress bar on a terminal); ``format_summary`` is the batch's
last line.
"""

import json
import sys
from dataclasses import asdict, dataclass, field

# Exit codes (also in the --help epilog and docs/cli.md).
EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USAGE = 2
EXIT_INPUT = 3
EXIT_OUTPUT = 4
EXIT_SKIPPED = 98
EXIT_QUALITY = 99  # --psnr / --quality target not reachable
EXIT_INTERRUPTED = 130  # Ctrl-C; 128 + the signal number for SIGTERM, SIGHUP

# A batch exits with its most severe code: 1 > 4 > 3 > 99 > 98 > 0.
_SEVERITY = {
    EXIT_OK: 0,
    EXIT_SKIPPED: 1,
    EXIT_QUALITY: 2,
    EXIT_INPUT: 3,
    EXIT_OUTPUT: 4,
    EXIT_INTERNAL: 5,
}


@dataclass
class FileReport:
    """What happened to one input; printed as a text line or a JSON object."""

    input: str
    output: str | None
    status: str = "failed"  # "written", "skipped" or "failed"
    exit_code: int = EXIT_INTERNAL
    error: str | None = None
    width: int | None = None
    height: int | None = None
    input_bytes: int | None = None
    output_bytes: int | None = None
    ratio: float | None = None  # output_bytes / input_bytes
    bpp: float | None = None  # output_bytes * 8 / (width * height)
    colors_in: int | None = None
    colors_out: int | None = None
    psnr: float | None = None  # dB, None when identical (infinite)
    mse: float | None = None
    n_iter: int | None = None
    method: str | None = None
    k: int | None = None  # -k, or the k chosen by --psnr / --quality
    color_space: str | None = None
    dither: float | None = None  # level, None when not dithered
    # "shared" (--shared-palette), "per frame" (--per-frame on an animation)
    # or the --palette-from FILE
    palette: str | None = None
    frames: int | None = None  # frames of an animated input, None for a still
    psnr_target: float | None = None
    psnr_min: float | None = None
    max_k: int | None = None  # -k with --psnr / --quality
    n_fits: int | None = None  # palette sizes fitted by the search
    cluster_seconds: float | None = None
    seconds: float | None = None
    plot: str | None = None
    animation: str | None = None
    animation_frames: int | None = None
    warnings: list = field(default_factory=list)

    def to_json(self):
        data = asdict(self)
        return json.dumps(data, allow_nan=False)


def failed(path, output, code, message):
    return FileReport(input=path, output=output, exit_code=code, error=message)



def _bytes(n):
    return f"{n:,}"


def format_report(report):
    """One text line for a written or skipped file."""
    psnr = "inf" if report.psnr is None else f"{report.psnr:.2f}"
    options = []
    if report.n_fits is not None:
        goal = (f">= {report.psnr_target:g}" if report.psnr_min is None
                else f"{report.psnr_min:g}-{report.psnr_target:g}")
        options.append(
            f"k={report.k} chosen for PSNR {goal} dB in {report.n_fits} fits")
    if report.color_space not in (None, "rgb"):
        options.append(report.color_space)
    if report.dither is not None:
        options.append(f"dither {report.dither:g}")
    if report.frames is not None:
        options.append(f"{report.frames} frames")
    if report.palette == "shared":
        options.append("shared palette")
    elif report.palette == "per frame":
        options.append("a palette per frame")
    elif report.palette is not None:
        options.append(f"palette from {report.palette}")
    options = f" ({', '.join(options)})" if options else ""
    figures = (
        f"{_bytes(report.input_bytes)} -> {_bytes(report.output_bytes)} bytes "
        f"({100 * report.ratio:.1f}%), {report.bpp:.3f} bpp, "
        f"{_bytes(report.colors_in)} -> {report.colors_out} colours{options}, "
        f"PSNR {psnr} dB, MSE {report.mse:.2f}, {report.n_iter} "
        f"iteration{'' if report.n_iter == 1 else 's'}, "
        f"{report.seconds:.2f} s"
    )
    size = f"{report.width}x{report.height}"
    return f"{report.input} ({size}) -> {report.output}: {figures}"


def format_summary(reports, seconds):
    """The batch summary line."""
    written = [r for r in reports if r.status == "written"]
    skipped = sum(r.status == "skipped" for r in reports)
    failed = sum(r.status == "failed" for r in reports)
    line = (
        f"{len(reports)} files: {len(written)} written, {skipped} skipped, "
        f"{failed} failed"
    )
    if written:
        bytes_in = sum(r.input_bytes for r in written)
        bytes_out = sum(r.output_bytes for r in written)
        line += (
            f"; written {_bytes(bytes_in)} -> {_bytes(bytes_out)} bytes "
            f"({100 * bytes_out / bytes_in:.1f}%)"
        )
    return line + f"; {seconds:.2f} s"


class Printer:
    """Prints each FileReport as one line (or JSON object) as it comes in."""

    def __init__(self, prog, *, quiet, as_json, progress_total):
        self.prog, self.quiet, self.as_json = prog, quiet, as_json
        self.bar = None
        if progress_total > 1 and not quiet and _isatty(sys.stderr):
            from tqdm import tqdm

            self.bar = tqdm(total=progress_total, file=sys.stderr, unit="file",
                            leave=False)

    def _write(self, line, stream):
        line = one_line(line)
        if self.bar is not None:
            self.bar.write(line, file=stream)
        else:
            print(line, file=stream, flush=True)

    def error(self, path, message):
        self._write(f"{self.prog}: error: {path}: {message}", sys.stderr)

    def report(self, report):
        if report.status == "failed":
            self.error(report.input, report.error)
        elif not self.quiet:
            for message in report.warnings:
                self._write(f"{self.prog}: warning: {report.input}: {message}",
                            sys.stderr)
            if report.status == "skipped" and not self.as_json:
                self._write(
                    f"{self.prog}: skipped: {report.input}: output would be "
                    f"{_bytes(report.output_bytes)} bytes, not smaller than "
                    f"{_bytes(report.input_bytes)} (--skip-if-larger)",
                    sys.stderr,
                )
        if self.as_json:
            self._write(report.to_json(), sys.stdout)
        elif report.status == "written" and not self.quiet:
            self._write(format_report(report), sys.stdout)
            for path in (report.plot, report.animation):
                if path is not None:
                    self._write(f"{report.input}: saved {path}", sys.stdout)
        if self.bar is not None:
            self.bar.update(1)

    def close(self):
        if self.bar is not None:
            self.bar.close()


# Control characters (a newline in a file name, a terminal escape) shown as
# Python escapes, so each file stays one line: "a\nb.jpg" prints as a\nb.jpg.
_ESCAPES = {code: repr(chr(code))[1:-1] for code in (*range(32), 127)}


def one_line(text):
    r"""``text`` with its control characters escaped, as ``repr`` does.

    Examples
    --------
    >>> print(one_line("cat\nmeow.jpg: done\t!"))
    cat\nmeow.jpg: done\t!
    """
    return text.translate(_ESCAPES)


def _isatty(stream):
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def worst_exit_code(codes):
    """The most severe exit code: 1 > 4 > 3 > 99 > 98 > 0."""
    return max(codes, key=lambda code: _SEVERITY.get(code, 5), default=EXIT_OK)


