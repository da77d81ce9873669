"""RGB vs OKLab clustering, measured (issue 7): a plain script.

For each of ``samples/*.jpg`` and scikit-learn's china.jpg, at k = 16 and 64,
``kmeans_core.quantize`` is run with ``color_space="rgb"`` and ``"oklab"``
(seed 0, all other options at their defaults) and the result compared with
the original in two ways:

- mean ΔE_OK: the Euclidean distance in OKLab between each pixel and its
  palette colour, averaged over pixels (``kmeans_core.color.delta_e_ok``;
  about 0.02 is a just noticeable difference),
- PSNR in dB over the RGB values (``kmeans_core.metrics.psnr``).

Lower ΔE_OK and higher PSNR are better. The table is printed as markdown;
seconds are those of ``quantize`` (numba compiled before: one warm-up call).
With ``--dither`` a second table gives the same figures with
``dither=1.0``.

    OMP_WAIT_POLICY=passive python benchmarks/perceptual.py [--dither]
"""

import argparse
import os
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
from sklearn.datasets import load_sample_image

from kmeans_core import load_image, quantize
from kmeans_core.color import delta_e_ok
from kmeans_core.metrics import psnr

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
K_VALUES = (16, 64)


def images():
    """(name, (H, W, 3) uint8) of the sample photos and china.jpg."""
    found = [(path.stem, load_image(path).pixels)
             for path in sorted(SAMPLES.glob("*.jpg"))]
    return found + [("china", load_sample_image("china.jpg"))]


def measure(image, k, color_space, dither):
    result = quantize(image, k, color_space=color_space, dither=dither)
    out = result.to_image()
    return delta_e_ok(image[..., :3], out[..., :3]), psnr(image, out), result.seconds


def table(dither):
    title = "dither=1.0" if dither else "no dithering"
    print(f"\n{title}\n")
    print("| image | k | ΔE_OK rgb | ΔE_OK oklab | change | PSNR rgb (dB) "
          "| PSNR oklab (dB) | s rgb | s oklab |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    changes = []
    for name, image in images():
        for k in K_VALUES:
            de_rgb, p_rgb, s_rgb = measure(image, k, "rgb", dither)
            de_ok, p_ok, s_ok = measure(image, k, "oklab", dither)
            change = de_ok / de_rgb - 1
            changes.append(change)
            print(f"| {name} | {k} | {de_rgb:.4f} | {de_ok:.4f} | {100 * change:+.1f}% "
                  f"| {p_rgb:.2f} | {p_ok:.2f} | {s_rgb:.2f} | {s_ok:.2f} |",
                  flush=True)
    print(f"\nmean ΔE_OK change rgb -> oklab: {100 * np.mean(changes):+.1f}%")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dither", action="store_true",
                        help="also print the table with dither=1.0")
    args = parser.parse_args()
    warm = np.random.default_rng(0).integers(0, 256, (16, 16, 3), np.uint8)
    for color_space in ("rgb", "oklab"):  # compile before timing
        quantize(warm, 4, color_space=color_space, dither=1.0)
    table(None)
    if args.dither:
        table(1.0)


if __name__ == "__main__":
    main()
