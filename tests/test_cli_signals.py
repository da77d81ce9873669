"""Stop signals and faults: signals to the command, a worker killed.

Each batch test runs ``compress.py`` in its own session (so a signal can go
to the whole process group, as a terminal sends Ctrl-C), waits until the
batch is under way, stops or breaks it, and checks what is left: the exit
code, no temporary file, no process of the session alive, no file written
after the stop. Every wait is on a condition (an output appears, a process
ends) with a generous deadline (10 s, not the 2 s the command aims for:
the machine may be busy), never a fixed sleep. Once no process of the
session is alive, nothing can write any more: that is checked, not waited
for. The other tests stage a signal at one exact moment in a small Python
process (``run_script``). ``benchmarks/stress_signals.py`` sends hundreds of
signals at random moments.
"""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
COMPRESS = ROOT / "compress.py"

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="reads /proc to find processes")


def make_batch(folder, n_files, size=160):
    """``n_files`` noisy photos of ``size`` x ``size`` pixels in ``folder``."""
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(n_files):
        y, x = np.mgrid[0:size, 0:size]
        rgb = np.stack([x, y, (x + y) // 2], axis=2) + rng.normal(0, 30, (size, size, 3))
        Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8)).save(
            folder / f"img{i:03d}.png")
    return folder


def start(args, cwd):
    """compress.py in a new session (its own process group)."""
    return subprocess.Popen(
        [sys.executable, str(COMPRESS), *map(str, args)], cwd=cwd,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True)


def session_processes(sid):
    """Pids of the live (not zombie) processes of session ``sid``."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm)"
        if int(fields[3]) == sid and fields[0] != "Z":
            pids.append(int(entry.name))
    return pids


def children(pid):
    return [p for p in session_processes(pid) if p != pid]


def wait_for(condition, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def outputs(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.endswith("-k16.png"))


def leftovers(folder):
    """Temporary files (hidden .NAME.xxxx.tmp.png and the like)."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def under_way(proc, out, n_done=1):
    """Wait until ``n_done`` outputs are written and workers are running."""
    wait_for(lambda: len(outputs(out)) >= n_done or proc.poll() is not None)
    assert proc.poll() is None, "the batch ended before it could be stopped"


def assert_stopped_cleanly(proc, out, sid, code, n_before=None):
    """Exit ``code`` within 10 s, one line and no traceback, no temporary
    file, no process left, and no file started after the stop: at most one
    per worker finishes after ``n_before`` were written."""
    try:
        _, err = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(sid, signal.SIGKILL)
        raise
    assert proc.returncode == code, err
    assert "Traceback" not in err, err
    wait_for(lambda: not session_processes(sid), timeout=10)
    written = outputs(out)
    assert leftovers(out) == []
    if n_before is not None:
        # The race between the stop and the two workers: each may finish
        # the file it held when the signal came, no more.
        assert len(written) <= n_before + 2, (n_before, written)
    return err, written


@pytest.fixture(autouse=True)
def no_stray_processes():
    """Whatever a test does, kill what it started (an old version of the
    command would leave orphan workers)."""
    started = []
    real_popen = subprocess.Popen

    def popen(*args, **kwargs):
        proc = real_popen(*args, **kwargs)
        started.append(proc.pid)
        return proc

    subprocess.Popen = popen
    try:
        yield
    finally:
        subprocess.Popen = real_popen
        for sid in started:
            for pid in session_processes(sid):
                os.kill(pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    return make_batch(tmp_path_factory.mktemp("signals") / "in", 40)


@pytest.mark.parametrize("signum, code, to_group, times", [
    (signal.SIGINT, 130, True, 1),   # Ctrl-C in a terminal: the whole group
    (signal.SIGINT, 130, True, 3),   # Ctrl-C, Ctrl-C, Ctrl-C
    (signal.SIGINT, 130, False, 1),  # kill -INT PID
    (signal.SIGTERM, 143, False, 1),  # kill, timeout, docker stop
    (signal.SIGTERM, 143, True, 1),  # kill -TERM -PGID
    (signal.SIGHUP, 129, True, 1),   # the terminal closed
])
def test_signal_stops_a_batch_of_workers(batch, tmp_path, signum, code, to_group,
                                         times):
    out = tmp_path / "out"
    out.mkdir()
    proc = start([batch, "--out-dir", out, "-k", "16", "--workers", "2"], tmp_path)
    under_way(proc, out)
    assert len(children(proc.pid)) == 2
    n_before = len(outputs(out))
    for _ in range(times):  # at once: a second Ctrl-C must not cut the first short
        (os.killpg if to_group else os.kill)(proc.pid, signum)
    err, written = assert_stopped_cleanly(proc, out, proc.pid, code, n_before)
    assert err.rstrip().splitlines()[-1].startswith("compress.py: ")
    assert len(written) < 40


def test_parent_killed_leaves_no_worker(batch, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    proc = start([batch, "--out-dir", out, "-k", "16", "--workers", "2"], tmp_path)
    under_way(proc, out)
    workers = children(proc.pid)
    assert len(workers) == 2
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    # The workers notice their parent is gone and stop (about 0.25 s).
    wait_for(lambda: not session_processes(proc.pid), timeout=10)
    assert len(outputs(out)) < 40
    assert leftovers(out) == []


def test_a_killed_worker_costs_only_its_file(batch, tmp_path):
    """A worker killed (SIGKILL) fails its file only; the batch goes on.

    The race it accepts two outcomes of: the worker killed in the instant
    after it put a file's output in place and before it reported it. The
    file then counts as failed although its output is whole (the parent
    cannot tell that from a file not finished)."""
    out = tmp_path / "out"
    out.mkdir()
    proc = start([batch, "--out-dir", out, "-k", "16", "--workers", "2"], tmp_path)
    under_way(proc, out, n_done=2)
    victim = children(proc.pid)[0]
    os.kill(victim, signal.SIGKILL)
    stdout, stderr = proc.communicate(timeout=120)
    errors = stderr.splitlines()
    # The worker almost always holds a file; if it was between two, nothing
    # is lost at all. In the race above, all 40 outputs are there, the
    # failed one's complete.
    assert len(errors) <= 1, stderr
    assert proc.returncode == (1 if errors else 0), stderr
    if errors:
        assert "worker process compressing it died (killed by SIGKILL)" in errors[0]
    written = outputs(out)
    assert len(written) in (40 - len(errors), 40)
    if len(written) == 40 and errors:
        failed = errors[0].split(": ")[2]
        name = Path(failed).name.replace(".png", "-k16.png")
        with Image.open(out / name) as image:
            image.load()  # whole: written through a temporary file
    assert stdout.splitlines()[-1].startswith(
        f"40 files: {40 - len(errors)} written, 0 skipped, {len(errors)} failed")
    assert leftovers(out) == []
    assert not session_processes(proc.pid)


def test_sigterm_on_one_file_leaves_no_temporary_file(tmp_path):
    # --plot draws for a second or more after the image is written, into a
    # temporary file: the signal lands there.
    folder = make_batch(tmp_path / "one", 1, size=400)
    proc = start(["img000.png", "-k", "16", "--plot", "report.png"], folder)
    wait_for(lambda: (folder / "img000-k16.png").exists() or proc.poll() is not None)
    os.kill(proc.pid, signal.SIGTERM)
    assert_stopped_cleanly(proc, folder, proc.pid, 143)
    assert not (folder / "report.png").exists()


@pytest.mark.skipif(shutil.which("nohup") is None, reason="needs nohup (coreutils)")
def test_nohup_keeps_sighup_ignored(batch, tmp_path):
    # nohup starts the command with SIGHUP ignored: it stays ignored, and
    # the batch (its workers too) finishes when the terminal closes.
    out = tmp_path / "out"
    out.mkdir()
    proc = subprocess.Popen(
        ["nohup", sys.executable, str(COMPRESS), str(batch), "--out-dir", str(out),
         "-k", "16", "--workers", "2", "-q"], cwd=tmp_path, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, start_new_session=True)
    under_way(proc, out)
    os.killpg(proc.pid, signal.SIGHUP)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert len(outputs(out)) == 40 and leftovers(out) == []


def run_script(script, tmp_path):
    """Run ``script`` in a new Python process in ``tmp_path``."""
    return subprocess.run([sys.executable, "-c", script], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, check=False)


_CALL_BACK_FROM_C = """
import ctypes, os, signal, sys
from kmeans_core.cli import _signals
_signals.install("compress.py")
compare = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)
def callback(a, b):
    os.kill(os.getpid(), signal.SIGTERM)
    for _ in range(100_000):  # the handler runs here, inside the callback
        pass
    return 0
values = (ctypes.c_int * 2)(2, 1)
ctypes.CDLL(None).qsort(values, 2, ctypes.sizeof(ctypes.c_int), compare(callback))
print("not stopped")
"""


def test_a_stop_inside_a_callback_from_c_ends_the_command(tmp_path):
    # llvmlite calls back into Python while numba loads a kernel from its
    # cache: an exception could not leave such a callback (Python would
    # print "Exception ignored" and go on). The handler raises none.
    proc = run_script(_CALL_BACK_FROM_C, tmp_path)
    assert (proc.returncode, proc.stdout) == (143, "")
    assert proc.stderr == "compress.py: terminated (SIGTERM)\n"


def test_a_stop_inside_an_import_ends_the_command(tmp_path):
    # A Ctrl-C in the first 0.3 s lands in an import (numpy's, numba's):
    # one line and exit 130, no traceback from the middle of the import.
    (tmp_path / "slow_module.py").write_text(
        "import os, signal\n"
        "os.kill(os.getpid(), signal.SIGINT)\n"
        "for _ in range(100_000):\n    pass\n")
    proc = run_script("from kmeans_core.cli import _signals\n"
                      "_signals.install('compress.py')\n"
                      "import slow_module\n"
                      "print('not stopped')\n", tmp_path)
    assert (proc.returncode, proc.stdout) == (130, "")
    assert proc.stderr == "compress.py: interrupted\n"


_STOP_WHILE_CREATING = """
import os, signal, sys
from kmeans_core import _atomic
from kmeans_core.cli import _signals
real_open = os.open
def open_then_stop(path, flags, *args):
    fd = real_open(path, flags, *args)
    os.kill(os.getpid(), signal.SIGTERM)  # the file exists, its name not returned
    return fd
_atomic.os.open = open_then_stop
if sys.argv[1] == "worker":
    _signals.worker()
else:
    _signals.install("compress.py")
_atomic.write_atomic(b"data", "out/x.png", force=False)
print("not stopped")
"""


@pytest.mark.parametrize("process", ["command", "worker"])
def test_a_stop_while_the_temporary_file_is_created_leaves_none(tmp_path, process):
    (tmp_path / "out").mkdir()
    proc = subprocess.run([sys.executable, "-c", _STOP_WHILE_CREATING, process],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          check=False)
    assert (proc.returncode, proc.stdout) == (143, "")
    assert proc.stderr == ("" if process == "worker"
                           else "compress.py: terminated (SIGTERM)\n")
    assert os.listdir(tmp_path / "out") == []


def test_signals_held_back_across_a_fork_reach_the_new_handlers(tmp_path):
    # A worker is forked with the stop signals blocked, so a signal in that
    # instant waits for the worker's own handlers: SIGINT is ignored there.
    proc = run_script(
        "import os, signal\n"
        "from kmeans_core.cli import _signals\n"
        "_signals.install('compress.py')\n"
        "with _signals.blocked():\n"
        "    pid = os.fork()\n"
        "    if pid == 0:\n"
        "        os.kill(os.getpid(), signal.SIGINT)  # held back\n"
        "        _signals.worker()  # ignores it, then unblocks\n"
        "        os._exit(7)\n"
        "print(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))\n", tmp_path)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "7\n", "")
