"""The options of ``compress.py``: strict argparse types and cross-checks.

A bad option is a ``UsageError``: one line on stderr and exit code 2, before
any file is touched. ``--help`` (``build_parser``) is the single source of
the option docs.
"""

import argparse
import os
import re
import sys

from .. import __version__
from ..io import DEFAULT_MAX_PIXELS

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

animations:
  An animated GIF, APNG or WebP gives every frame, composited to the full
  picture a viewer shows. The output keeps the animation (an animated GIF
  for .gif, an APNG for .png) with each frame's duration, the loop count and
  transparency. One palette serves all frames (fitted on their summed
  colour counts); --per-frame gives each frame its own (GIF only). The
  figures cover the whole animation (bytes, frames, colours, PSNR over all
  frames). --psnr, --quality, --plot and --animate take still images only
  (an animated input fails with exit code 3).

exit codes (a batch exits with the most severe: 1 > 4 > 3 > 99 > 98 > 0):
  0    every file compressed
  1    unexpected internal error
  2    usage error: bad option or value, conflicting options,
       -o with several inputs, - (standard input) as an input (nothing is done)
  3    input error: missing, unreadable, empty, truncated, corrupt or not an
       image, more pixels than --max-pixels; a --palette-from FILE that
       cannot be read or has more than 256 colours (nothing is done)
  4    output error: file exists (without --force), folder missing or not
       writable, output would overwrite an input
  98   skipped by --skip-if-larger (output not smaller than the input)
  99   quality target not reachable: even -k colours (256 without -k) miss
       --psnr TARGET (or the MIN of --quality); nothing is written
  130  interrupted (Ctrl-C); 143 after SIGTERM, 129 after SIGHUP; no
       partial file and no worker process is left

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


def output_format(name):
    """"png" or "gif" from a file name, or None for any other extension."""
    for suffix, fmt in _OUTPUT_FORMATS.items():
        if name.lower().endswith(suffix):
            return fmt
    return None


def parse_ext(text):
    """--ext: a file-name suffix ending in .png or .gif, without a folder."""
    if "/" in text or os.sep in text or (os.altsep and os.altsep in text):
        raise argparse.ArgumentTypeError(f"{text!r} must not contain a folder")
    if output_format(text) is None:
        raise argparse.ArgumentTypeError(f"{text!r} must end in .png or .gif")
    return text


def parse_output(text):
    """-o: a file name ending in .png or .gif."""
    if output_format(text) is None or os.path.basename(text) == "":
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
    shared = parser.add_mutually_exclusive_group()
    shared.add_argument(
        "--shared-palette", action="store_true",
        help="one palette of -k colours for all the inputs, fitted on their "
        "summed colour counts (exactly k-means over every pixel of every "
        "file); every output carries that palette entry for entry (index i "
        "is the same colour in every file)",
    )
    shared.add_argument(
        "--palette-from", metavar="FILE",
        help="map every input onto an existing palette instead of fitting "
        "one: FILE's palette if it is an indexed PNG (tRNS alpha included), "
        "else FILE's distinct colours (at most 256); no -k",
    )
    parser.add_argument(
        "--per-frame", action="store_true",
        help="animated input: a palette of -k colours for each frame instead "
        "of one for the whole animation (a GIF output only: an APNG has one "
        "palette)",
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
        "--workers", type=parse_workers, default=None, metavar="N",
        help="compress N files at once in separate processes (default: one "
        "per core for a batch of several files; 1 works in this process, "
        "which also uses threads)",
    )
    parser.add_argument(
        "--scheduler", metavar="ADDRESS",
        help="run the batch on Dask distributed: tcp://HOST:PORT of a running "
        "scheduler (workers read and write the files at the same paths), or "
        "'local' for a LocalCluster of --workers processes (default 2) for "
        "this run; needs pip install \"dask[distributed]\"",
    )
    parser.add_argument(
        "--max-pixels", type=parse_max_pixels, default=None, metavar="N",
        help="refuse images with more pixels, before decoding (default: "
        f"{DEFAULT_MAX_PIXELS:,})",
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
        "--version", action="version", version=f"%(prog)s (kmeans_core) {__version__}"
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
    shared = ("--shared-palette" if args.shared_palette else
              "--palette-from" if args.palette_from is not None else None)
    if shared is not None:
        if args.palette_from is not None and args.colors is not None:
            raise UsageError("-k cannot be used with --palette-from (the palette "
                             "file gives the colours)")
        for option, used in (("--psnr", args.psnr is not None),
                             ("--quality", args.quality is not None),
                             ("--method minibatch", args.method != "kmeans"),
                             ("--animate", args.animate is not None)):
            if used:
                raise UsageError(f"{option} cannot be used with {shared}")
    if args.scheduler is not None:
        if args.scheduler != "local" and "://" not in args.scheduler:
            raise UsageError(f"--scheduler {args.scheduler!r} is not 'local' or "
                             "an address like tcp://HOST:8786")
        if args.scheduler != "local" and args.workers is not None:
            raise UsageError("--workers is for --scheduler local; a running "
                             "cluster has its own workers")
    if args.per_frame:
        if shared is not None:
            raise UsageError(f"--per-frame cannot be used with {shared}")
        gif = (output_format(args.output) if args.output is not None
               else output_format(args.ext) if args.ext is not None else "png")
        if gif != "gif":
            raise UsageError("--per-frame needs a GIF output (-o NAME.gif or "
                             "--ext .gif): an APNG has one palette for all frames")
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


