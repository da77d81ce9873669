"""scikit-learn's own estimator checks for its KMeans and MiniBatchKMeans, run
one by one on ours: pass / fail / skip counts and the checks that fail.

    python benchmarks/sklearn_checks.py

(The test suite runs the same checks with ``parametrize_with_checks``, with
scikit-learn's list of expected failures; this script counts every check,
expected failures included, to compare checkouts.)
"""

import unittest
import warnings
from collections import Counter

import sklearn.cluster as skc
from sklearn.utils.estimator_checks import estimator_checks_generator

import kmeans_core

CASES = (
    (skc.KMeans(n_init=2, n_clusters=2, max_iter=5),
     lambda: kmeans_core.KMeans(n_init=2, n_clusters=2, max_iter=5)),
    (skc.MiniBatchKMeans(n_init=2, n_clusters=2, max_iter=5, batch_size=10),
     lambda: kmeans_core.MiniBatchKMeans(n_init=2, n_clusters=2, max_iter=5,
                                         batch_size=10)),
)


def main():
    for reference, make in CASES:
        counts, failures = Counter(), []
        for _, check in estimator_checks_generator(reference, legacy=True, mark=None):
            name = getattr(check, "func", check).__name__
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    check(make())
                counts["passed"] += 1
            except unittest.SkipTest:
                counts["skipped"] += 1
            except Exception as exc:  # noqa: BLE001 - counted and listed
                counts["failed"] += 1
                failures.append(f"{name}: {type(exc).__name__}: {str(exc)[:120]}")
        print(type(reference).__name__, dict(counts), "of", sum(counts.values()))
        for failure in failures:
            print("    failed:", failure.splitlines()[0])


if __name__ == "__main__":
    main()
