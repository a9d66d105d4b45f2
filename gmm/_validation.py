"""Input checks shared by the library: every bad input gets a ValueError that names the
problem and the way out, never a silent NaN and never a mutated input."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np


class NonNumericDataError(ValueError, TypeError):
    """Data that cannot be converted to floats. A ValueError like every bad input here, and
    also the TypeError that numpy (and scikit-learn's estimator checks) use for it."""


def as_data(X, *, n_features: int | None = None, min_samples: int = 1, name: str = "X",
            model: str = "theta"):
    """Return ``X`` as a C-contiguous array of shape (n_samples, n_features): float32 if it
    is float32 (gmm then accumulates in float64 and returns float32 parameters, as
    scikit-learn does), float64 otherwise.

    Raises ValueError for sparse, complex, non-numeric, non-2-D, empty, NaN/inf input, or a
    feature count that differs from ``n_features`` (the message names ``model``).
    """
    if hasattr(X, "tocsr") or type(X).__module__.startswith("scipy.sparse"):
        raise ValueError(
            f"{name} is a sparse matrix, and sparse input is not supported: a Gaussian "
            f"mixture needs dense data. Pass {name}.toarray()."
        )
    try:
        raw = np.asarray(X)
        complex_data = np.iscomplexobj(raw)
        if not complex_data:
            # No copy when X already is C-contiguous float64 (or float32): nothing here
            # writes into it.
            dtype = np.float32 if raw.dtype == np.float32 else np.float64
            array = np.ascontiguousarray(raw, dtype=dtype)
    except (TypeError, ValueError) as error:
        raise NonNumericDataError(
            f"{name} must be numeric (an array of numbers); it could not be converted to "
            f"floats: {error}"
        ) from None
    if complex_data:
        raise ValueError(
            f"Complex data not supported: {name} has complex entries. Pass the real part "
            "(or real and imaginary parts as separate features)."
        )
    if array.ndim == 1:
        raise ValueError(
            f"{name} must be 2-D, of shape (n_samples, n_features); got a 1-D array of "
            f"shape {array.shape}. Reshape your data with X.reshape(-1, 1) if it has a "
            "single feature, or X.reshape(1, -1) if it is a single sample."
        )
    if array.ndim != 2:
        raise ValueError(
            f"{name} must be 2-D, of shape (n_samples, n_features); got {array.ndim}-D "
            f"array of shape {array.shape}."
        )
    if array.shape[0] == 0 or array.shape[1] == 0:
        what = "sample(s)" if array.shape[0] == 0 else "feature(s)"
        raise ValueError(
            f"{name} is empty: found 0 {what} (shape={array.shape}) while a minimum of 1 "
            "is required."
        )
    if not np.all(np.isfinite(array)):
        bad = np.argwhere(~np.isfinite(array))[0]
        raise ValueError(
            f"{name} contains NaN or infinity (first at row {bad[0]}, column {bad[1]}). "
            "Remove or impute those values before fitting."
        )
    if array.shape[0] < min_samples:
        raise ValueError(
            f"{name} has {array.shape[0]} samples, but at least {min_samples} are needed "
            f"(n_components={min_samples}). Use fewer components or more data."
        )
    if n_features is not None and array.shape[1] != n_features:
        raise ValueError(
            f"{name} has {array.shape[1]} features, but {model} is expecting {n_features} "
            "features as input."
        )
    return array


def as_sample_weight(sample_weight, n_samples: int):
    """Return per-sample weights as a float64 array of shape (n_samples,), or None.

    Raises ValueError for a wrong shape, negative, non-finite or all-zero weights.
    """
    if sample_weight is None:
        return None
    try:
        weight = np.array(sample_weight, dtype=np.float64, copy=True)
    except (TypeError, ValueError):
        raise ValueError("sample_weight must be numeric.") from None
    if weight.ndim == 0:
        weight = np.full(n_samples, float(weight))
    if weight.shape != (n_samples,):
        raise ValueError(
            f"sample_weight must have shape ({n_samples},), one weight per sample; "
            f"got shape {weight.shape}."
        )
    if not np.all(np.isfinite(weight)):
        raise ValueError("sample_weight contains NaN or infinity.")
    if np.any(weight < 0):
        raise ValueError(
            f"sample_weight must be non-negative; got {weight.min()} at index "
            f"{int(np.argmin(weight))}."
        )
    if not np.any(weight > 0):
        raise ValueError("sample_weight is zero for every sample; at least one must be positive.")
    return weight


def check_positive_int(value, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral | np.integer) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value!r}.")
    return int(value)


def check_non_negative_real(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, Real | np.floating) or not value >= 0:
        raise ValueError(f"{name} must be a non-negative number; got {value!r}.")
    if not np.isfinite(value):
        raise ValueError(f"{name} must be a finite non-negative number; got {value!r}.")
    return float(value)


def check_bool(value, name: str) -> bool:
    if not isinstance(value, bool | np.bool_):
        raise ValueError(f"{name} must be True or False; got {value!r}.")
    return bool(value)


def sum_tolerance(dtype, n_terms: int) -> float:
    """How far from 1 a sum of ``n_terms`` probabilities stored as ``dtype`` may be: a few
    rounding errors of that precision per term (1e-8 at least, as in float64)."""
    dtype = np.dtype(dtype) if np.issubdtype(np.dtype(dtype), np.floating) else np.float64
    return max(1e-8, 50.0 * max(n_terms, 1) * float(np.finfo(dtype).eps))


def check_random_state(random_state):
    """A numpy Generator from None, an int seed, a SeedSequence or a Generator."""
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        # scikit-learn's legacy type: draw a seed from it so results stay reproducible.
        return np.random.default_rng(random_state.randint(np.iinfo(np.int32).max))
    if isinstance(random_state, Integral | np.integer) and not isinstance(random_state, bool):
        if random_state < 0:
            raise ValueError(
                f"random_state must be None, an int >= 0, or a numpy Generator; got "
                f"{random_state!r}."
            )
        return np.random.default_rng(int(random_state))
    if random_state is None:
        return np.random.default_rng()
    if isinstance(random_state, np.random.SeedSequence | np.random.BitGenerator):
        return np.random.default_rng(random_state)
    raise ValueError(
        f"random_state must be None, an int >= 0, or a numpy Generator; got {random_state!r}."
    )
