"""Make docs/images/dither.png: a crop quantized to a few colours, without and
with Floyd–Steinberg dithering.

Run from the repository root:

    python docs/make_dither_figure.py

The palette is found by ``kmeans_core.quantize`` on the whole sample
photo, then the crop is mapped onto it by ``kmeans_core.dither.dither`` at
levels 0 (nearest colour), 0.5 and 1. Prints, for each panel, the RMS error of
8 x 8 block averages against the original crop (how far the colours seen from
a distance are off: banding) next to the plain per-pixel PSNR. The figure is
an indexed PNG: the panels' own palette plus the crop's colours quantized by
kmeans_core, drawn 2x with nearest-neighbour scaling so the dither pattern
stays visible.
"""

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kmeans_core import quantize
from kmeans_core.dither import dither
from kmeans_core.io import load_image
from kmeans_core.metrics import psnr

SAMPLE = ROOT / "samples" / "coffee.jpg"
OUT = ROOT / "docs" / "images" / "dither.png"
N_COLORS = 8
CROP = (slice(40, 200), slice(190, 390))  # rows, columns: the cup and its crema
LEVELS = (0.0, 0.5, 1.0)
SCALE = 2
GAP = 6
LABEL_HEIGHT = 18


def block_rms(a, b, size=8):
    """RMS difference of the size x size block means of two images."""
    h, w, c = a.shape
    h, w = h - h % size, w - w % size

    def means(x):
        x = x[:h, :w].astype(np.float64)
        return x.reshape(h // size, size, w // size, size, c).mean(axis=(1, 3))

    return float(np.sqrt(np.mean((means(a) - means(b)) ** 2)))


def main():
    from PIL import Image, ImageDraw

    pixels = load_image(SAMPLE).pixels
    palette = quantize(pixels, N_COLORS).palette
    crop = pixels[CROP]

    panels = []  # (label, indices into the figure palette)
    # The original crop: its own colours, quantized to what the figure
    # palette has left (256 - N_COLORS - 2 for the background and the text).
    original = quantize(crop, 256 - N_COLORS - 2)
    offset = N_COLORS + 2
    panels.append(("original", original.indices.astype(np.int64) + offset))
    print(f"{SAMPLE.name} crop {crop.shape[1]} x {crop.shape[0]}, "
          f"palette of {N_COLORS} colours from the whole photo")
    for level in LEVELS:
        indices = dither(crop, palette, level=level)
        result = palette[indices]
        label = "no dithering" if level == 0 else f"dither level {level:g}"
        print(f"  {label:17s} 8x8 block RMS {block_rms(crop, result):5.2f}   "
              f"PSNR {psnr(crop, result):5.2f} dB")
        panels.append((f"{N_COLORS} colours, {label}", indices.astype(np.int64)))

    white, black = N_COLORS, N_COLORS + 1
    fig_palette = np.concatenate(
        [palette, [[255, 255, 255], [0, 0, 0]], original.palette]
    ).astype(np.uint8)
    height, width = crop.shape[0] * SCALE, crop.shape[1] * SCALE
    canvas = np.full((LABEL_HEIGHT + height, len(panels) * (width + GAP) - GAP),
                     white, dtype=np.uint8)
    for i, (_, indices) in enumerate(panels):
        big = np.kron(indices, np.ones((SCALE, SCALE), dtype=np.int64))
        x = i * (width + GAP)
        canvas[LABEL_HEIGHT:, x: x + width] = big
    image = Image.fromarray(canvas, mode="P")
    image.putpalette(fig_palette.tobytes())
    draw = ImageDraw.Draw(image)
    for i, (label, _) in enumerate(panels):
        draw.text((i * (width + GAP) + 4, 3), label, fill=black)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    image.save(OUT, optimize=True)
    print(f"{OUT.relative_to(ROOT)}: {image.width} x {image.height}, "
          f"{OUT.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
