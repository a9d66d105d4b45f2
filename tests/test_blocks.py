"""EM over row blocks (gmm.blocks, gmm._dask): the same fit as in memory, block by block.

The oracle for a fit is the in-memory fit from the same start (gmm.em, itself tested against
independent computations); for the reductions it is numpy on the whole array, or the order
of the items themselves.
"""

import subprocess
import sys
import warnings

import dask
import dask.array as da
import numpy as np
import pytest
from oracles import TYPES, assert_relative, initial_parameters, synthetic_data

import gmm
import gmm.blocks as blocks

OFFSET = 1e6  # data far from the origin: uncentred sums would lose ten digits here


class RowSliced:
    """An array-like as an HDF5 or zarr dataset is: shape, dtype and slicing, no
    ``__array__``; it records every slice read."""

    def __init__(self, array):
        self._array = array
        self.shape = array.shape
        self.dtype = array.dtype
        self.reads = []

    def __getitem__(self, key):
        if not isinstance(key, slice):
            raise TypeError("RowSliced reads row slices only")
        start, stop, _ = key.indices(self.shape[0])
        self.reads.append(stop - start)
        return self._array[key].copy()


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of 128 rows (the last one shorter) for the local passes."""
    monkeypatch.setattr(blocks, "BLOCK_BYTES", 8 * 2 * 128)
    monkeypatch.setattr(blocks, "_MIN_BLOCK_ROWS", 1)


def data(weighted, n=1000, seed=1):
    X = synthetic_data(seed=seed, n=n) + OFFSET
    rng = np.random.default_rng(seed)
    weight = rng.uniform(0.2, 3.0, size=n) if weighted else None
    return X, weight


def start(covariance_type):
    start = initial_parameters(covariance_type)
    start["means_init"] = start["means_init"] + OFFSET
    return start


def as_source(X, kind, tmp_path):
    if kind == "memmap":
        path = tmp_path / "X.npy"
        np.save(path, X)
        return np.load(path, mmap_mode="r")
    if kind == "row-sliced":
        return RowSliced(X)
    # Unequal blocks, one of a single row.
    n = X.shape[0]
    return da.from_array(X, chunks=((1, 299, 150, n - 700, 250), (2,)))


def assert_same_fit(blocked, memory, rtol=1e-10):
    assert blocked.n_iter_ == memory.n_iter_ and blocked.converged_ == memory.converged_
    assert_relative(blocked.weights_, memory.weights_, rtol)
    assert_relative(blocked.means_ - OFFSET, memory.means_ - OFFSET, rtol)
    assert_relative(blocked.covariances_, memory.covariances_, rtol)
    assert_relative(blocked.log_likelihood_history_, memory.log_likelihood_history_, rtol)


@pytest.mark.parametrize("kind", ["memmap", "row-sliced", "dask"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("covariance_type", TYPES)
def test_blocked_fit_equals_in_memory_fit(covariance_type, weighted, kind, tmp_path,
                                          small_blocks):
    X, weight = data(weighted)
    settings = dict(covariance_type=covariance_type, tol=1e-8, max_iter=40,
                    **start(covariance_type))
    memory = gmm.GaussianMixture(3, **settings).fit(X, sample_weight=weight)
    source = as_source(X, kind, tmp_path)
    with dask.config.set(scheduler="sync"):
        blocked = gmm.GaussianMixture(3, **settings).fit(source, sample_weight=weight)
    assert memory.n_iter_ > 5  # a real fit, not the start
    assert_same_fit(blocked, memory)
    if kind == "row-sliced":  # never more than a block read at once
        assert max(source.reads) <= 128 and sum(source.reads) % X.shape[0] == 0


@pytest.mark.parametrize("kind", ["memmap", "row-sliced", "dask"])
def test_predictions_on_blocks_equal_in_memory(kind, tmp_path, small_blocks):
    X, _ = data(False)
    model = gmm.GaussianMixture(3, random_state=0).fit(X)
    source = as_source(X, kind, tmp_path)

    def computed(result):
        return result.compute() if kind == "dask" else result

    np.testing.assert_array_equal(computed(model.predict(source)), model.predict(X))
    np.testing.assert_allclose(computed(model.predict_proba(source)), model.predict_proba(X),
                               rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(computed(model.score_samples(source)), model.score_samples(X),
                               rtol=1e-10)
    assert model.score(source) == pytest.approx(model.score(X), rel=1e-10)
    assert model.bic(source) == pytest.approx(model.bic(X), rel=1e-10)


def test_kmeans_start_at_scale_reaches_the_in_memory_optimum(tmp_path, small_blocks):
    X, _ = data(False, n=3000)
    memory = gmm.GaussianMixture(3, random_state=0, tol=1e-8).fit(X)
    for kind in ("memmap", "dask"):
        blocked = gmm.GaussianMixture(3, random_state=0, tol=1e-8).fit(
            as_source(X, kind, tmp_path))
        assert blocked.converged_
        assert blocked.lower_bound_ == pytest.approx(memory.lower_bound_, abs=1e-6)


def lloyd(X, centres, n_iter):
    """Lloyd's algorithm written out: nearest centre, then the mean of its points."""
    centres = centres.copy()
    for _ in range(n_iter):
        distances = ((X[:, None, :] - centres[None]) ** 2).sum(axis=2)
        labels = distances.argmin(axis=1)
        for k in range(len(centres)):
            if np.any(labels == k):
                centres[k] = X[labels == k].mean(axis=0)
    return centres


def test_kmeans_blocks_is_lloyds_algorithm(small_blocks):
    X, _ = data(False, n=1500)
    seeds = X[[0, 1, 2, 3]]  # four centres for three clusters: one may empty
    expected = lloyd(X, seeds, 7)
    centres, _ = blocks.kmeans_blocks(blocks.LocalPasses(X), seeds, max_iter=7, tol=0.0)
    np.testing.assert_allclose(centres - OFFSET, expected - OFFSET, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("n_items", range(1, 20))
def test_pairwise_sum_takes_every_item_once_in_order(n_items):
    items = [[i] for i in range(n_items)]
    assert blocks.pairwise_sum(items, add=lambda a, b: a + b) == list(range(n_items))


def test_merged_block_moments_equal_numpy_far_from_origin(small_blocks):
    X, weight = data(True, n=1000)
    passes = blocks.LocalPasses(X, weight)
    assert len(passes.bounds) == 8 and passes.bounds[-1] == (896, 1000)
    mean, scale, total = blocks.data_summary(passes)
    assert total == pytest.approx(weight.sum(), rel=1e-13)
    # X - OFFSET is exact (Sterbenz), so numpy's mean of it is accurate; the mean itself,
    # near OFFSET, is stored to a unit in the last place of OFFSET
    np.testing.assert_allclose(mean - OFFSET, np.average(X - OFFSET, axis=0, weights=weight),
                               rtol=0, atol=2 * np.spacing(OFFSET))
    variances = np.cov((X - OFFSET).T, aweights=weight, bias=True).diagonal()
    assert scale == pytest.approx(variances.max(), rel=1e-10)


def test_non_finite_row_is_named_with_its_global_index(tmp_path, small_blocks):
    X, _ = data(False)
    X[700, 1] = np.nan
    for kind in ("row-sliced", "dask"):
        with pytest.raises(ValueError, match="row 700, column 1"):
            gmm.GaussianMixture(3, **start("full")).fit(as_source(X, kind, tmp_path))


def test_wrong_number_of_features_is_refused(tmp_path):
    X, _ = data(False)
    model = gmm.GaussianMixture(3, random_state=0).fit(X)
    with pytest.raises(ValueError, match="expecting 2 features"):
        model.predict(RowSliced(np.zeros((10, 3))))


def test_import_gmm_does_not_import_dask():
    code = "import sys, gmm, gmm.blocks, gmm.online; print('dask' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "False"



# -- the EM loop is gmm.em's (gmm.algorithm.em_loop): its behaviour carries over --------------


def _fit_quietly(model, source):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gmm.exceptions.ConvergenceWarning)
        return model.fit(source)


def test_block_warm_start_continues_like_the_in_memory_fit(small_blocks):
    """warm_start with max_iter=1: each block fit is one more iteration of the same fit, its
    convergence judged from the previous fit's lower bound, exactly as in memory."""
    X, _ = data(False)
    fits = {}
    for name, source in (("memory", X), ("blocks", RowSliced(X))):
        model = gmm.GaussianMixture(3, warm_start=True, max_iter=1, tol=1e-4,
                                    **start("full"))
        bounds = []
        for _ in range(60):
            bounds.append(_fit_quietly(model, source).lower_bound_)
            if model.converged_:
                break
        fits[name] = (model.converged_, bounds)
    assert fits["memory"][0] and fits["blocks"][0]
    assert len(fits["blocks"][1]) == len(fits["memory"][1]) > 2
    np.testing.assert_allclose(fits["blocks"][1], fits["memory"][1], rtol=1e-10)


def test_block_fit_reports_progress_like_the_in_memory_fit(small_blocks, capsys):
    X, _ = data(False)
    lines = {}
    for name, source in (("memory", X), ("blocks", RowSliced(X))):
        model = gmm.GaussianMixture(3, verbose=1, verbose_interval=2, max_iter=6, tol=0.0,
                                    covariance_type="diag", **start("diag"))
        _fit_quietly(model, source)
        lines[name] = [line.split("\t")[2] for line in capsys.readouterr().out.splitlines()
                       if line.strip().startswith("Iteration")]
    assert len(lines["blocks"]) == 3
    assert lines["blocks"] == lines["memory"]


def test_hard_statistics_give_each_point_to_its_nearest_centre():
    # The out-of-core k-means start: statistics of a hard assignment, against distances
    # computed point by point, far from the origin (where an uncentred expansion cancels).
    rng = np.random.default_rng(5)
    X = rng.normal(size=(300, 3)) + 1e6
    centres = X[rng.choice(300, size=4, replace=False)]
    (statistics,) = blocks.block_hard_statistics(X, None, 0, centres, "full")
    nearest = np.array([np.argmin([np.sum((x - c) ** 2) for c in centres]) for x in X])
    np.testing.assert_array_equal(statistics.counts, np.bincount(nearest, minlength=4))
    sums = np.array([X[nearest == k].sum(axis=0) for k in range(4)])
    np.testing.assert_allclose(statistics.sums, sums, rtol=1e-12)
