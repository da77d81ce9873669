"""A batch of 500 small photos: Dask (--scheduler local) vs the local pool vs a
pngquant loop, one run each.

The photos are 96 x 72 crops of the bundled samples, written as PNGs. Each
contender is timed as whole processes (start-up included; compress.py runs
once first so numba's cache is warm):

- ``compress.py DIR -k 16 --scheduler local --workers 2`` (a LocalCluster of
  2 worker processes, started and stopped by the command);
- ``compress.py DIR -k 16 --workers 2`` (the local process pool);
- ``pngquant --nofs 16`` once per file, in a shell loop, one at a time, as
  people run it on collections.

The engine's overhead per file is (Dask - pool) / files.

    python benchmarks/bench_distributed.py [n_files]      (default: 500)
"""

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent


def make_photos(folder, n_files):
    sources = [np.asarray(Image.open(p).convert("RGB"))
               for p in sorted((ROOT / "samples").glob("*.jpg"))]
    rng = np.random.default_rng(0)
    for i in range(n_files):
        image = sources[i % len(sources)]
        top = int(rng.integers(0, image.shape[0] - 72))
        left = int(rng.integers(0, image.shape[1] - 96))
        Image.fromarray(image[top:top + 72, left:left + 96]).save(
            folder / f"p{i:04d}.png")


def timed(command, cwd, **kwargs):
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=False, capture_output=True, **kwargs)
    return time.perf_counter() - start


def main(n_files):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "in").mkdir()
        make_photos(folder / "in", n_files)
        compress = [sys.executable, str(ROOT / "compress.py"), "in", "-k", "16",
                    "-q", "--force"]
        for name in ("warm", "dask", "pool", "pngquant"):
            (folder / name).mkdir()
        subprocess.run([*compress[:3], "in/p0000.png", "-q", "--out-dir", "warm"],
                       cwd=folder, check=True)
        results = {
            "dask": timed([*compress, "--out-dir", "dask", "--scheduler", "local",
                           "--workers", "2"], folder),
            "pool": timed([*compress, "--out-dir", "pool", "--workers", "2"], folder),
        }
        if shutil.which("pngquant"):
            loop = ('for f in in/*.png; do pngquant --nofs --force 16 "$f" '
                    '--output "pngquant/$(basename "$f")"; done')
            results["pngquant"] = timed(["bash", "-c", loop], folder)
        same = all((folder / "dask" / p.name).read_bytes() == p.read_bytes()
                   for p in (folder / "pool").iterdir())
        written = len(list((folder / "dask").iterdir()))
    print(f"{n_files} photos of 96 x 72, -k 16, one run; Dask outputs identical "
          f"to the pool's: {same} ({written} files)\n")
    print("| contender | seconds | ms per file |")
    print("|---|---:|---:|")
    labels = {"dask": "compress.py --scheduler local --workers 2",
              "pool": "compress.py --workers 2",
              "pngquant": "pngquant --nofs 16, shell loop"}
    for key, seconds in results.items():
        print(f"| {labels[key]} | {seconds:.2f} | {1000 * seconds / n_files:.1f} |")
    overhead = (results["dask"] - results["pool"]) / n_files
    print(f"\nDask's overhead: {1000 * overhead:.1f} ms per file")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 500)
