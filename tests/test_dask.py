"""EM on a dask array: every pass a Dask computation over the blocks, on a cluster too.

What ``dask.compute`` receives is recorded: a graph of a few tasks per block, holding file
names and the parameters, never the data (the array is read from .npy files by its own
tasks). The fit itself must equal the in-memory fit from the same start.
"""

import pickle

import dask
import dask.array as da
import numpy as np
import pytest
from distributed import Client, LocalCluster, get_task_stream
from oracles import initial_parameters, synthetic_data

import gmm

OFFSET = 1e4
CHUNKS = (700, 300, 1200, 50, 750)  # unequal row blocks, N = 3000


@pytest.fixture
def on_disk(tmp_path):
    """X (in memory, for the oracle) and the same data as a dask array whose blocks are
    loaded from .npy files by their own tasks."""
    X = synthetic_data(seed=3, n=sum(CHUNKS)) + OFFSET
    da.to_npy_stack(tmp_path / "X", da.from_array(X, chunks=(CHUNKS, 2)))
    return X, da.from_npy_stack(tmp_path / "X")


def settings(covariance_type="full"):
    start = initial_parameters(covariance_type)
    start["means_init"] = start["means_init"] + OFFSET
    return dict(covariance_type=covariance_type, tol=1e-8, max_iter=60, **start)


class ComputeRecorder:
    """Wraps ``dask.compute``, keeping the graph of every call."""

    def __init__(self, monkeypatch):
        self.graphs = []
        self._compute = dask.compute
        monkeypatch.setattr(dask, "compute", self)

    def __call__(self, *collections, **kwargs):
        for collection in collections:
            self.graphs.append(dict(collection.__dask_graph__()))
        return self._compute(*collections, **kwargs)


def refuse_whole_array(monkeypatch):
    """Make computing the dask array itself (X.compute(), np.asarray(X)) an error."""

    def refuse(*args, **kwargs):
        raise AssertionError("the fit computed the whole dask array")

    for name in ("compute", "persist", "__array__"):
        monkeypatch.setattr(da.Array, name, refuse)


def assert_graphs_hold_no_data(graphs, X, n_blocks):
    for graph in graphs:
        # A task per block for loading, one for its statistics, n - 1 additions (or, for
        # a prediction, two to put the blocks' labels together), the parameters: a few
        # tasks per block, and never the N rows themselves.
        assert len(graph) <= 4 * n_blocks + 4
        assert len(pickle.dumps(graph)) < X.nbytes / 10


def assert_same_fit(fit, memory):
    assert fit.n_iter_ == memory.n_iter_ > 5
    np.testing.assert_allclose(fit.means_ - OFFSET, memory.means_ - OFFSET, rtol=1e-10)
    np.testing.assert_allclose(fit.covariances_, memory.covariances_, rtol=1e-10)
    np.testing.assert_allclose(fit.log_likelihood_history_, memory.log_likelihood_history_,
                               rtol=1e-10)


def test_dask_fit_is_block_computations_only(on_disk, monkeypatch):
    X, Xd = on_disk
    memory = gmm.GaussianMixture(3, **settings()).fit(X)
    recorder = ComputeRecorder(monkeypatch)
    refuse_whole_array(monkeypatch)
    fit = gmm.GaussianMixture(3, **settings()).fit(Xd)
    assert_same_fit(fit, memory)
    # One pass per iteration, one for the last ln p.
    assert len(recorder.graphs) == fit.n_iter_ + 1
    assert_graphs_hold_no_data(recorder.graphs, X, len(CHUNKS))


def test_dask_kmeans_start_and_predict_never_compute_the_array(on_disk, monkeypatch):
    X, Xd = on_disk
    recorder = ComputeRecorder(monkeypatch)
    refuse_whole_array(monkeypatch)
    fit = gmm.GaussianMixture(3, random_state=0).fit(Xd)
    labels = fit.predict(Xd)
    assert isinstance(labels, da.Array) and labels.chunks[0] == CHUNKS
    (labels,) = dask.compute(labels)
    monkeypatch.undo()
    np.testing.assert_array_equal(labels, fit.predict(X))
    assert_graphs_hold_no_data(recorder.graphs[1:], X, len(CHUNKS))  # [0]: the sample


@pytest.fixture(scope="module")
def cluster():
    """Two worker processes; generous timeouts for a loaded two-core machine."""
    with dask.config.set({"distributed.comm.timeouts.connect": "120s",
                          "distributed.comm.timeouts.tcp": "120s",
                          "distributed.deploy.lost-worker-timeout": "120s"}):
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                          dashboard_address=":0", death_timeout=120) as local:
            with Client(local, timeout=120) as client:
                client.wait_for_workers(2, timeout=120)
                yield client


@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_fit_on_local_cluster_equals_in_memory_fit(cluster, on_disk, monkeypatch, tmp_path,
                                                   covariance_type):
    X, Xd = on_disk
    rng = np.random.default_rng(0)
    weight = rng.uniform(0.5, 2.0, size=X.shape[0])
    memory = gmm.GaussianMixture(3, **settings(covariance_type)).fit(X, sample_weight=weight)
    recorder = ComputeRecorder(monkeypatch)
    refuse_whole_array(monkeypatch)
    da.to_npy_stack(tmp_path / "w", da.from_array(weight, chunks=(CHUNKS,)))
    weight_blocks = da.from_npy_stack(tmp_path / "w")
    with get_task_stream(cluster) as tasks:
        fit = gmm.GaussianMixture(3, **settings(covariance_type)).fit(
            Xd, sample_weight=weight_blocks)
    assert_same_fit(fit, memory)
    assert len(recorder.graphs) == fit.n_iter_ + 1
    # Each block adds a task for its weights.
    assert_graphs_hold_no_data(recorder.graphs, X, len(CHUNKS) * 4 // 3 + 1)
    # The blocks' statistics were computed in the worker processes.
    ran = {task["worker"] for task in tasks.data if "block_em_statistics" in str(task["key"])}
    assert ran and ran <= set(cluster.scheduler_info()["workers"])
