"""EM speed and memory: gmm.GaussianMixture against scikit-learn's, from identical starts.

For every case of the grid both estimators run the same fixed number of EM iterations
(``tol=0``) from the same initial weights, means and precisions. The script

1. checks that the fitted weights, means, covariances and ``lower_bound_`` agree to 1e-6
   relative (a speed-up that changes the answer is not one);
2. times both, alternating gmm and scikit-learn in the same process, and reports the median
   milliseconds per iteration of each and the median of the per-pair ratios (a gmm fit over
   the scikit-learn fit right after it: on a shared machine, slow spells hit both fits of a
   pair, so the ratio of each pair is steadier than the ratio of two medians);
3. measures the peak memory allocated during a fit with ``tracemalloc`` (numpy reports its
   buffers to it), in separate, untimed runs.

Usage: ``python benchmarks/em_speed.py [--repeats 7] [--iterations 5] [--quick]``.
Targets (issue 8): time ratio gmm/scikit-learn at most 0.5 on every case and at most 0.33
where D <= 8; peak memory at most scikit-learn's.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
import tracemalloc
import warnings

import numpy as np
from sklearn.mixture import GaussianMixture as SklearnGaussianMixture

import gmm

GRID = [
    (1_000_000, 2, 5, "full"),
    (200_000, 8, 10, "full"),
    (50_000, 32, 8, "full"),
    (20_000, 64, 16, "full"),
    (200_000, 8, 10, "tied"),
    (200_000, 8, 10, "diag"),
    (200_000, 8, 10, "spherical"),
]


def make_case(n_samples, n_features, n_components, covariance_type, seed=0):
    """Data from K overlapping clusters, and a start near (not at) their centres."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=3.0, size=(n_components, n_features))
    scales = rng.uniform(0.5, 1.5, size=(n_components, n_features))
    labels = rng.integers(n_components, size=n_samples)
    X = centres[labels] + rng.standard_normal((n_samples, n_features)) * scales[labels]
    weights = np.full(n_components, 1.0 / n_components)
    means = centres + rng.normal(scale=0.3, size=centres.shape)
    precisions = {
        "full": np.tile(np.eye(n_features), (n_components, 1, 1)),
        "tied": np.eye(n_features),
        "diag": np.ones((n_components, n_features)),
        "spherical": np.ones(n_components),
    }[covariance_type]
    start = {"weights_init": weights, "means_init": means, "precisions_init": precisions}
    return X, start


def estimators(covariance_type, n_components, iterations, start):
    common = dict(covariance_type=covariance_type, tol=0.0, max_iter=iterations, **start)
    return (
        gmm.GaussianMixture(n_components, **common),
        SklearnGaussianMixture(n_components, **common),
    )


def fit(estimator, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tol=0 never "converges": that is the point
        start = time.perf_counter()
        estimator.fit(X)
        return time.perf_counter() - start


def peak_memory(estimator, X):
    tracemalloc.start()
    tracemalloc.reset_peak()
    fit(estimator, X)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def relative_difference(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), np.finfo(float).tiny))


def run_case(case, repeats, iterations):
    n_samples, n_features, n_components, covariance_type = case
    X, start = make_case(*case)
    ours, theirs = estimators(covariance_type, n_components, iterations, start)
    fit(ours, X)  # warm-up, and the fits compared below
    fit(theirs, X)
    differences = {
        "weights": relative_difference(ours.weights_, theirs.weights_),
        "means": relative_difference(ours.means_, theirs.means_),
        "covariances": relative_difference(ours.covariances_, theirs.covariances_),
        "lower_bound": relative_difference(ours.lower_bound_, theirs.lower_bound_),
    }
    agree = all(value <= 1e-6 for value in differences.values())
    times_ours, times_theirs = [], []
    for _ in range(repeats):  # alternate, so that machine noise hits both alike
        times_ours.append(fit(ours, X) / iterations)
        times_theirs.append(fit(theirs, X) / iterations)
    ms_ours = 1000 * statistics.median(times_ours)
    ms_theirs = 1000 * statistics.median(times_theirs)
    ratio = statistics.median(a / b for a, b in zip(times_ours, times_theirs, strict=True))
    memory_ours = peak_memory(ours, X)
    memory_theirs = peak_memory(theirs, X)
    return {
        "case": case,
        "ms_ours": ms_ours,
        "ms_theirs": ms_theirs,
        "ratio": ratio,
        "memory_ours": memory_ours,
        "memory_theirs": memory_theirs,
        "memory_ratio": memory_ours / memory_theirs,
        "agree": agree,
        "max_difference": max(differences.values()),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="a tenth of the data per case")
    arguments = parser.parse_args(argv)
    import sklearn
    import threadpoolctl

    blas = ", ".join(
        f"{info['internal_api']} {info['version']} ({info['num_threads']} threads)"
        for info in threadpoolctl.threadpool_info()
    )
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.processor() or '?'}")
    print(f"python {platform.python_version()}, numpy {np.__version__}, scikit-learn "
          f"{sklearn.__version__}, gmm {gmm.__version__}; BLAS: {blas}")
    print(f"{arguments.iterations} EM iterations per fit, median of {arguments.repeats} "
          "alternating fits; ratio: median of the per-pair ratios\n")
    header = (f"{'N':>9} {'D':>3} {'K':>3} {'type':>9} | {'gmm ms/it':>10} {'sklearn ms/it':>13} "
              f"{'ratio':>6} | {'gmm MB':>7} {'sklearn MB':>10} {'ratio':>6} | {'agree':>5} "
              f"{'max rel diff':>12}")
    print(header)
    print("-" * len(header))
    failures = []
    for case in GRID:
        if arguments.quick:
            case = (case[0] // 10, *case[1:])
        result = run_case(case, arguments.repeats, arguments.iterations)
        n, d, k, covariance_type = case
        print(f"{n:>9} {d:>3} {k:>3} {covariance_type:>9} | {result['ms_ours']:>10.1f} "
              f"{result['ms_theirs']:>13.1f} {result['ratio']:>6.2f} | "
              f"{result['memory_ours'] / 2**20:>7.1f} {result['memory_theirs'] / 2**20:>10.1f} "
              f"{result['memory_ratio']:>6.2f} | {'yes' if result['agree'] else 'NO':>5} "
              f"{result['max_difference']:>12.1e}", flush=True)
        target = 0.33 if d <= 8 else 0.5
        if not result["agree"]:
            failures.append(f"{case}: results differ by {result['max_difference']:.1e}")
        if result["ratio"] > target:
            failures.append(f"{case}: time ratio {result['ratio']:.2f} > {target}")
        if result["memory_ratio"] > 1.0:
            failures.append(f"{case}: memory ratio {result['memory_ratio']:.2f} > 1")
    print()
    if failures:
        print("targets missed:\n  " + "\n  ".join(failures))
        return 1
    print("all targets met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
