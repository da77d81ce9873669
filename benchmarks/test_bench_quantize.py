"""End-to-end colour quantization: our ``quantize`` against pngquant and Pillow.

china.jpg and flower.jpg at k = 16, 64, 256:

- ours: ``kmeans_core.quantize(image, k)``, the default path (k-means on the
  weighted unique colours), timed in this process on the decoded pixels;
- pngquant: ``pngquant --nofs K in.png`` at its default speed, timed as a
  whole process (start-up, PNG decoding and encoding included), as the
  issue's target compares it;
- Pillow: ``Image.quantize`` with median cut and no dithering, in process.

The quality is the MSE (0-255 units, all pixels and channels) of each
result against the original pixels; PSNR and the colours used go beside it.

    python -m pytest benchmarks/test_bench_quantize.py
"""

import numpy as np
import pytest
from conftest import (
    label,
    n_colors,
    pngquant_cmd,
    read_rgb,
    record,
    rounds,
    run,
    save_png,
)
from PIL import Image

from kmeans_core import quantize
from kmeans_core.metrics import mse, psnr

IMPLS = ("ours", "pngquant", "pillow-mediancut")


@pytest.mark.parametrize("impl", IMPLS)
def test_quantize(benchmark, photo, k, impl, image, workdir, request):
    label(benchmark, bench="quantize", case=f"{photo} k={k}", impl=impl)
    if impl == "ours":
        result = benchmark.pedantic(quantize, args=(image, k), rounds=rounds(5),
                                    warmup_rounds=1, iterations=1)
        rgb = result.to_image()
        extra = {"n_iter": result.n_iter, "n_colors_in": result.n_colors_in}
    elif impl == "pngquant":
        exe = request.getfixturevalue("pngquant")
        stem = photo.rsplit(".", 1)[0]
        src = save_png(image, workdir / f"{stem}.png")
        out = workdir / f"{stem}-pngquant-k{k}.png"
        cmd = pngquant_cmd(exe, k, src, out)
        benchmark.pedantic(run, args=(cmd,), rounds=rounds(5), warmup_rounds=1,
                           iterations=1)
        rgb = read_rgb(out)
        extra = {"command": " ".join(map(str, cmd))}
    else:
        pil = Image.fromarray(image)

        def pillow_quantize():
            return pil.quantize(colors=k, method=Image.Quantize.MEDIANCUT,
                                dither=Image.Dither.NONE)

        result = benchmark.pedantic(pillow_quantize, rounds=rounds(5),
                                    warmup_rounds=1, iterations=1)
        rgb = result.convert("RGB")
        extra = {}

    rgb = np.asarray(rgb)
    record(benchmark, quality_name="MSE", quality=mse(image, rgb),
           psnr=psnr(image, rgb), n_colors_out=n_colors(rgb), k=k, **extra)
