"""The command line: ``compress.py [options] FILE|DIR ...``.

Each input image is loaded (``kmeans_core.io.load_image``), quantized to
``-k`` colours (``kmeans_core.quantize``; with ``--psnr``/``--quality``, to the
fewest colours reaching a PSNR target, ``kmeans_core.quality``), optionally
in OKLab and dithered, encoded as an indexed PNG or a GIF
(``kmeans_core.io.encode_image``) and written beside the input as
``NAME-k16.png`` (``NAME-psnr33.png``), or to ``-o FILE`` / ``--out-dir DIR``. ``--help`` is the
single source of the option docs; ``docs/cli.md`` explains the design.

Three stages, each kept apart so it can be tested on its own:

1. ``build_parser`` / ``parse_args``: strict argparse types and ranges; a bad
   option is one line on stderr and exit code 2, before any work.
2. ``plan_jobs``: expands folders, names the outputs and checks everything
   that can be checked before clustering (input missing, output exists,
   output folder missing, output would overwrite an input ...). A file that
   fails here gets its report at once and costs no clustering.
3. ``compress_file``: the work for one file, run in this process or in a
   worker process (``--workers``). It never raises (except on Ctrl-C): every
   failure becomes a ``FileReport`` with an exit code and a one-line message.

Outputs are written to a temporary file in the target folder and renamed
into place with ``os.replace``, so a failure or Ctrl-C leaves no partial
file; an existing file is replaced only with ``--force`` and an input never.
"""

import argparse
import json
import os
import re
import signal
import sys
import tempfile
import time
import warnings
from dataclasses import asdict, dataclass, field

# Exit codes (also in the --help epilog and docs/cli.md).
EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USAGE = 2
EXIT_INPUT = 3
EXIT_OUTPUT = 4
EXIT_SKIPPED = 98
EXIT_QUALITY = 99  # --psnr / --quality target not reachable
EXIT_INTERRUPTED = 130

# A batch exits with its most severe code: 1 > 4 > 3 > 99 > 98 > 0.
_SEVERITY = {
    EXIT_OK: 0,
    EXIT_SKIPPED: 1,
    EXIT_QUALITY: 2,
    EXIT_INPUT: 3,
    EXIT_OUTPUT: 4,
    EXIT_INTERNAL: 5,
}

# Files a folder expands to, by extension (case-insensitive). A file named
# on the command line is always tried, whatever its extension.
IMAGE_EXTENSIONS = frozenset((
    ".bmp", ".dib", ".gif", ".jfif", ".jpe", ".jpeg", ".jpg", ".pbm", ".pcx",
    ".pgm", ".png", ".pnm", ".ppm", ".tga", ".tif", ".tiff", ".webp",
))

# Outputs of an earlier run (NAME-k16.png, NAME-k256.gif, NAME-psnr33.png,
# NAME-psnr30-36.png ...) are skipped when a folder is expanded, so running
# twice does not compress outputs.
_OWN_OUTPUT = re.compile(
    r"-(k[0-9]+|psnr[0-9.]+(-[0-9.]+)?)\.(png|gif)$", re.IGNORECASE)

_OUTPUT_FORMATS = {".png": "png", ".gif": "gif"}

_EPILOG = """\
outputs:
  Without -o or --out-dir, NAME.jpg becomes NAME-k16.png beside it (the
  suffix follows -k; NAME-psnr33.png with --psnr 33, NAME-psnr30-36.png with
  --quality 30-36; or it is --ext). An output name ending in .gif writes a GIF,
  else an indexed PNG at the smallest bit depth that holds the palette.
  Folders expand to the image files in them (--recursive: also sub-folders);
  hidden files and earlier outputs (*-k<N>.png, *-psnr<T>.png, .gif alike,
  names ending in the --ext suffix) are skipped; a file named on the command line is always
  tried. Existing files are replaced only with --force; an input never.
  Outputs are written to a temporary file and renamed into place.

exit codes (a batch exits with the most severe: 1 > 4 > 3 > 99 > 98 > 0):
  0    every file compressed
  1    unexpected internal error
  2    usage error: bad option or value, conflicting options,
       -o with several inputs, - (standard input) as an input (nothing is done)
  3    input error: missing, unreadable, empty, truncated, corrupt or not an
       image, more pixels than --max-pixels
  4    output error: file exists (without --force), folder missing or not
       writable, output would overwrite an input
  98   skipped by --skip-if-larger (output not smaller than the input)
  99   quality target not reachable: even -k colours (256 without -k) miss
       --psnr TARGET (or the MIN of --quality); nothing is written
  130  interrupted (Ctrl-C); no partial file is left

quality target:
  --psnr 33 picks the fewest colours, at most -k (default 256), whose result
  has PSNR >= 33 dB, by a search over k that warm-starts each fit from the
  previous one, and prints the chosen k. --quality 30-36 (like pngquant's
  --quality MIN-MAX, in PSNR dB) aims at 36 dB with the fewest colours; if
  -k colours miss 36 dB it keeps them as long as they reach 30 dB. The target
  is measured without dithering: with --dither the printed PSNR (of the
  dithered output) is usually lower.
"""


class UsageError(Exception):
    """A bad option or value: reported as one line, exit code 2."""


class _OutputError(Exception):
    """The output cannot be written: exit code 4."""


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of printing usage and exiting."""

    def error(self, message):
        raise UsageError(message)


# -- strict argument types ---------------------------------------------------


def _int_type(name, low, high=None):
    """An argparse type: a plain decimal integer in [low, high]."""

    def parse(text):
        if not re.fullmatch(r"[0-9]+", text.strip()):
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number")
        value = int(text)
        if value < low or (high is not None and value > high):
            bounds = f"{low}..{high}" if high is not None else f">= {low}"
            raise argparse.ArgumentTypeError(f"{value} is not in {bounds}")
        return value

    parse.__name__ = name  # argparse names the type in some messages
    return parse


parse_colors = _int_type("colors", 1, 256)
parse_workers = _int_type("workers", 1, 256)
parse_max_pixels = _int_type("max-pixels", 1)
parse_seed = _int_type("seed", 0, 2**32 - 1)

_DECIMAL = re.compile(r"[0-9]+(\.[0-9]*)?|\.[0-9]+")


def _decimal(text):
    """A plain non-negative decimal number (no sign, exponent, nan or inf)."""
    if not _DECIMAL.fullmatch(text.strip()):
        raise argparse.ArgumentTypeError(f"{text!r} is not a decimal number")
    return float(text)


def parse_dither(text):
    """--dither LEVEL: a decimal number in 0..1."""
    value = _decimal(text)
    if value > 1:
        raise argparse.ArgumentTypeError(f"{text} is not in 0..1")
    return value


parse_dither.__name__ = "dither level"


def parse_psnr(text):
    """--psnr TARGET: a decimal number of dB, > 0."""
    value = _decimal(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text} is not > 0")
    return value


parse_psnr.__name__ = "psnr"


def parse_quality(text):
    """--quality MIN-MAX: two PSNR values in dB, 0 < MIN <= MAX."""
    parts = text.split("-")
    if len(parts) != 2:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not MIN-MAX (two PSNR values in dB, e.g. 30-36)")
    low, high = (parse_psnr(part) for part in parts)
    if low > high:
        raise argparse.ArgumentTypeError(f"{text}: MIN {low:g} exceeds MAX {high:g}")
    return low, high


parse_quality.__name__ = "quality"


def _looks_numeric(text):
    return re.fullmatch(r"[-+]?[0-9.]+([eE][-+]?[0-9]*)?|[-+]?(nan|inf)", text,
                        re.IGNORECASE) is not None


def _bare_dither(argv):
    """``argv`` with a bare ``--dither`` before a non-number made ``--dither=1``.

    ``--dither`` takes an optional LEVEL; argparse would read the next word as
    the level even when it is a file name (``--dither cat.jpg``). A word that
    does not look like a number is left to be an input; one that does is the
    level (and strictly checked: ``--dither 2`` is a usage error).
    """
    argv = list(argv)
    for i, word in enumerate(argv):
        if word == "--":
            break
        if word == "--dither" and i + 1 < len(argv) and not (
                argv[i + 1].startswith("-") or _looks_numeric(argv[i + 1])):
            argv[i] = "--dither=1"
    return argv


def _output_format(name):
    """"png" or "gif" from a file name, or None for any other extension."""
    for suffix, fmt in _OUTPUT_FORMATS.items():
        if name.lower().endswith(suffix):
            return fmt
    return None


def parse_ext(text):
    """--ext: a file-name suffix ending in .png or .gif, without a folder."""
    if "/" in text or os.sep in text or (os.altsep and os.altsep in text):
        raise argparse.ArgumentTypeError(f"{text!r} must not contain a folder")
    if _output_format(text) is None:
        raise argparse.ArgumentTypeError(f"{text!r} must end in .png or .gif")
    return text


def parse_output(text):
    """-o: a file name ending in .png or .gif."""
    if _output_format(text) is None or os.path.basename(text) == "":
        raise argparse.ArgumentTypeError(f"{text!r} must end in .png or .gif")
    return text


def _suffix_type(suffix):
    def parse(text):
        if os.path.splitext(text)[1].lower() != suffix or not os.path.basename(text):
            raise argparse.ArgumentTypeError(f"{text!r} must end in {suffix}")
        return text

    parse.__name__ = suffix
    return parse


parse_plot = _suffix_type(".png")
parse_animation = _suffix_type(".gif")


def _version():
    try:
        from kmeans_core import __version__
    except ImportError:  # pragma: no cover - the package always has one
        __version__ = "unknown"
    return __version__


def _default_max_pixels():
    from kmeans_core.io import DEFAULT_MAX_PIXELS

    return DEFAULT_MAX_PIXELS


def build_parser(prog=None):
    """The argparse parser of ``compress.py``; its --help is the option doc."""
    parser = _Parser(
        prog=prog,
        description=(
            "Compress images by colour quantization: k-means finds K colours\n"
            "(or the fewest reaching --psnr), each pixel takes the nearest one\n"
            "(or is dithered onto them), and the result is written as an\n"
            "indexed PNG (or GIF). For each file it prints the sizes, bits per\n"
            "pixel, colours before/after, PSNR and MSE against the original,\n"
            "iterations and seconds."
        ),
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "inputs", nargs="+", metavar="FILE|DIR", help="images or folders of images"
    )
    parser.add_argument(
        "-k", "--colors", type=parse_colors, default=None, metavar="K",
        help="number of colours, 1..256 (default: 16); with --psnr or "
        "--quality, the most colours allowed (default: 256)",
    )
    parser.add_argument(
        "--color-space", choices=("rgb", "oklab"), default="rgb",
        help="where k-means measures colour distances: rgb (the 0-255 values) "
        "or oklab (perceptual; lower mean colour error ΔE_OK, usually lower "
        "PSNR) (default: %(default)s)",
    )
    parser.add_argument(
        "--dither", type=parse_dither, nargs="?", const=1.0, default=None,
        metavar="LEVEL",
        help="Floyd-Steinberg dithering onto the found palette, LEVEL 0..1 "
        "(bare --dither: 1; 0: none; default: off); trades banding in smooth "
        "gradients for fine noise, usually lowering PSNR",
    )
    target = parser.add_mutually_exclusive_group()
    target.add_argument(
        "--psnr", type=parse_psnr, metavar="TARGET",
        help="use the fewest colours (at most -k, default 256) whose result "
        "reaches PSNR >= TARGET dB and print the chosen k; exit code 99 and no "
        "output when -k colours cannot",
    )
    target.add_argument(
        "--quality", type=parse_quality, metavar="MIN-MAX",
        help="like pngquant's --quality, in PSNR dB: the fewest colours "
        "reaching MAX; if -k colours miss MAX, use them if they reach MIN, "
        "else exit code 99 and no output",
    )
    parser.add_argument(
        "--method", choices=("kmeans", "minibatch"), default="kmeans",
        help="kmeans: k-means on the distinct colours weighted by their counts "
        "(exactly the all-pixel objective); minibatch: mini-batch k-means, "
        "faster on huge photos (default: %(default)s)",
    )
    parser.add_argument(
        "-o", "--output", type=parse_output, metavar="FILE",
        help="output file, .png or .gif (one input only)",
    )
    parser.add_argument(
        "--out-dir", metavar="DIR",
        help="write the outputs into this existing folder instead of beside "
        "the inputs",
    )
    parser.add_argument(
        "--ext", type=parse_ext, metavar="SUFFIX",
        help="output name suffix replacing the input's extension, ending in "
        ".png or .gif (default: -k<K>.png, e.g. -k16.png); write a suffix "
        "that starts with '-' as --ext=-small.png",
    )
    parser.add_argument(
        "-f", "--force", action="store_true",
        help="replace existing output files (never an input)",
    )
    parser.add_argument(
        "--skip-if-larger", action="store_true",
        help="write nothing when the output would not be smaller than the "
        "input (exit code 98)",
    )
    parser.add_argument(
        "--keep-metadata", action="store_true",
        help="copy EXIF (without the orientation, the pixels are upright), an "
        "RGB ICC profile and DPI to a PNG output (default: stripped)",
    )
    parser.add_argument(
        "-r", "--recursive", action="store_true",
        help="expand folders into their sub-folders too",
    )
    parser.add_argument(
        "--workers", type=parse_workers, default=1, metavar="N",
        help="compress N files at once in separate processes (default: "
        "%(default)s; each process also uses threads)",
    )
    parser.add_argument(
        "--max-pixels", type=parse_max_pixels, default=None, metavar="N",
        help="refuse images with more pixels, before decoding (default: "
        f"{_default_max_pixels():,})",
    )
    parser.add_argument(
        "--seed", type=parse_seed, default=0, metavar="N",
        help="seed of the k-means initialisation; the same seed gives the same "
        "output (default: %(default)s)",
    )
    parser.add_argument(
        "--plot", type=parse_plot, metavar="FILE.png",
        help="also save a figure: original and compressed side by side, and "
        "the colours before/after with the centres (one input only)",
    )
    parser.add_argument(
        "--animate", type=parse_animation, metavar="FILE.gif",
        help="also save a GIF of the centres moving, iteration by iteration "
        "(one input only)",
    )
    out = parser.add_mutually_exclusive_group()
    out.add_argument(
        "--json", action="store_true",
        help="print one JSON object per file (JSON lines) instead of text",
    )
    out.add_argument(
        "-q", "--quiet", action="store_true",
        help="print nothing but errors",
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s (kmeans_core) {_version()}"
    )
    return parser


def parse_args(argv, prog=None):
    """Parse and cross-check the options; raises UsageError on a bad one.

    Only what the command line alone decides is checked here; the number of
    files a folder expands to is checked by ``plan_jobs``.
    """
    if argv is None:
        argv = sys.argv[1:]
    args = build_parser(prog).parse_args(_bare_dither(argv))
    if "-" in args.inputs:
        raise UsageError("reading standard input ('-') is not supported; name a file")
    args.psnr_target = args.psnr_min = None
    if args.psnr is not None:
        args.psnr_target = args.psnr
    elif args.quality is not None:
        args.psnr_min, args.psnr_target = args.quality
    if args.colors is None:
        args.colors = 16 if args.psnr_target is None else 256
    if args.dither == 0:
        args.dither = None  # level 0 is no dithering
    if args.psnr_target is not None:
        option = "--psnr" if args.psnr is not None else "--quality"
        if args.method != "kmeans":
            raise UsageError(f"{option} works with --method kmeans only")
        if args.animate is not None:
            raise UsageError(
                f"--animate cannot be used with {option} (the search makes many "
                "fits; animate one -k)")
    if args.output is not None:
        if args.out_dir is not None:
            raise UsageError("-o/--output and --out-dir cannot be used together")
        if args.ext is not None:
            raise UsageError("-o/--output and --ext cannot be used together")
        if len(args.inputs) > 1:
            raise UsageError(
                f"-o/--output takes one input, got {len(args.inputs)}; use "
                "--out-dir for several"
            )
    for option, value in (("--plot", args.plot), ("--animate", args.animate)):
        if value is not None and len(args.inputs) > 1:
            raise UsageError(f"{option} takes one input; got {len(args.inputs)}")
    if args.plot is not None and args.plot == args.animate:
        raise UsageError("--plot and --animate name the same file")
    return args


# -- planning ----------------------------------------------------------------


@dataclass
class Job:
    """One file to compress: everything a worker process needs (picklable)."""

    index: int
    input: str
    output: str
    fmt: str
    n_colors: int
    method: str
    seed: int
    max_pixels: int | None
    force: bool
    skip_if_larger: bool
    keep_metadata: bool
    plot: str | None = None
    animate: str | None = None
    color_space: str = "rgb"
    dither: float | None = None
    psnr_target: float | None = None  # --psnr, or MAX of --quality
    psnr_min: float | None = None  # MIN of --quality


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


def _failed(path, output, code, message):
    return FileReport(input=path, output=output, exit_code=code, error=message)


def _is_own_output(name, ext):
    return bool(_OWN_OUTPUT.search(name)) or (
        ext is not None and name.lower().endswith(ext.lower())
    )


def expand_inputs(paths, *, recursive=False, ext=None):
    """Expand folders into image files.

    Returns ``(files, failures)``: the files in command-line order (in a
    folder: its files sorted by name, then its sub-folders' in name order;
    duplicates dropped), and a FileReport with
    exit code 3 for each path that does not exist or a folder with no image.
    """
    files, failures, seen = [], [], set()

    def add(path):
        key = os.path.realpath(path)
        if key not in seen:
            seen.add(key)
            files.append(path)

    for path in paths:
        if os.path.isdir(path):
            found = []
            for folder, subfolders, names in os.walk(path):
                subfolders[:] = sorted(d for d in subfolders if not d.startswith("."))
                if not recursive:
                    subfolders[:] = []
                for name in sorted(names):
                    if (
                        not name.startswith(".")
                        and os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS
                        and not _is_own_output(name, ext)
                        and os.path.isfile(os.path.join(folder, name))
                    ):
                        found.append(os.path.join(folder, name))
            if not found:
                hint = "" if recursive else " (--recursive searches sub-folders)"
                failures.append(
                    _failed(path, None, EXIT_INPUT, f"no image files in folder{hint}")
                )
            for name in found:
                add(os.path.normpath(name))
        else:
            problem = _missing(path)
            if problem is None:
                add(path)
            else:
                failures.append(_failed(path, None, EXIT_INPUT, problem))
    return files, failures


def _missing(path):
    """None if ``path`` exists, else why it cannot be reached."""
    try:
        os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return "no such file or folder"
    except PermissionError:
        return "permission denied (a folder on its way cannot be searched)"
    except OSError as exc:
        return f"cannot read: {exc.strerror or exc}"
    return None


def output_path(path, *, n_colors, output=None, out_dir=None, ext=None,
                psnr_target=None, psnr_min=None):
    """Where the output of ``path`` goes.

    Examples
    --------
    >>> output_path("photos/cat.jpg", n_colors=16)
    'photos/cat-k16.png'
    >>> output_path("photos/cat.jpg", n_colors=8, out_dir="small", ext=".gif")
    'small/cat.gif'
    >>> output_path("cat.jpg", n_colors=256, psnr_target=33.0)
    'cat-psnr33.png'
    >>> output_path("cat.jpg", n_colors=256, psnr_target=36.0, psnr_min=30.5)
    'cat-psnr30.5-36.png'
    """
    if output is not None:
        return output
    stem = os.path.splitext(os.path.basename(path))[0]
    if psnr_target is None:
        suffix = f"-k{n_colors}.png"
    elif psnr_min is None:
        suffix = f"-psnr{psnr_target:g}.png"
    else:
        suffix = f"-psnr{psnr_min:g}-{psnr_target:g}.png"
    name = stem + (ext if ext is not None else suffix)
    folder = out_dir if out_dir is not None else os.path.dirname(path)
    return os.path.join(folder, name)


def _same_file(a, b):
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def _folder_problem(folder):
    """None if files can be written in ``folder``, else what is wrong."""
    if not os.path.isdir(folder):
        return "is not a folder" if os.path.exists(folder) else "does not exist"
    if not os.access(folder, os.W_OK | os.X_OK):
        return "is not writable"
    return None


def check_output(target, *, inputs, force):
    """None if ``target`` may be written, else the reason (exit code 4)."""
    folder = os.path.dirname(os.path.abspath(target))
    problem = _folder_problem(folder)
    if problem is not None:
        return f"output folder {folder} {problem}"
    for path in inputs:
        if _same_file(target, path):
            return f"output {target} would overwrite the input {path}"
    if os.path.isdir(target):
        return f"output {target} is a folder"
    if os.path.lexists(target) and not force:
        return f"output {target} exists (use --force to replace it)"
    return None


def plan_jobs(args):
    """Turn parsed options into Jobs, plus FileReports of files that fail early.

    Raises UsageError when -o, --plot or --animate get more than one file.
    """
    files, failures = expand_inputs(args.inputs, recursive=args.recursive, ext=args.ext)
    single = [("-o/--output", args.output), ("--plot", args.plot),
              ("--animate", args.animate)]
    for option, value in single:
        if value is not None and len(files) > 1:
            raise UsageError(
                f"{option} takes one input; {args.inputs[0]} expands to "
                f"{len(files)} files"
            )
    if args.out_dir is not None:
        problem = _folder_problem(args.out_dir)
        if problem is not None:
            # One line for the folder, not one per file: nothing can be written.
            failures.append(
                _failed(args.out_dir, None, EXIT_OUTPUT, f"output folder {problem}")
            )
            return [], failures
    jobs, claimed = [], {}
    for path in files:
        target = output_path(
            path, n_colors=args.colors, output=args.output,
            out_dir=args.out_dir, ext=args.ext, psnr_target=args.psnr_target,
            psnr_min=args.psnr_min,
        )
        if not os.path.isfile(path):
            failures.append(_failed(path, target, EXIT_INPUT, "not a regular file"))
            continue
        problem = check_output(target, inputs=files, force=args.force)
        key = os.path.normcase(os.path.abspath(target))
        if problem is None and key in claimed:
            problem = f"output {target} is also the output of {claimed[key]}"
        for extra in (args.plot, args.animate):
            if problem is None and extra is not None:
                problem = check_output(extra, inputs=files, force=args.force)
                if problem is None and _same_file(extra, target):
                    problem = f"{extra} is also the output"
        if problem is not None:
            failures.append(_failed(path, target, EXIT_OUTPUT, problem))
            continue
        claimed[key] = path
        jobs.append(Job(
            index=len(jobs), input=path, output=target, fmt=_output_format(target),
            n_colors=args.colors, method=args.method, seed=args.seed,
            max_pixels=args.max_pixels, force=args.force,
            skip_if_larger=args.skip_if_larger, keep_metadata=args.keep_metadata,
            plot=args.plot, animate=args.animate, color_space=args.color_space,
            dither=args.dither, psnr_target=args.psnr_target, psnr_min=args.psnr_min,
        ))
    return jobs, failures


# -- the work for one file -----------------------------------------------------


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _temp_path(target):
    """A new empty temporary file beside ``target``; its path."""
    folder = os.path.dirname(os.path.abspath(target))
    name = os.path.basename(target)
    try:
        with tempfile.NamedTemporaryFile(
            # A short prefix: the temporary name must stay within the file
            # system's limit even when the output name is near it.
            dir=folder, prefix=f".{name[:64]}.",
            suffix=".tmp" + os.path.splitext(name)[1],
            delete=False,
        ) as tmp:
            return tmp.name
    except OSError as exc:
        raise _OutputError(
            f"cannot write in folder {folder}: {exc.strerror or exc}"
        ) from None


def _install(tmp, target, *, force):
    """Rename the finished temporary file ``tmp`` to ``target``.

    Without ``force`` the file is hard-linked into place, which fails rather
    than replace a file that appeared meanwhile (on a file system without
    hard links: checked, then renamed).
    """
    exists = _OutputError(f"output {target} exists (use --force to replace it)")
    if not force and os.path.lexists(target):
        raise exists
    try:
        # NamedTemporaryFile makes the file 0600; an image gets the usual mode.
        os.chmod(tmp, 0o666 & ~_umask())
        if force:
            os.replace(tmp, target)
            return
        try:
            os.link(tmp, target)
        except FileExistsError:
            raise exists from None
        except OSError:
            os.replace(tmp, target)
        else:
            os.unlink(tmp)
    except OSError as exc:
        raise _OutputError(f"cannot write {target}: {exc.strerror or exc}") from None


def write_atomic(data, target, *, force):
    """Write ``data`` to ``target`` through a temporary file in its folder.

    Whatever happens (error, Ctrl-C), either ``target`` holds all of ``data``
    or it is untouched, and the temporary file is gone.
    """
    def write(path):
        with open(path, "wb") as fh:
            fh.write(data)

    _save_atomic(write, target, force=force)


def _save_atomic(save, target, *, force):
    """Like ``write_atomic``, for a function ``save(path)`` that writes a file;
    returns what ``save`` returns."""
    tmp = _temp_path(target)
    try:
        try:
            result = save(tmp)
        except OSError as exc:
            message = _cause(exc, tmp)
            if not message.startswith("cannot "):
                message = f"cannot write {target}: {message}"
            raise _OutputError(message) from None
        _install(tmp, target, force=force)
        return result
    except BaseException:
        _remove_quietly(tmp)
        raise


def _remove_quietly(path):
    try:
        os.remove(path)
    except OSError:
        pass


def _cause(exc, path):
    """The message of ``exc`` without a leading file name (we print our own)."""
    message = " ".join(str(exc).split()) or type(exc).__name__
    for prefix in (f"{path}: ", f"{path!r}: ", f"{os.path.abspath(path)}: "):
        if message.startswith(prefix):
            return message[len(prefix):]
    return message


def compress_file(job):
    """Compress one file as ``job`` says; a FileReport, never an exception.

    Only KeyboardInterrupt goes through (after removing the temporary file).
    """
    start = time.perf_counter()
    report = FileReport(input=job.input, output=job.output, method=job.method,
                        k=job.n_colors, color_space=job.color_space,
                        dither=job.dither, psnr_target=job.psnr_target,
                        psnr_min=job.psnr_min)
    if job.psnr_target is not None:
        report.k, report.max_k = None, job.n_colors
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            _compress(job, report)
        report.warnings = list(dict.fromkeys(
            _cause(w.message, job.input) for w in caught if issubclass(w.category, UserWarning)
        ))
    except _OutputError as exc:
        report.exit_code, report.error = EXIT_OUTPUT, str(exc)
    except _InputError as exc:
        report.exit_code = EXIT_INPUT
        report.error = str(exc) or _cause(exc.__cause__, job.input)
    except _QualityError as exc:
        report.exit_code, report.error = EXIT_QUALITY, str(exc)
    except MemoryError:
        report.exit_code, report.error = EXIT_INTERNAL, "out of memory"
    except Exception as exc:  # noqa: BLE001 - reported as one line, exit 1
        report.exit_code = EXIT_INTERNAL
        report.error = f"internal error: {type(exc).__name__}: {_cause(exc, job.input)}"
    if report.error is not None:
        report.status = "failed"
    report.seconds = round(time.perf_counter() - start, 4)
    return report


class _InputError(Exception):
    """Wraps the error of loading an input: exit code 3."""


class _QualityError(Exception):
    """The PSNR target cannot be reached: exit code 99."""


def _compress(job, report):
    from kmeans_core.io import (
        DEFAULT_MAX_PIXELS,
        ImageReadError,
        ImageTooLargeError,
        encode_image,
        load_image,
    )
    from kmeans_core.quantize import psnr_from_mse, quantize

    max_pixels = DEFAULT_MAX_PIXELS if job.max_pixels is None else job.max_pixels
    try:
        report.input_bytes = os.path.getsize(job.input)
        loaded = load_image(job.input, max_pixels=max_pixels)
    except ImageTooLargeError as exc:
        # The library names its parameter; the user set (or not) the option.
        default = "" if job.max_pixels is not None else ", the default"
        raise _InputError(
            f"{exc.width} x {exc.height} = {exc.width * exc.height:,} pixels "
            f"exceeds --max-pixels {max_pixels:,}{default}") from exc
    except (ImageReadError, OSError) as exc:
        raise _InputError() from exc
    original = loaded.pixels
    report.height, report.width = int(original.shape[0]), int(original.shape[1])

    if job.psnr_target is None:
        result = quantize(
            original, job.n_colors, method=job.method, random_state=job.seed,
            record_history=job.animate is not None, color_space=job.color_space,
            dither=job.dither,
        )
    else:
        from kmeans_core.quality import QualityTooLowError, chosen_k, quantize_to_psnr

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
        from kmeans_core import plotting

        if job.plot is not None:
            _save_atomic(
                lambda path: plotting.save_report(
                    original, result, path, title=os.path.basename(job.input),
                    n_bytes=len(data), original_bytes=report.input_bytes),
                job.plot, force=job.force,
            )
            report.plot = job.plot
        if job.animate is not None:
            report.animation_frames = int(_save_atomic(
                lambda path: plotting.save_animation(original, result, path),
                job.animate, force=job.force,
            ))
            report.animation = job.animate


def _gif_figures(original, result):
    """MSE and distinct colours of the GIF of an RGBA ``result``.

    Against the image as clustered, like the figures of a PNG; the pixels
    are those the GIF holds (``kmeans_core.io.gif_palette``: alpha all or
    nothing), so merged transparent entries count once.
    """
    import numpy as np

    from kmeans_core.io import gif_palette
    from kmeans_core.metrics import squared_error

    shown = gif_palette(result.palette)
    reference = original.copy()
    reference[original[..., 3] == 0] = 0
    error = squared_error(reference, shown[result.indices]) / original.size
    used = shown[np.unique(result.indices)]
    return error, len(np.unique(used, axis=0))


# -- worker processes --------------------------------------------------------

_IN_JOB = False


def _worker_sigint(signum, frame):
    # Ctrl-C reaches every process of the terminal's group. A worker between
    # jobs ignores it (else multiprocessing prints a traceback); a worker in a
    # job stops, removing its temporary file, and the parent reports 130.
    if _IN_JOB:
        raise KeyboardInterrupt


def _init_worker(n_threads):
    signal.signal(signal.SIGINT, _worker_sigint)
    try:
        import numba

        numba.set_num_threads(max(1, min(n_threads, numba.config.NUMBA_NUM_THREADS)))
    except Exception:  # noqa: BLE001, S110 - thread count is only a performance hint
        pass


def _compress_in_worker(job):
    global _IN_JOB
    _IN_JOB = True
    try:
        return compress_file(job)
    finally:
        _IN_JOB = False


def _run(jobs, workers):
    """Yield the FileReport of each job as it completes."""
    if workers <= 1 or len(jobs) <= 1:
        for job in jobs:
            yield compress_file(job)
        return
    from concurrent.futures import ProcessPoolExecutor, as_completed

    n_workers = min(workers, len(jobs))
    threads = max(1, (os.cpu_count() or 1) // n_workers)
    executor = ProcessPoolExecutor(
        n_workers, initializer=_init_worker, initargs=(threads,)
    )
    try:
        futures = [executor.submit(_compress_in_worker, job) for job in jobs]
        for future in as_completed(futures):
            job = jobs[futures.index(future)]
            try:
                yield future.result()
            except KeyboardInterrupt:
                raise
            except Exception as exc:  # noqa: BLE001 - a worker died (killed, out of memory)
                yield _failed(job.input, job.output, EXIT_INTERNAL,
                              f"internal error: worker failed: {type(exc).__name__}")
    except BaseException:
        executor.shutdown(wait=True, cancel_futures=True)
        raise
    executor.shutdown(wait=True)


# -- printing ----------------------------------------------------------------


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


class _Printer:
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


# -- entry point ---------------------------------------------------------------


def main(argv=None):
    """Run ``compress.py`` with ``argv`` (default ``sys.argv[1:]``).

    Returns the exit code instead of exiting; ``compress.py`` passes it to
    ``sys.exit``.
    """
    # numba's "omp" threading layer (GNU OpenMP) spin-waits between parallel
    # regions by default. On a busy machine the spinning threads take the cores
    # from the ones doing work: samples/chelsea.jpg at -k 16 took 3-11 s instead
    # of 1-2 s with another process running. Threads sleep instead, unless the
    # user chose a policy. Read when OpenMP starts, i.e. at the first parallel
    # kernel, which comes after this line (worker processes inherit it).
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    prog = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "compress.py"
    if prog in ("", "-c", "__main__.py", "-m"):
        prog = "compress.py"
    try:
        return _main(argv, prog)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # stdout closed early (e.g. piped to head): stop quietly.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_INTERNAL
    except Exception as exc:  # noqa: BLE001 - one line, never a traceback
        print(one_line(f"{prog}: error: internal error: {type(exc).__name__}: {exc}"),
              file=sys.stderr)
        return EXIT_INTERNAL


def _main(argv, prog):
    try:
        args = parse_args(argv, prog)
        jobs, failures = plan_jobs(args)
    except UsageError as exc:
        print(one_line(f"{prog}: error: {exc} (see --help)"), file=sys.stderr)
        return EXIT_USAGE
    except SystemExit as exc:  # --help, --version
        return exc.code if isinstance(exc.code, int) else EXIT_OK

    start = time.perf_counter()
    printer = _Printer(prog, quiet=args.quiet, as_json=args.json,
                       progress_total=len(jobs) + len(failures))
    reports = []
    try:
        for report in failures:
            reports.append(report)
            printer.report(report)
        # Print in input order as the results come in.
        index_of = {job.input: job.index for job in jobs}
        done, next_index = {}, 0
        for report in _run(jobs, args.workers):
            done[index_of[report.input]] = report
            while next_index in done:
                reports.append(done[next_index])
                printer.report(done.pop(next_index))
                next_index += 1
    finally:
        printer.close()
    if len(reports) > 1 and not args.quiet and not args.json:
        print(format_summary(reports, time.perf_counter() - start), flush=True)
    return worst_exit_code(r.exit_code for r in reports)


if __name__ == "__main__":
    sys.exit(main())
