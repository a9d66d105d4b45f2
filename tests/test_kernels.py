"""The compiled kernels (gmm/_compiled.py) against references independent of them: mpmath's
``exp`` and ``log`` at 120 bits, scipy's ``logsumexp`` and ``softmax``, numpy's ``argmax``,
and the quadratic features written out product by product. The engine's own tests
(test_engine.py, test_robustness.py) run whole passes on both the numpy code and these."""

import itertools

import mpmath
import numpy as np
import pytest
import scipy.special

from gmm import _kernels

numba = pytest.importorskip("numba")  # a skip fails under CI (tests/conftest.py)
compiled = _kernels._build()
EPS = np.finfo(float).eps


def relative_error(values, references):
    return np.abs(values - references) / np.abs(references)


def exact(function, x):
    mpmath.mp.prec = 120
    return np.array([float(function(mpmath.mpf(float(v)))) for v in x])


def test_exp_within_two_units_in_the_last_place():
    rng = np.random.default_rng(0)
    x = np.concatenate([
        [0.0, -0.0, -1e-300, -1e-17, -0.5 * np.log(2), -np.log(2), -1.0, -704.9, -705.0],
        -rng.exponential(2.0, 1500),  # log-responsibilities near the largest
        rng.uniform(-705.0, 0.0, 1500),
        -np.arange(1, 1017) * np.log(2),  # every power of two the kernel builds
    ])
    out = np.empty_like(x)
    compiled.exp_array(x, out)
    assert relative_error(out, exact(mpmath.exp, x)).max() <= 2 * EPS
    assert out[0] == 1.0


def test_log_within_two_units_in_the_last_place():
    rng = np.random.default_rng(1)
    x = np.concatenate([
        [1.0, 2.0, 0.5, np.sqrt(2.0), np.sqrt(0.5), np.nextafter(1.0, 2.0),
         np.nextafter(1.0, 0.0), 1e-300, 1e300, np.finfo(float).tiny, np.finfo(float).max],
        1.0 + rng.normal(0.0, 1e-8, 500),  # sums of one term and tiny ones
        rng.uniform(1.0, 50.0, 1500),  # s_n of eq. (log-sum-exp): between 1 and K
        np.exp(rng.uniform(-700.0, 700.0, 1000)),
    ])
    out = np.empty_like(x)
    compiled.log_array(x, out)
    reference = exact(mpmath.log, x)
    zero = reference == 0.0
    assert np.all(out[zero] == 0.0)
    # Relative to |ln x|, or absolute near x = 1 where ln x passes through 0.
    error = np.abs(out - reference)[~zero] / np.maximum(np.abs(reference[~zero]), 1.0)
    assert error.max() <= 2 * EPS


def log_sum_exp(joint, weight=None, labels=True, resp=True):
    K, n = joint.shape
    work = joint.copy()
    marginal, total = np.empty(n), np.empty(n)
    found = np.empty(n, dtype=np.intp)
    w = np.empty(0) if weight is None else weight
    ll = compiled.log_sum_exp_in_place(work, w, marginal, total, found, labels, resp)
    return ll, work, marginal, total, found


@pytest.mark.parametrize("K", [1, 2, 5, 50])
@pytest.mark.parametrize("weighted", [False, True])
def test_log_sum_exp_against_scipy(K, weighted):
    rng = np.random.default_rng(K)
    n = 301
    joint = rng.normal(-40.0, 30.0, (K, n))
    if K > 1:
        joint[1, :20] = -np.inf  # a component of weight zero
        joint[0, 20:40] = joint[1, 20:40]  # ties: the first maximum wins
    weight = rng.uniform(0.1, 3.0, n) if weighted else None
    ll, resp, marginal, total, labels = log_sum_exp(joint, weight)
    expected = scipy.special.logsumexp(joint, axis=0)
    np.testing.assert_allclose(marginal, expected, rtol=1e-14)
    w = np.ones(n) if weight is None else weight
    assert ll == pytest.approx(w @ expected, rel=1e-13)
    np.testing.assert_allclose(resp, scipy.special.softmax(joint, axis=0) * w,
                               rtol=1e-13, atol=1e-300)
    np.testing.assert_array_equal(labels, np.argmax(joint, axis=0))
    np.testing.assert_allclose(total, np.exp(expected - joint.max(axis=0)), rtol=1e-14)


def test_log_sum_exp_without_responsibilities_leaves_the_shifted_exponentials():
    rng = np.random.default_rng(3)
    joint = rng.normal(0.0, 5.0, (4, 50))
    _, work, marginal, total, _ = log_sum_exp(joint, labels=False, resp=False)
    np.testing.assert_allclose(work, np.exp(joint - joint.max(axis=0)), rtol=1e-15)
    np.testing.assert_allclose(total, work.sum(axis=0), rtol=1e-15)


def test_terms_below_the_floor_are_zero_and_nan_propagates():
    floor = _kernels.EXP_FLOOR
    joint = np.array([[0.0, 0.0, np.nan], [floor - 1e-9, floor + 1e-9, 0.0]])
    ll, resp, marginal, _, _ = log_sum_exp(joint)
    assert resp[1, 0] == 0.0 and resp[0, 0] == 1.0
    assert resp[1, 1] == pytest.approx(np.exp(floor + 1e-9), rel=1e-13)
    assert np.isnan(marginal[2]) and np.isnan(ll)
    assert np.isfinite(marginal[:2]).all()


def features_by_hand(X, shift, features):
    rows = []
    for x in X - shift:
        phi = [1.0, *x]
        if features == "pairs":
            phi += [x[i] * x[j] for i, j in itertools.combinations_with_replacement(
                range(len(x)), 2)]
        elif features == "squares":
            phi += [v * v for v in x]
        rows.append(phi)
    return np.array(rows).T


@pytest.mark.parametrize("features", ["none", "squares", "pairs"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_features_written_out(features, dtype):
    rng = np.random.default_rng(4)
    X = rng.normal(size=(37, 4)).astype(dtype)
    shift = rng.normal(size=4)
    width = {"none": 5, "squares": 9, "pairs": 15}[features]
    phi = np.empty((width, 37))
    compiled.features_transposed(X, shift, _kernels.FEATURE_CODES[features], phi)
    np.testing.assert_allclose(phi, features_by_hand(X.astype(float), shift, features),
                               rtol=1e-15)


def test_the_choice_of_kernels(monkeypatch):
    monkeypatch.delenv(_kernels.KERNELS_VARIABLE, raising=False)
    assert _kernels.compiled(_kernels.COMPILED_MIN_WORK) is compiled
    assert _kernels.compiled(_kernels.COMPILED_MIN_WORK - 1) is None
    monkeypatch.setenv(_kernels.KERNELS_VARIABLE, "numba")
    assert _kernels.compiled(1) is compiled
    monkeypatch.setenv(_kernels.KERNELS_VARIABLE, "numpy")
    assert _kernels.compiled() is None
    monkeypatch.setenv(_kernels.KERNELS_VARIABLE, "fortran")
    with pytest.raises(ValueError, match="GMM_KERNELS must be 'numpy' or 'numba'"):
        _kernels.compiled()


@pytest.mark.parametrize("K", [1, 3, 40])
def test_most_responsible_is_the_first_maximum(K):
    rng = np.random.default_rng(K)
    joint = rng.integers(-3, 3, (K, 500)).astype(float)  # many ties
    joint[0, :5] = -np.inf
    labels, largest = np.empty(500, dtype=np.intp), np.empty(500)
    compiled.most_responsible(joint, largest, labels)
    np.testing.assert_array_equal(labels, np.argmax(joint, axis=0))
    np.testing.assert_array_equal(largest, joint.max(axis=0))
