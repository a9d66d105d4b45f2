"""Fitting a memmap of N = 2e7 rows, D = 4 (640 MB) raises peak resident memory by less than
64 MB (a tenth of the file), measured in a fresh process.

The file is written block by block by this process; a child process opens it as a memmap,
fits from a given start (two EM iterations: the bound is about memory, not convergence),
and reports the rise of its peak resident set (VmHWM, reset after the imports and a small
warm-up fit through /proc/self/clear_refs).
"""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import gmm

N_ROWS = 20_000_000
N_FEATURES = 4
BOUND_BYTES = 64 * 2**20
MEANS = np.array([[0.0, 0.0, 0.0, 0.0], [3.0, 3.0, 0.0, 0.0], [0.0, 3.0, 3.0, 3.0]])

CHILD = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import gmm

    def status(field):
        for line in open("/proc/self/status"):
            if line.startswith(field):
                return int(line.split()[1]) * 1024

    path, means = sys.argv[1], np.array(json.loads(sys.argv[2]))
    X = np.load(path, mmap_mode="r")
    settings = dict(n_components=3, means_init=means, weights_init=np.ones(3) / 3,
                    precisions_init=np.array([np.eye(4)] * 3), max_iter=2, tol=0.0)
    warm_up = gmm.GaussianMixture(**settings).fit(X[:100_000])
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")  # reset the peak (VmHWM) to the current resident set
    before = status("VmRSS")
    model = gmm.GaussianMixture(**settings).fit(X)
    print(json.dumps({"rise": status("VmHWM") - before, "means": model.means_.tolist(),
                      "file": X.nbytes}))
    """
)


def write_file(path: Path) -> None:
    rng = np.random.default_rng(0)
    header = {"descr": "<f8", "fortran_order": False, "shape": (N_ROWS, N_FEATURES)}
    with open(path, "wb") as handle:
        np.lib.format.write_array_header_1_0(handle, header)
        for _ in range(N_ROWS // 1_000_000):
            labels = rng.integers(3, size=1_000_000)
            block = MEANS[labels] + rng.normal(size=(1_000_000, N_FEATURES))
            handle.write(block.tobytes())


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="Linux /proc only")
def test_fitting_a_large_memmap_needs_a_block_not_the_file(tmp_path):
    path = tmp_path / "X.npy"
    write_file(path)
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), json.dumps(MEANS.tolist())],
        capture_output=True, text=True, check=True, timeout=900,
    )
    report = json.loads(result.stdout)
    assert report["file"] == N_ROWS * N_FEATURES * 8
    print(f"peak resident memory rose by {report['rise'] / 2**20:.1f} MB "
          f"for a {report['file'] / 2**20:.0f} MB file")
    assert report["rise"] < BOUND_BYTES
    # and it is a fit: two iterations from near the truth land on it
    np.testing.assert_allclose(report["means"], MEANS, atol=0.01)
    assert gmm.blocks.is_row_blocked(np.load(path, mmap_mode="r"))
