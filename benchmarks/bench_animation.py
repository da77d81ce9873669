"""One palette for an animation: compress.py beside ffmpeg's palettegen/paletteuse.

The animation is rendered here from a bundled sample: a camera pan and zoom
across samples/astronaut.jpg, 24 frames of 256 x 192, written as lossless
PNG frames (what ffmpeg reads) and as an APNG (what compress.py reads), so
both tools start from the same pixels. Each tool writes an animated GIF with
one palette of K colours for all frames and no dithering:

- ffmpeg: ``-filter_complex "split[a][b];[a]palettegen=max_colors=K:
  stats_mode=full:reserve_transparent=0[p];[b][p]paletteuse=dither=none"``
  (Heckbert's median cut on the colour histogram of all frames);
- compress.py: ``-k K`` (k-means on the summed colour counts of all frames).

Both run as whole processes (start-up included; compress.py is run once
first so numba's cache is warm), one run each. MSE is measured over every
pixel of every frame of the written GIF against the rendered frames, in
0-255 units.

    python benchmarks/bench_animation.py [k ...]      (default: 16 64 256)
"""

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from kmeans_core.io import load_animation

ROOT = Path(__file__).resolve().parent.parent
N_FRAMES, WIDTH, HEIGHT = 24, 256, 192


def render(folder):
    """The frames (list of (H, W, 3) uint8), saved as PNGs and as one APNG."""
    source = Image.open(ROOT / "samples" / "astronaut.jpg").convert("RGB")
    frames = []
    for i in range(N_FRAMES):
        t = i / (N_FRAMES - 1)
        scale = 1.0 - 0.35 * t  # zoom in while panning right and down
        w, h = 512 * scale, 384 * scale
        left, top = t * (512 - w), t * (512 - h)
        crop = source.resize((WIDTH, HEIGHT), Image.Resampling.LANCZOS,
                             box=(left, top, left + w, top + h))
        crop.save(folder / f"f{i:03d}.png")
        frames.append(np.asarray(crop))
    images = [Image.fromarray(f) for f in frames]
    images[0].save(folder / "clip.png", save_all=True, append_images=images[1:],
                   duration=100, loop=0)
    return frames


def mse_of(path, frames):
    written = load_animation(path).frames
    assert len(written) == len(frames), (path, len(written))
    total = sum(np.sum((w[..., :3].astype(np.int64) - f) ** 2)
                for w, f in zip(written, frames))
    return total / sum(f.size for f in frames)


def timed(command, cwd):
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - start


def main(ks):
    if shutil.which("ffmpeg") is None:
        sys.exit("ffmpeg not found (Debian package ffmpeg)")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        frames = render(folder)
        compress = [sys.executable, str(ROOT / "compress.py"), "clip.png", "-q",
                    "--force"]
        subprocess.run([*compress, "-k", "16", "-o", "warm.gif"], cwd=folder,
                       check=True)  # numba's cache filled before timing
        print(f"{N_FRAMES} frames of {WIDTH} x {HEIGHT} (astronaut pan), "
              "one palette, no dithering, animated GIF out\n")
        print("| k | ffmpeg s | compress.py s | ffmpeg MSE | compress.py MSE | "
              "ffmpeg bytes | compress.py bytes |")
        print("|---:|---:|---:|---:|---:|---:|---:|")
        for k in ks:
            graph = (f"[0:v]split[a][b];[a]palettegen=max_colors={k}:"
                     "stats_mode=full:reserve_transparent=0[p];"
                     "[b][p]paletteuse=dither=none")
            ff = timed(["ffmpeg", "-v", "error", "-y", "-framerate", "10", "-i",
                        "f%03d.png", "-filter_complex", graph, f"ff{k}.gif"], folder)
            ours = timed([*compress, "-k", str(k), "-o", f"km{k}.gif"], folder)
            print(f"| {k} | {ff:.2f} | {ours:.2f} | "
                  f"{mse_of(folder / f'ff{k}.gif', frames):.2f} | "
                  f"{mse_of(folder / f'km{k}.gif', frames):.2f} | "
                  f"{(folder / f'ff{k}.gif').stat().st_size:,} | "
                  f"{(folder / f'km{k}.gif').stat().st_size:,} |", flush=True)


if __name__ == "__main__":
    main([int(k) for k in sys.argv[1:]] or [16, 64, 256])
