"""EM at scale: throughput and peak memory of in-memory, memmap and Dask fits (issue 17).

For every N the data (D = 4, K = 8 clusters) are written once to a .npy file on disk, in
blocks. Each case then runs in a fresh process, fits from the same given start for a fixed
number of iterations (``tol=0``) and reports

- throughput: rows x passes per second, a pass being one read of all N rows (the fit makes
  ``iterations + 1`` of them: one E-step per iteration and the last one for ``ln p``);
- the peak resident memory of the process above its level before the fit (VmHWM, reset
  through /proc/self/clear_refs), and for Dask the largest rise among the workers;
- the ratio of its throughput to the in-memory engine's at the same N.

Modes: ``memory`` (the whole array loaded, ``gmm``'s in-memory engine), ``memmap`` (the
file as a ``numpy.memmap``, read in row blocks), ``dask-1`` and ``dask-2`` (a
``dask.distributed.LocalCluster`` with 1 or 2 single-threaded worker processes; each block
is loaded from the file by its own task). A sweep over Dask's block size at one N shows
where the overhead per task stops mattering. Finally a plot of rows/s against N.

Usage: ``python benchmarks/scale.py [--sizes 1e6 1e7 1e8] [--iterations 3]
[--data-dir DIR] [--quick]``. The largest N (1e8 rows, 3.2 GB) runs one iteration; the
in-memory mode is skipped where the array and its (N, K) responsibilities would not fit in
half the available memory. Checks free disk space first.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

D = 4
K = 8
MODES = ("memory", "memmap", "dask-1", "dask-2")
HERE = Path(__file__).resolve().parent


def centres():
    return np.random.default_rng(1).normal(scale=4.0, size=(K, D))


def write_data(path: Path, n_rows: int, block: int = 1_000_000) -> None:
    """N rows from K clusters, written block by block (never the whole array in memory)."""
    if path.exists() and path.stat().st_size >= n_rows * D * 8:
        return
    rng = np.random.default_rng(0)
    means = centres()
    header = {"descr": "<f8", "fortran_order": False, "shape": (n_rows, D)}
    with open(path, "wb") as handle:
        np.lib.format.write_array_header_1_0(handle, header)
        for start in range(0, n_rows, block):
            n = min(block, n_rows - start)
            labels = rng.integers(K, size=n)
            handle.write((means[labels] + rng.standard_normal((n, D))).tobytes())


def start_settings():
    means = centres() + np.random.default_rng(2).normal(scale=0.5, size=(K, D))
    return dict(n_components=K, weights_init=np.full(K, 1.0 / K), means_init=means,
                precisions_init=np.tile(np.eye(D), (K, 1, 1)), tol=0.0)


def _status(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1]) * 1024
    return 0


def _reset_peak():
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
    except OSError:
        pass
    return _status("VmRSS")


def _load_rows(path, start, stop):
    return np.array(np.load(path, mmap_mode="r")[start:stop])


def dask_array_from_file(path, n_rows, block_rows):
    """A dask array whose blocks are read from the .npy file by their own tasks."""
    import dask
    import dask.array as da

    load = dask.delayed(_load_rows, pure=True)
    return da.concatenate([
        da.from_delayed(load(str(path), s, min(s + block_rows, n_rows)),
                        shape=(min(s + block_rows, n_rows) - s, D), dtype=np.float64)
        for s in range(0, n_rows, block_rows)
    ])


def run_case(mode, path, n_rows, iterations, block_rows):
    """One case in this (fresh) process; returns a dict for the report."""
    import warnings

    import gmm

    warnings.simplefilter("ignore")  # tol=0: every fit stops at max_iter on purpose
    model = gmm.GaussianMixture(max_iter=iterations, **start_settings())
    client = cluster = None
    if mode == "memory":
        X = np.load(path)
    elif mode == "memmap":
        X = np.load(path, mmap_mode="r")
    else:
        from distributed import Client, LocalCluster

        cluster = LocalCluster(n_workers=int(mode[-1]), threads_per_worker=1,
                               processes=True, dashboard_address=":0")
        client = Client(cluster)
        X = dask_array_from_file(path, n_rows, block_rows)
        # Warm-up: the workers import gmm and numpy before the clock starts.
        small = dask_array_from_file(path, min(n_rows, 20_000), 10_000)
        gmm.GaussianMixture(max_iter=1, **start_settings()).fit(small)
        worker_before = client.run(_reset_peak)
    before = _reset_peak()
    started = time.perf_counter()
    model.fit(X)
    seconds = time.perf_counter() - started
    rise = _status("VmHWM") - before
    workers = 0
    if client is not None:
        worker_after = client.run(_status, "VmHWM")
        workers = max(worker_after[w] - worker_before[w] for w in worker_after)
        client.close()
        cluster.close()
    passes = model.n_iter_ + 1
    return {"mode": mode, "n_rows": n_rows, "passes": passes, "seconds": seconds,
            "rows_per_second": n_rows * passes / seconds, "peak_rise": rise,
            "worker_peak": workers, "block_rows": block_rows,
            "lower_bound": model.lower_bound_}


def in_child(mode, path, n_rows, iterations, block_rows):
    command = [sys.executable, __file__, "--case", mode, str(path), str(n_rows),
               str(iterations), str(block_rows)]
    env = {**os.environ, "PYTHONPATH": str(HERE.parent)}
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def machine():
    model = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                  if line.startswith("model name")), platform.processor())
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{model}, {os.cpu_count()} cores, {memory:.0f} GiB, Python {platform.python_version()}"


def memory_fits(n_rows):
    available = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")
    return n_rows * (D + K) * 8 * 1.5 < available / 2


def plot(results, target):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, ax = plt.subplots(figsize=(6.4, 4.0), layout="constrained")
    for mode in MODES:
        rows = sorted((r["n_rows"], r["rows_per_second"]) for r in results if r["mode"] == mode)
        if rows:
            ax.plot(*zip(*rows, strict=True), marker="o", label=mode)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("N (rows), D = 4, K = 8")
    ax.set_ylabel("rows x passes per second")
    ax.set_title("EM throughput against N")
    ax.legend()
    figure.savefig(target, dpi=100)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", nargs="+", type=float, default=[1e6, 1e7, 1e8])
    parser.add_argument("--iterations", type=int, default=3)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--sweep-rows", type=float, default=None,
                        help="N of the Dask block-size sweep (default: the second size)")
    parser.add_argument("--quick", action="store_true",
                        help="N = 1e5, 1e6 and two iterations: a check that it runs")
    parser.add_argument("--case", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        mode, path, n_rows, iterations, block_rows = args.case
        print(json.dumps(run_case(mode, Path(path), int(n_rows), int(iterations),
                                  int(block_rows))))
        return
    if args.quick:
        args.sizes, args.iterations = [1e5, 1e6], 2
    sizes = [int(n) for n in args.sizes]
    directory = args.data_dir or Path(tempfile.mkdtemp(prefix="gmm-scale-"))
    directory.mkdir(parents=True, exist_ok=True)
    need = sum(n * D * 8 for n in sizes) * 1.1
    free = shutil.disk_usage(directory).free
    if need > free / 2:
        sys.exit(f"Needs {need / 2**30:.1f} GiB on disk in {directory}; "
                 f"{free / 2**30:.1f} GiB free (at most half of it is used).")
    print(f"Machine: {machine()}")
    results = []
    for n_rows in sizes:
        path = directory / f"X_{n_rows}.npy"
        write_data(path, n_rows)
        iterations = 1 if n_rows >= 100_000_000 else args.iterations
        block_rows = max(n_rows // 64, 250_000) if n_rows >= 1_000_000 else n_rows // 4
        for mode in MODES:
            if mode == "memory" and not memory_fits(n_rows):
                continue
            results.append(in_child(mode, path, n_rows, iterations, block_rows))
            print(json.dumps(results[-1]), flush=True)
    reference = {r["n_rows"]: r["rows_per_second"] for r in results if r["mode"] == "memory"}
    print("\n| N | mode | passes | rows/s | ratio to in-memory | peak memory rise |")
    print("|---|---|---|---|---|---|")
    for r in results:
        ratio = r["rows_per_second"] / reference[r["n_rows"]] if r["n_rows"] in reference \
            else float("nan")
        peak = max(r["peak_rise"], r["worker_peak"]) / 2**20
        print(f"| {r['n_rows']:.0e} | {r['mode']} | {r['passes']} | "
              f"{r['rows_per_second']:.3g} | {ratio:.2f} | {peak:.0f} MiB |")
    sweep_rows = int(args.sweep_rows or sizes[min(1, len(sizes) - 1)])
    path = directory / f"X_{sweep_rows}.npy"
    write_data(path, sweep_rows)
    print(f"\nDask block-size sweep at N = {sweep_rows:.0e}, 2 workers:")
    print("| block rows | tasks per pass | rows/s |")
    print("|---|---|---|")
    sweep = []
    for block_rows in (10_000, 30_000, 100_000, 300_000, 1_000_000, 3_000_000):
        if block_rows > sweep_rows:
            break
        r = in_child("dask-2", path, sweep_rows, args.iterations, block_rows)
        sweep.append(r)
        print(f"| {block_rows:,} | {-(-sweep_rows // block_rows)} | "
              f"{r['rows_per_second']:.3g} |", flush=True)
    best = max(r["rows_per_second"] for r in sweep)
    enough = min(r["block_rows"] for r in sweep if r["rows_per_second"] >= 0.9 * best)
    print(f"\nFrom about {enough:,} rows per block Dask reaches 90% of its best throughput.")
    target = HERE.parent / "images" / "scale_throughput.png"
    plot(results, target)
    print(f"Plot: {target.relative_to(HERE.parent)}")


if __name__ == "__main__":
    main()
