"""compress.py beside pngquant --nofs on the same files, one run.

Every photo (the bundled samples and scikit-learn's china.jpg) is first
written as a lossless PNG, so both tools read the same pixels from the same
kind of file. Each tool runs as a whole process; PSNR is measured against
those pixels.

    python benchmarks/compare_pngquant.py [k ...]      (default: 16 64 256)
"""

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from kmeans_core.metrics import psnr

ROOT = Path(__file__).resolve().parent.parent


def photos(folder):
    from sklearn.datasets import load_sample_image

    images = {p.stem: np.asarray(Image.open(p).convert("RGB"))
              for p in sorted((ROOT / "samples").glob("*.jpg"))}
    images["china"] = load_sample_image("china.jpg")
    paths = {}
    for name, pixels in images.items():
        paths[name] = folder / f"{name}.png"
        Image.fromarray(pixels).save(paths[name], optimize=True)
    return images, paths


def timed(command):
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    return time.perf_counter() - start, done


def main(ks):
    pngquant = shutil.which("pngquant")
    if pngquant is None:
        sys.exit("pngquant is not installed (Debian: apt-get install pngquant)")
    version = subprocess.run([pngquant, "--version"], capture_output=True,
                             text=True, check=True).stdout.strip()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        images, paths = photos(folder)
        # Warm the numba cache so no row pays compile time.
        subprocess.run([sys.executable, str(ROOT / "compress.py"), str(paths["chelsea"]),
                        "-k", "4", "-o", str(folder / "warm.png"), "-q"], check=True)
        print(f"pngquant {version}, --nofs, default speed; both as whole processes\n")
        print("| photo | k | input PNG bytes | tool | output bytes | ratio | bpp "
              "| PSNR (dB) | seconds |")
        print("|---|---|---|---|---|---|---|---|---|")
        for name, path in paths.items():
            original = images[name]
            n_pixels = original.shape[0] * original.shape[1]
            in_bytes = path.stat().st_size
            for k in ks:
                ours_out = folder / f"{name}-ours-{k}.png"
                seconds, done = timed([sys.executable, str(ROOT / "compress.py"),
                                       str(path), "-k", str(k), "-o", str(ours_out),
                                       "--json"])
                report = json.loads(done.stdout)
                pq_out = folder / f"{name}-pq-{k}.png"
                pq_seconds, _ = timed([pngquant, "--nofs", "--force", str(k),
                                       "-o", str(pq_out), str(path)])
                for tool, out, secs in (("kmeans_core", ours_out, seconds),
                                        ("pngquant", pq_out, pq_seconds)):
                    pixels = np.asarray(Image.open(out).convert("RGB"))
                    size = out.stat().st_size
                    print(f"| {name} | {k} | {in_bytes:,} | {tool} | {size:,} "
                          f"| {in_bytes / size:.2f} | {size * 8 / n_pixels:.2f} "
                          f"| {psnr(original, pixels):.2f} | {secs:.2f} |")
                assert report["status"] == "written", report


if __name__ == "__main__":
    main([int(k) for k in sys.argv[1:]] or [16, 64, 256])
