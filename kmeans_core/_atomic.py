"""Writing a file whole or not at all: a temporary file beside the target,
renamed into place.

The one atomic writer of the package: the command line's outputs and
``plotting``'s figures reach the disk through ``save_atomic``. Whatever
happens while a file is written (an error, a ``KeyboardInterrupt``), either
the target holds the whole file or it is untouched, and the temporary file
is gone.

A process that must end at once, without unwinding (the command line's stop
signal handler, which leaves with ``os._exit``), calls ``remove_unfinished``:
every temporary file this process is writing is listed from before it is
created until it is renamed into place or removed, so none is left behind.
A process killed outright (SIGKILL) cannot clean up: its parent removes
what it may have left with ``remove_leftovers``.
"""

import os
import secrets

# Temporary files this process is writing (paths; a path may not exist yet).
_unfinished = set()


class WriteError(OSError):
    """A file cannot be written; the message is one line and names it."""


class TargetExistsError(WriteError, FileExistsError):
    """The target exists and replacing it was not asked for."""


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _temp_affixes(target):
    """(folder, prefix, suffix) of the temporary files of ``target``:
    ``.NAME.xxxxxxxx.tmp.png`` beside it."""
    folder = os.path.dirname(os.path.abspath(target))
    name = os.path.basename(target)
    # A short prefix: the temporary name must stay within the file system's
    # limit even when the output name is near it.
    return folder, f".{name[:64]}.", ".tmp" + os.path.splitext(name)[1]


def _new_temp(target):
    """Create a new empty temporary file beside ``target``; its path, listed
    in ``_unfinished`` before the file exists."""
    folder, prefix, suffix = _temp_affixes(target)
    while True:
        path = os.path.join(folder, prefix + secrets.token_hex(4) + suffix)
        _unfinished.add(path)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            _unfinished.discard(path)
            continue
        except OSError as exc:
            _unfinished.discard(path)
            raise WriteError(
                f"cannot write in folder {folder}: {exc.strerror or exc}") from None
        os.close(fd)
        return path


def _install(tmp, target, *, force):
    """Rename the finished temporary file ``tmp`` to ``target``.

    Without ``force`` the file is hard-linked into place, which fails rather
    than replace a file that appeared meanwhile (on a file system without
    hard links: checked, then renamed).
    """
    exists = TargetExistsError(f"output {target} exists")
    if not force and os.path.lexists(target):
        raise exists
    try:
        # The temporary file is 0600; an image gets the usual mode.
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
        if isinstance(exc, WriteError):
            raise
        raise WriteError(f"cannot write {target}: {exc.strerror or exc}") from None


def save_atomic(save, target, *, force):
    """Call ``save(path)`` to write a temporary file beside ``target``, then
    rename it into place; returns what ``save`` returns.

    Raises ``TargetExistsError`` when ``target`` exists (or appears while
    ``save`` runs) and ``force`` is false, ``WriteError`` when the folder or
    the file cannot be written; both with a one-line message naming the file.
    """
    tmp = _new_temp(target)
    try:
        try:
            result = save(tmp)
        except OSError as exc:
            message = one_line_cause(exc, tmp)
            if not message.startswith("cannot "):
                message = f"cannot write {target}: {message}"
            raise WriteError(message) from None
        _install(tmp, target, force=force)
        return result
    finally:
        _remove_quietly(tmp)  # gone already once installed
        _unfinished.discard(tmp)


def write_atomic(data, target, *, force, same_ok=False):
    """Write the bytes ``data`` to ``target`` through ``save_atomic``.

    ``same_ok``: a ``target`` that already holds exactly ``data`` is left as
    it is instead of refused (a task run again after its first run wrote it).
    """
    if same_ok and not force and _holds(target, data):
        return

    def write(path):
        with open(path, "wb") as fh:
            fh.write(data)

    save_atomic(write, target, force=force)


def _holds(path, data):
    """Whether the regular file ``path`` holds exactly ``data``."""
    try:
        if not os.path.isfile(path) or os.path.getsize(path) != len(data):
            return False
        with open(path, "rb") as fh:
            return fh.read() == data
    except OSError:
        return False


def remove_unfinished():
    """Remove every temporary file this process is writing (see the module
    notes); for a process about to end without unwinding."""
    for path in list(_unfinished):
        _remove_quietly(path)


def remove_leftovers(targets):
    """Remove the temporary files that writing ``targets`` may have left (a
    process killed while writing them): every ``.NAME.xxxxxxxx.tmp.EXT``
    beside each target."""
    for target in targets:
        if target is None:
            continue
        folder, prefix, suffix = _temp_affixes(target)
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        for name in names:
            # The random part is 8 characters.
            if (name.startswith(prefix) and name.endswith(suffix)
                    and len(name) == len(prefix) + 8 + len(suffix)):
                _remove_quietly(os.path.join(folder, name))


def _remove_quietly(path):
    try:
        os.remove(path)
    except OSError:
        pass


def one_line_cause(exc, path):
    """The message of ``exc`` on one line, without a leading file name."""
    def squash(text):  # runs of white space (a newline too) -> " "
        return " ".join(text.split())

    message = squash(str(exc)) or type(exc).__name__
    for name in (path, repr(path), os.path.abspath(path)):
        prefix = squash(name) + ": "
        if message.startswith(prefix):
            return message[len(prefix):]
    return message
