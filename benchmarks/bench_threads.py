"""What the assignment's threads earn: the report's in-process rows on numba's
threads and with the off switch (``KMEANS_CORE_THREADS=1``), side by side.

    python benchmarks/bench_threads.py [--repeat 7] [--rounds 3]

Each setting runs in its own processes (the switch is read per call, but
numba's pool, once started, stays), alternating, ``--rounds`` processes each;
a row is the best of ``--repeat`` timed calls in each process, after one
untimed call (compile or cache load). ``KMeans.fit`` on all pixels of
china.jpg and flower.jpg (float32 in [0, 1], the same k-means++ start) and
``quantize`` on the photos, at k = 16, 64, 256. Needs scikit-learn for the
photos. The inertia and iterations must come out the same in both columns.
"""

import argparse
import json
import os
import subprocess
import sys
import time

ROWS = [(photo, k) for photo in ("china.jpg", "flower.jpg") for k in (16, 64, 256)]


def measure(repeat):
    import numpy as np
    from sklearn.datasets import load_sample_image

    from kmeans_core import KMeans, quantize
    from kmeans_core._lloyd import kmeans_plusplus

    out = {}
    for photo, k in ROWS:
        image = load_sample_image(photo)
        X = image.reshape(-1, 3).astype(np.float32) / 255
        init = kmeans_plusplus(X, k, np.ones(len(X), np.float32),
                               np.random.default_rng(0))
        model = KMeans(k, init=init, n_init=1, tol=1e-4)
        calls = (("KMeans.fit", model.fit, X), ("quantize", quantize, image, k))
        for name, call, *call_args in calls:
            result = call(*call_args)
            times = []
            for _ in range(repeat):
                start = time.perf_counter()
                result = call(*call_args)
                times.append(time.perf_counter() - start)
            quality = getattr(result, "inertia_", None) or result.n_iter
            out[f"{name} {photo} k={k}"] = (min(times), float(quality))
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.repeat)))
        return
    settings = {"threads": {}, "one thread": {"KMEANS_CORE_THREADS": "1"}}
    best, quality = {}, {}
    for _ in range(args.rounds):
        for name, env in settings.items():
            proc = subprocess.run(
                [sys.executable, __file__, "--child", "--repeat", str(args.repeat)],
                env={**os.environ, **env}, capture_output=True, text=True, check=True)
            for row, (seconds, q) in json.loads(proc.stdout).items():
                key = (row, name)
                best[key] = min(best.get(key, seconds), seconds)
                quality.setdefault(row, set()).add(q)
    print(f"| row | {' | '.join(settings)} | ratio | same result |")
    print("|---|---|---|---|---|")
    for row, seen in quality.items():
        a, b = (best[(row, name)] * 1000 for name in settings)
        print(f"| {row} | {a:.1f} ms | {b:.1f} ms | {a / b:.2f} | "
              f"{'yes' if len(seen) == 1 else 'NO'} |")


if __name__ == "__main__":
    main()
