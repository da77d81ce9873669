"""Files: finding the inputs, naming and checking the outputs, writing them.

``expand_inputs`` turns folders into image files; ``plan_jobs`` names each
output and checks what can be checked before any clustering (a file that
fails here costs nothing). Outputs are written by the package's one atomic
writer, ``kmeans_core._atomic``.
"""

import os
import re
import stat
from dataclasses import dataclass

from ._args import UsageError, output_format
from ._report import EXIT_INPUT, EXIT_OUTPUT, failed

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
    # --shared-palette / --palette-from: the palette every output carries,
    # (n, 3|4) uint8, where it came from ("shared" or the file) and the
    # iterations of the shared fit.
    palette: object = None
    palette_source: str | None = None
    palette_n_iter: int = 0
    per_frame: bool = False  # --per-frame: a palette per frame of an animation
    # A task that may run twice (Dask retries it when its worker dies): an
    # output already holding exactly its bytes counts as written.
    rerun_safe: bool = False

    def targets(self):
        """The files this job writes: the output, and the figures asked for."""
        return [t for t in (self.output, self.plot, self.animate) if t is not None]


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

    def add(path, key=None):
        key = os.path.realpath(path) if key is None else key
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
                real_folder = os.path.realpath(folder)  # once, not once per file
                for name in sorted(names):
                    if (
                        not name.startswith(".")
                        and os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS
                        and not _is_own_output(name, ext)
                    ):
                        file = os.path.join(folder, name)
                        key = _file_key(file, real_folder, name)
                        if key is not None:
                            found.append((file, key))
            if not found:
                hint = "" if recursive else " (--recursive searches sub-folders)"
                failures.append(
                    failed(path, None, EXIT_INPUT, f"no image files in folder{hint}")
                )
            for name, key in found:
                add(os.path.normpath(name), key)
        else:
            problem = _missing(path)
            if problem is None:
                add(path)
            else:
                failures.append(failed(path, None, EXIT_INPUT, problem))
    return files, failures


def _file_key(path, real_folder, name):
    """``os.path.realpath(path)`` if ``path`` is a file (or a link to one),
    else None; one ``lstat`` for a plain file."""
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        return None
    if stat.S_ISREG(mode):
        return os.path.join(real_folder, name)
    if stat.S_ISLNK(mode) and os.path.isfile(path):
        return os.path.realpath(path)
    return None


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


class _Inputs:
    """The inputs of a batch, to ask in constant time whether a path is one.

    Two files are the same when ``os.path.samefile`` says so (device and
    inode), or, when one of them cannot be examined, when their real paths
    are equal: what comparing a path with every input would find, for one
    ``stat`` per input instead of two per pair (1,000 files took 14 s).
    """

    def __init__(self, paths):
        self.by_inode, self.unseen = {}, {}
        for index, path in enumerate(paths):
            try:
                info = os.stat(path)
            except OSError:  # gone meanwhile: compared by its real path
                self.unseen.setdefault(os.path.realpath(path), (index, path))
            else:
                self.by_inode.setdefault((info.st_dev, info.st_ino), (index, path))

    def find(self, target):
        """The first input that is the same file as ``target``, or None.

        A target that does not exist can only share its real path with an
        input that does not exist either: no real path is computed unless
        some input could not be examined.
        """
        try:
            info = os.stat(target)
        except OSError:
            matches = []
        else:
            matches = [self.by_inode.get((info.st_dev, info.st_ino))]
        if self.unseen:
            matches.append(self.unseen.get(os.path.realpath(target)))
        matches = [m for m in matches if m is not None]
        return min(matches)[1] if matches else None


def _folder_problem(folder):
    """None if files can be written in ``folder``, else what is wrong."""
    if not os.path.isdir(folder):
        return "is not a folder" if os.path.exists(folder) else "does not exist"
    if not os.access(folder, os.W_OK | os.X_OK):
        return "is not writable"
    return None


def check_output(target, *, inputs, force, folders=None):
    """None if ``target`` may be written, else the reason (exit code 4).

    ``inputs`` is an ``_Inputs``; ``folders``, if given, a dict that keeps
    what was found about each output folder (a batch asks once per folder).
    """
    folder = os.path.dirname(os.path.abspath(target))
    if folders is None:
        folders = {}
    if folder not in folders:
        folders[folder] = _folder_problem(folder)
    if folders[folder] is not None:
        return f"output folder {folder} {folders[folder]}"
    path = inputs.find(target)
    if path is not None:
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
                failed(args.out_dir, None, EXIT_OUTPUT, f"output folder {problem}")
            )
            return [], failures
    jobs, claimed = [], {}
    inputs, folders = _Inputs(files), {}
    for path in files:
        target = output_path(
            path, n_colors=args.colors, output=args.output,
            out_dir=args.out_dir, ext=args.ext, psnr_target=args.psnr_target,
            psnr_min=args.psnr_min,
        )
        if not os.path.isfile(path):
            failures.append(failed(path, target, EXIT_INPUT, "not a regular file"))
            continue
        problem = check_output(target, inputs=inputs, force=args.force,
                               folders=folders)
        key = os.path.normcase(os.path.abspath(target))
        if problem is None and key in claimed:
            problem = f"output {target} is also the output of {claimed[key]}"
        for extra in (args.plot, args.animate):
            if problem is None and extra is not None:
                problem = check_output(extra, inputs=inputs, force=args.force,
                                       folders=folders)
                if problem is None and _same_file(extra, target):
                    problem = f"{extra} is also the output"
        if problem is not None:
            failures.append(failed(path, target, EXIT_OUTPUT, problem))
            continue
        claimed[key] = path
        jobs.append(Job(
            index=len(jobs), input=path, output=target, fmt=output_format(target),
            n_colors=args.colors, method=args.method, seed=args.seed,
            max_pixels=args.max_pixels, force=args.force,
            skip_if_larger=args.skip_if_larger, keep_metadata=args.keep_metadata,
            plot=args.plot, animate=args.animate, color_space=args.color_space,
            dither=args.dither, psnr_target=args.psnr_target, psnr_min=args.psnr_min,
            palette=getattr(args, "palette", None),
            palette_source=args.palette_from, per_frame=args.per_frame,
        ))
    return jobs, failures
