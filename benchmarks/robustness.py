"""Scale outside EM (issue 11, item 10): k-means time against scikit-learn, and the peak
memory of predict, score_samples, score and fit, for this checkout and optionally another.

For every code tree (this one, and ``--before DIR``, say a ``git worktree`` of an older
commit) a fresh interpreter imports that tree's ``gmm`` and

1. times ``gmm.kmeans(X, K)`` and scikit-learn's ``KMeans(K, n_init=1)`` right after it, on
   the same data, ``--repeats`` times, and reports the median of the per-pair ratios (on a
   shared machine a slow spell hits both runs of a pair, so the ratio is steadier than the
   times; the target is a ratio of at most 2);
2. measures with ``tracemalloc`` (numpy reports its buffers to it) the peak memory that
   ``predict``, ``score_samples``, ``score`` and ``predict_proba`` allocate beyond their
   input, and ``fit`` from given starting values, in units of one ``(N, K)`` float64 matrix.

Usage: ``python benchmarks/robustness.py [--before DIR] [--repeats 3] [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import time
import tracemalloc

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent.parent


def blobs(n, k, d, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(k, d)) * 3.0
    return centres[rng.integers(k, size=n)] + rng.normal(size=(n, d))


def peak(function):
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        function()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def worker(args):
    import warnings

    from sklearn.cluster import KMeans

    import gmm

    out = {"gmm": str(pathlib.Path(gmm.__file__).parent.parent)}
    X = blobs(args.n, args.k, args.d)
    ratios, times, sk_times, inertia = [], [], [], None
    for repeat in range(args.repeats):
        start = time.perf_counter()
        _, _, inertia = gmm.kmeans(X, args.k, random_state=repeat)
        times.append(time.perf_counter() - start)
        start = time.perf_counter()
        sk = KMeans(args.k, n_init=1, random_state=repeat).fit(X)
        sk_times.append(time.perf_counter() - start)
        ratios.append(times[-1] / sk_times[-1])
    out["kmeans"] = {"N": args.n, "K": args.k, "D": args.d,
                     "gmm_s": statistics.median(times), "sklearn_s": statistics.median(sk_times),
                     "ratio": statistics.median(ratios), "gmm_inertia": inertia,
                     "sklearn_inertia": float(sk.inertia_)}

    N, K, D = args.memory_n, args.memory_k, 2
    rng = np.random.default_rng(1)
    Xm = rng.normal(size=(N, D))
    theta = gmm.Mixture(np.full(K, 1 / K), rng.normal(size=(K, D)) * 2, np.ones((K, D)), "diag")
    model = gmm.GaussianMixture(K, covariance_type="diag")
    model.mixture_ = theta
    model.n_features_in_ = D
    n_by_k = N * K * 8
    memory = {}
    for method in ("predict", "score_samples", "score", "predict_proba"):
        memory[method] = peak(lambda m=method: getattr(model, m)(Xm)) / n_by_k
    fit = gmm.GaussianMixture(K, covariance_type="diag", weights_init=theta.weights,
                              means_init=theta.means, precisions_init=1 / theta.covariances,
                              max_iter=2, tol=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        memory["fit (given start)"] = peak(lambda: fit.fit(Xm)) / n_by_k
    out["memory"] = {"N": N, "K": K, "n_by_k_MB": n_by_k / 1e6, "peak_in_n_by_k": memory}
    print(json.dumps(out))


def run(tree, args):
    env = dict(os.environ, PYTHONPATH=str(tree))
    command = [sys.executable, __file__, "--worker", "--repeats", str(args.repeats),
               "--n", str(args.n), "--k", str(args.k), "--d", str(args.d),
               "--memory-n", str(args.memory_n), "--memory-k", str(args.memory_k)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=pathlib.Path, help="another checkout to compare")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="N=20000 for k-means")
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--k", type=int, default=50)
    parser.add_argument("--d", type=int, default=8)
    parser.add_argument("--memory-n", type=int, default=200_000)
    parser.add_argument("--memory-k", type=int, default=40)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.quick:
        args.n, args.memory_n = 20_000, 20_000
    if args.worker:
        return worker(args)
    trees = [("after", HERE)] + ([("before", args.before)] if args.before else [])
    for label, tree in trees:
        result = run(tree, args)
        km, memory = result["kmeans"], result["memory"]
        print(f"[{label}] {result['gmm']}")
        print(f"  kmeans N={km['N']} K={km['K']} D={km['D']}: gmm {km['gmm_s']:.2f} s, "
              f"scikit-learn {km['sklearn_s']:.2f} s, median ratio {km['ratio']:.2f}; "
              f"inertia gmm {km['gmm_inertia']:.4g}, scikit-learn {km['sklearn_inertia']:.4g}")
        print(f"  peak memory, in (N, K) float64 matrices of {memory['n_by_k_MB']:.0f} MB "
              f"(N={memory['N']}, K={memory['K']}):")
        for method, value in memory["peak_in_n_by_k"].items():
            print(f"    {method:18s} {value:6.2f}")


if __name__ == "__main__":
    main()
