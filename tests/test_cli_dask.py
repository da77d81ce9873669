"""``--scheduler``: batches on Dask distributed give what a local batch gives.

A ``LocalCluster`` of 2 worker processes is started here, once for the
module, and ``compress.py`` is pointed at its scheduler address, as a user
points it at ``tcp://HOST:8786``. Outputs (and the JSON figures) must be
byte for byte those of the local process pool. Skipped when Dask is not
installed (``pip install ".[distributed]"``; the dev extra includes it).
"""

import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest
from test_cli import COMPRESS, assert_clean_failure, photo, run, save

distributed = pytest.importorskip(
    "distributed", reason="Dask distributed is not installed: "
    'pip install ".[distributed]" runs these tests')

# Figures that depend on the moment, not on the result.
_TIMES = ("seconds", "cluster_seconds")


@pytest.fixture(scope="module")
def scheduler():
    import logging

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None,
                                  silence_logs=logging.CRITICAL) as cluster:
        yield cluster.scheduler_address


_N_FILES = 200  # the batch of the issue


@pytest.fixture
def batch(tmp_path):
    """200 small images and one corrupt file, in a folder 'in'."""
    folder = tmp_path / "in"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(_N_FILES):
        image = rng.integers(0, 256, size=(6, 8, 3), dtype=np.uint8) // 32 * 32
        save(image, folder / f"img{i:03d}.png")
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    for name in ("dask", "pool"):
        (tmp_path / name).mkdir()
    return tmp_path


def _records(proc, out_dir):
    records = []
    for line in proc.stdout.splitlines():
        record = json.loads(line)
        for key in _TIMES:
            record.pop(key)
        if record["output"]:
            record["output"] = os.path.basename(record["output"])
        records.append(record)
    return records


def _outputs(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _compare(batch, scheduler, *options):
    dask = run(["in", "--out-dir", "dask", "-k", "4", "--json", "--scheduler",
                scheduler, *options], batch)
    pool = run(["in", "--out-dir", "pool", "-k", "4", "--json", "--workers", "2",
                *options], batch)
    assert "Traceback" not in dask.stderr, dask.stderr
    assert dask.returncode == pool.returncode == 3, (dask.stderr, pool.stderr)
    assert dask.stderr == pool.stderr  # the one error line, the same
    assert _records(dask, "dask") == _records(pool, "pool")
    outputs = _outputs(batch / "dask")
    assert len(outputs) == _N_FILES and outputs == _outputs(batch / "pool")
    assert not [p for p in (batch / "dask").iterdir() if p.name.startswith(".")]


def test_batch_byte_identical_to_the_local_pool(batch, scheduler):
    _compare(batch, scheduler)


def test_shared_palette_byte_identical_to_a_local_run(batch, scheduler):
    _compare(batch, scheduler, "--shared-palette")
    palettes = {data[data.index(b"PLTE") - 4:data.index(b"IDAT") - 4]
                for data in _outputs(batch / "dask").values()}
    assert len(palettes) == 1  # one palette, entry for entry


def test_scheduler_local_starts_its_own_cluster(tmp_path):
    for seed in range(3):
        save(photo(20, 16, seed=seed), tmp_path / f"p{seed}.png")
    proc = run(["p0.png", "p1.png", "p2.png", "-k", "4", "--scheduler", "local",
                "--workers", "2", "--ext", ".gif"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert proc.stdout.splitlines()[-1].startswith("3 files: 3 written")
    local = run(["p0.png", "p1.png", "p2.png", "-k", "4", "--ext=-l.gif"],
                tmp_path)
    assert local.returncode == 0
    for seed in range(3):
        assert (tmp_path / f"p{seed}.gif").read_bytes() == (
            tmp_path / f"p{seed}-l.gif").read_bytes()


def test_without_dask_says_how_to_install(tmp_path):
    fake = tmp_path / "fake"
    (fake / "distributed").mkdir(parents=True)
    (fake / "distributed" / "__init__.py").write_text(
        "raise ImportError('No module named distributed')\n")
    save(photo(8, 8), tmp_path / "a.png")
    env = {**os.environ, "PYTHONPATH": str(fake)}
    proc = run(["a.png", "--scheduler", "local"], tmp_path, env=env)
    assert_clean_failure(proc, 2, "--scheduler needs Dask", "pip install")
    assert not (tmp_path / "a-k16.png").exists()


@pytest.mark.parametrize("args,needle", [
    (["--scheduler", "somewhere"], "not 'local' or an address"),
    (["--scheduler", "tcp://127.0.0.1:8786", "--workers", "2"], "--workers is for"),
])
def test_scheduler_usage_errors(tmp_path, args, needle):
    save(photo(8, 8), tmp_path / "a.png")
    assert_clean_failure(run(["a.png", *args], tmp_path), 2, needle)


def test_ctrl_c_cancels_the_remaining_tasks(tmp_path, scheduler):
    names = []
    for i in range(40):
        save(photo(160, 120, seed=i), tmp_path / f"p{i:02d}.png")
        names.append(f"p{i:02d}.png")
    proc = subprocess.Popen(
        [sys.executable, str(COMPRESS), *names, "-k", "64", "--scheduler", scheduler],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = proc.stdout.readline()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert first.startswith("p00.png"), first + err
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1] == "compress.py: interrupted"
    written = sorted(tmp_path.glob("*-k64.png"))
    assert 1 <= len(written) < len(names)
    for path in written:  # every output there is complete
        assert path.read_bytes().endswith(b"IEND\xaeB`\x82")


def test_a_worker_killed_mid_batch_loses_nothing(tmp_path, scheduler):
    """Dask runs the killed worker's task again elsewhere; every output is
    there and whole, none is half-written."""
    names = []
    for i in range(30):
        save(photo(160, 120, seed=i), tmp_path / f"p{i:02d}.png")
        names.append(f"p{i:02d}.png")
    with distributed.Client(scheduler) as client:
        pids = client.run(os.getpid)  # {worker address: pid}
        proc = subprocess.Popen(
            [sys.executable, str(COMPRESS), *names, "-k", "64", "--scheduler",
             scheduler], cwd=tmp_path, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)
        first = proc.stdout.readline()
        os.kill(next(iter(pids.values())), signal.SIGKILL)
        out, err = proc.communicate(timeout=300)
        client.wait_for_workers(2, timeout=60)  # the nanny restarted it
    assert first.startswith("p00.png"), first + err
    assert proc.returncode == 0, err
    assert err == ""  # no Dask log lines either
    assert out.splitlines()[-1].startswith("30 files: 30 written, 0 skipped, 0 failed")
    for name in names:
        data = (tmp_path / name.replace(".png", "-k64.png")).read_bytes()
        assert data.endswith(b"IEND\xaeB`\x82")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
