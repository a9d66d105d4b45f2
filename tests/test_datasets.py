"""Data (gmm/datasets): Old Faithful against R's published summary of datasets::faithful, against
the SHA-256 of the file as exported from R, and against the csv module's reading of the shipped
file; standardize against numpy; make_mixture against the sampler.

Every fact checked here is recorded in this file: no test reads anything outside the repository.
"""

import csv
import hashlib
import io
from importlib import resources

import numpy as np
import pytest

import gmm
from gmm import datasets

# SHA-256 of old_faithful.csv as exported from R's datasets::faithful (gmm/datasets/README.md),
# computed once with `sha256sum` from the project's source copy of the export (outside this
# repository), which the shipped file was byte-identical to on 2026-12-01. A changed byte of
# the shipped data (an edit, a re-export, a line-ending conversion) fails this test.
OLD_FAITHFUL_SHA256 = "2da9ef67231ab7542d2ec3e5a741a8d53ada92a24103195ce7d1f9b8e36a986d"


def shipped_old_faithful_bytes() -> bytes:
    return resources.files("gmm.datasets").joinpath("old_faithful.csv").read_bytes()


def test_old_faithful_matches_r_summary():
    X = datasets.load_old_faithful()
    assert X.shape == (272, 2) and X.dtype == np.float64
    assert datasets.OLD_FAITHFUL_COLUMNS == ("eruptions", "waiting")
    # head(faithful) in R.
    np.testing.assert_array_equal(X[:6], [[3.600, 79], [1.800, 54], [3.333, 74],
                                          [2.283, 62], [4.533, 85], [2.883, 55]])
    # mean() and sd() in R, printed to 7 significant digits.
    np.testing.assert_allclose(X.mean(axis=0), [3.487783, 70.89706], rtol=2e-7)
    np.testing.assert_allclose(X.std(axis=0, ddof=1), [1.141371, 13.59497], rtol=5e-7)
    assert X[:, 0].min() == 1.6 and X[:, 0].max() == 5.1
    assert X[:, 1].min() == 43 and X[:, 1].max() == 96
    # The waiting times are whole minutes (the trap for degenerate fits).
    np.testing.assert_array_equal(X[:, 1], np.round(X[:, 1]))


def test_shipped_old_faithful_is_the_r_export_byte_for_byte():
    assert hashlib.sha256(shipped_old_faithful_bytes()).hexdigest() == OLD_FAITHFUL_SHA256


def test_old_faithful_equals_the_shipped_csv_read_with_the_csv_module():
    rows = list(csv.reader(io.StringIO(shipped_old_faithful_bytes().decode("utf-8"))))
    assert rows[0] == ["eruptions", "waiting"]
    expected = np.array([[float(value) for value in row] for row in rows[1:]])
    np.testing.assert_array_equal(datasets.load_old_faithful(), expected)


def test_old_faithful_returns_a_fresh_writable_copy():
    a = datasets.load_old_faithful()
    a[0, 0] = -1.0
    assert datasets.load_old_faithful()[0, 0] == 3.6


def test_standardize():
    X = datasets.load_old_faithful()
    Z = datasets.standardize(X)
    np.testing.assert_allclose(Z.mean(axis=0), 0.0, atol=1e-14)
    np.testing.assert_allclose(Z.std(axis=0), 1.0, rtol=1e-14)
    np.testing.assert_allclose(Z, (X - X.mean(0)) / X.std(0), rtol=1e-14)
    assert X[0, 0] == 3.6  # input untouched
    with pytest.raises(ValueError, match="constant"):
        datasets.standardize([[1.0, 2.0], [1.0, 3.0]])


def test_make_mixture():
    X, z, theta = datasets.make_mixture(300, random_state=0)
    assert X.shape == (300, 2) and z.shape == (300,)
    assert theta.n_components == 3
    X2, z2 = gmm.sample(theta, 300, random_state=0)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(z, z2)
    custom = gmm.Mixture([1.0], [[5.0]], [[[0.01]]])
    X3, z3, theta3 = datasets.make_mixture(100, custom, random_state=1)
    assert theta3 is custom and np.all(z3 == 0)
    assert abs(X3.mean() - 5.0) < 5 * 0.1 / np.sqrt(100)  # 5 standard errors
    with pytest.raises(ValueError, match="n_samples"):
        datasets.make_mixture(0)


def test_running_example_responsibilities_are_the_logistic_function():
    # Independent: Bayes' rule typed out with scipy's normal density.
    import scipy.stats

    X, theta = gmm.datasets.load_running_example()
    x = X[:, 0]
    joint = [0.5 * scipy.stats.norm.pdf(x, loc=mu, scale=2.0) for mu in (1.0, 5.0)]
    gamma_1 = joint[0] / (joint[0] + joint[1])
    np.testing.assert_allclose(gamma_1, 1 / (1 + np.exp(x - 3)), rtol=1e-12)
    np.testing.assert_allclose(gamma_1.sum(), 3.0, rtol=1e-12)
    np.testing.assert_allclose(gmm.responsibilities(X, theta)[:, 0], gamma_1, rtol=1e-12)
