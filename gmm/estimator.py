"""``GaussianMixture``: a thin scikit-learn-style shell around the pure functions."""

from __future__ import annotations

import inspect
import warnings

import numpy as np

from ._validation import (
    as_data,
    as_sample_weight,
    check_non_negative_real,
    check_positive_int,
    check_random_state,
)
from .algorithm import e_step, em
from .covariance import get_covariance_type
from .criteria import aic, bic, n_parameters
from .exceptions import ConvergenceWarning, NotFittedError, not_fitted_error_class
from .initialization import INIT_METHODS, initial_responsibilities
from .likelihood import _log_weighted_densities, logsumexp
from .mixture import Mixture
from .mstep import _sufficient_statistics, means, mixing_weights
from .sampling import sample
from .stopping import STOPPING_RULES

__all__ = ["GaussianMixture", "ConvergenceWarning", "NotFittedError"]


class GaussianMixture:
    """A Gaussian mixture fitted by EM, with scikit-learn's names and meanings.

    The estimator holds the settings and the fitted attributes; the work is done by the
    pure functions of :mod:`gmm` (:func:`gmm.em`, :func:`gmm.m_step`,
    :func:`gmm.responsibilities`, ...).

    Parameters
    ----------
    n_components : int, default 1
        ``K``.
    covariance_type : {"full", "tied", "diag", "spherical"}, default "full"
    tol : float, default 1e-3
        EM stops when the per-point log-likelihood changes by less than this.
    reg_covar : float, default 1e-6
        Added to the diagonal of every covariance (guards against the singularity of the
        log-likelihood, chapter 3).
    max_iter : int, default 100
    n_init : int, default 1
        Number of initialisations; the fit with the highest log-likelihood is kept.
    init_params : {"kmeans", "k-means++", "random", "random_from_data"}, default "kmeans"
        See :func:`gmm.initial_responsibilities`.
    weights_init, means_init, precisions_init : array_like, optional
        Given starting values; they override the ones from ``init_params``.
        ``precisions_init`` is in the layout of the covariance type.
    random_state : None, int or numpy.random.Generator
    warm_start : bool, default False
        Start ``fit`` from the previous fit's parameters (``n_init`` is then ignored).
    verbose : int, default 0
        ``1`` prints each initialisation and the log-likelihood every ``verbose_interval``
        iterations.
    verbose_interval : int, default 10
    keep_history : bool, default False
        Keep the parameters of every EM iteration in ``history_``.
    stopping : {"change", "aitken"}, default "change"
        The stopping rule of :func:`gmm.em`: scikit-learn's change of the per-point
        log-likelihood, or Aitken's estimate of the rise still to come (chapter 7); both
        compare with ``tol``.

    Attributes
    ----------
    weights_ : ndarray, shape (K,)
    means_ : ndarray, shape (K, D)
    covariances_ : ndarray
    precisions_ : ndarray
    precisions_cholesky_ : ndarray
    converged_ : bool
    n_iter_ : int
    lower_bound_ : float
        Per-point log-likelihood of the best fit (scikit-learn's meaning).
    n_features_in_ : int
    log_likelihood_history_ : list of float
        ``ln p(X | theta^(t))`` (a sum over points) at every iteration of the best fit.
    history_ : list of Mixture or None
    mixture_ : Mixture
        The fitted ``theta``.

    Notes
    -----
    Beyond scikit-learn: ``sample_weight`` in :meth:`fit`, the likelihood history, the
    parameter history, and parameters held fixed (see :func:`gmm.em`).
    """

    def __init__(
        self,
        n_components=1,
        *,
        covariance_type="full",
        tol=1e-3,
        reg_covar=1e-6,
        max_iter=100,
        n_init=1,
        init_params="kmeans",
        weights_init=None,
        means_init=None,
        precisions_init=None,
        random_state=None,
        warm_start=False,
        verbose=0,
        verbose_interval=10,
        keep_history=False,
        stopping="change",
    ):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weights_init = weights_init
        self.means_init = means_init
        self.precisions_init = precisions_init
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self.keep_history = keep_history
        self.stopping = stopping

    # -- scikit-learn's estimator protocol -------------------------------------------------

    @classmethod
    def _parameter_names(cls):
        signature = inspect.signature(cls.__init__)
        return [name for name in signature.parameters if name != "self"]

    def get_params(self, deep=True):
        """The constructor's parameters as a dict."""
        return {name: getattr(self, name) for name in self._parameter_names()}

    def set_params(self, **params):
        """Set constructor parameters; returns ``self``."""
        valid = self._parameter_names()
        for name, value in params.items():
            if name not in valid:
                raise ValueError(
                    f"Invalid parameter {name!r} for GaussianMixture; valid parameters are "
                    f"{valid}."
                )
            setattr(self, name, value)
        return self

    def __repr__(self):
        defaults = {
            name: parameter.default
            for name, parameter in inspect.signature(type(self).__init__).parameters.items()
        }
        changed = []
        for name, value in self.get_params().items():
            default = defaults[name]
            same = value is default or (
                not isinstance(value, np.ndarray) and type(value) is type(default)
                and value == default
            )
            if not same:
                changed.append(f"{name}={value!r}")
        return f"GaussianMixture({', '.join(changed)})"

    def __sklearn_tags__(self):
        # Only scikit-learn calls this, so scikit-learn is importable here; gmm itself never
        # imports it.
        from sklearn.utils import Tags, TargetTags

        return Tags(
            estimator_type="density_estimator",
            target_tags=TargetTags(required=False),
            transformer_tags=None,
            regressor_tags=None,
            classifier_tags=None,
        )

    # -- fitting ---------------------------------------------------------------------------

    def _check_settings(self):
        check_positive_int(self.n_components, "n_components")
        get_covariance_type(self.covariance_type)
        check_non_negative_real(self.tol, "tol")
        check_non_negative_real(self.reg_covar, "reg_covar")
        check_positive_int(self.max_iter, "max_iter", minimum=0)
        check_positive_int(self.n_init, "n_init")
        check_positive_int(self.verbose_interval, "verbose_interval")
        if self.stopping not in STOPPING_RULES:
            raise ValueError(
                f"stopping must be one of {list(STOPPING_RULES)}; got {self.stopping!r}."
            )
        if self.init_params not in INIT_METHODS:
            raise ValueError(
                f"Unknown init_params {self.init_params!r}; choose one of {list(INIT_METHODS)}."
            )

    def _given_initial_values(self, n_features):
        """The user's ``weights_init``, ``means_init``, ``precisions_init``, checked."""
        K = self.n_components
        kind = get_covariance_type(self.covariance_type)
        weights = means_ = covariances = None
        if self.weights_init is not None:
            weights = np.array(self.weights_init, dtype=np.float64)
            if weights.shape != (K,):
                raise ValueError(
                    f"weights_init must have shape ({K},) (n_components,); got {weights.shape}."
                )
            if np.any(weights < 0) or np.any(weights > 1):
                raise ValueError(
                    f"weights_init must be in [0, 1]; got {weights.tolist()}."
                )
            if not np.isclose(weights.sum(), 1.0, rtol=0, atol=1e-8):
                raise ValueError(
                    f"weights_init must sum to 1; they sum to {weights.sum():.6f}. "
                    "Normalise them: weights / weights.sum()."
                )
        if self.means_init is not None:
            means_ = np.array(self.means_init, dtype=np.float64)
            if means_.shape != (K, n_features):
                raise ValueError(
                    f"means_init must have shape ({K}, {n_features}) (n_components, "
                    f"n_features); got {means_.shape}."
                )
            if not np.all(np.isfinite(means_)):
                raise ValueError("means_init contains NaN or infinity.")
        if self.precisions_init is not None:
            precisions = np.array(self.precisions_init, dtype=np.float64)
            kind.check_precisions(precisions, K, n_features, "precisions_init")
            covariances = kind.covariances_from_precisions(precisions)
        return weights, means_, covariances

    def _initial_mixture(self, X, weight, rng) -> Mixture:
        kind = get_covariance_type(self.covariance_type)
        weights, means_, covariances = self._given_initial_values(X.shape[1])
        if weights is None or means_ is None or covariances is None:
            resp = initial_responsibilities(
                X, self.n_components, self.init_params, rng, sample_weight=weight
            )
            statistics = _sufficient_statistics(X, resp, kind.name, weight)
            estimated_means = means(statistics)
            if weights is None:
                weights = mixing_weights(statistics)
            if covariances is None:
                # About the means of the initial responsibilities, as scikit-learn does.
                covariances = kind.estimate(statistics, estimated_means, self.reg_covar)
            if means_ is None:
                means_ = estimated_means
        return Mixture(weights, means_, covariances, kind.name)

    def fit(self, X, y=None, sample_weight=None):
        """Fit by EM (``n_init`` starts, the best kept). Returns ``self``.

        Parameters
        ----------
        X : array_like, shape (N, D)
        y : ignored
        sample_weight : array_like, shape (N,), optional
            Point ``n`` counts ``sample_weight[n]`` times (integer weights give exactly the
            fit on repeated rows).
        """
        self.fit_predict(X, y, sample_weight=sample_weight)
        return self

    def fit_predict(self, X, y=None, sample_weight=None):
        """Fit, then return the most responsible component of every point, shape ``(N,)``."""
        self._check_settings()
        X = as_data(X, min_samples=self.n_components)
        weight = as_sample_weight(sample_weight, X.shape[0])
        warm = self.warm_start and hasattr(self, "mixture_")
        if warm and self.mixture_.n_features != X.shape[1]:
            raise ValueError(
                f"X has {X.shape[1]} features, but the warm start has "
                f"{self.mixture_.n_features}."
            )
        rng = check_random_state(self.random_state)
        best = None
        for init in range(1 if warm else self.n_init):
            if self.verbose >= 1:
                print(f"Initialization {init}", flush=True)
            theta0 = self.mixture_ if warm else self._initial_mixture(X, weight, rng)
            result = em(
                X,
                theta0,
                tol=self.tol,
                max_iter=self.max_iter,
                reg_covar=self.reg_covar,
                stopping=self.stopping,
                sample_weight=weight,
                keep_history=self.keep_history,
                verbose=self.verbose,
                verbose_interval=self.verbose_interval,
            )
            if self.verbose >= 1:
                state = "converged" if result.converged else "did not converge"
                print(f"Initialization {init} {state} after {result.n_iter} iterations; "
                      f"ln p(X) per point {result.lower_bound:.6f}", flush=True)
            if best is None or result.lower_bound > best.lower_bound:
                best = result
        if not best.converged and self.max_iter > 0:
            warnings.warn(
                "The best of the initialisations did not converge: EM stopped after "
                f"max_iter={self.max_iter} iterations with the log-likelihood still changing "
                f"by more than tol={self.tol} ({self.stopping!r} rule). Increase max_iter or "
                "tol, or check the data.",
                ConvergenceWarning,
                stacklevel=2,
            )
        self._set_fitted(best, X.shape[1])
        return best.log_resp.argmax(axis=1)

    def _set_fitted(self, result, n_features):
        theta = result.mixture
        self.mixture_ = theta
        self.weights_ = np.array(theta.weights)
        self.means_ = np.array(theta.means)
        self.covariances_ = np.array(theta.covariances)
        self.precisions_cholesky_ = np.array(theta.precisions_cholesky)
        self.precisions_ = theta.precisions
        self.converged_ = result.converged
        self.n_iter_ = result.n_iter
        self.lower_bound_ = result.lower_bound
        self.log_likelihood_history_ = list(result.log_likelihoods)
        self.history_ = result.history
        self.n_features_in_ = n_features

    # -- using the fitted model ------------------------------------------------------------

    def _fitted_mixture(self):
        if not hasattr(self, "mixture_"):
            raise not_fitted_error_class()(
                "This GaussianMixture instance is not fitted yet. Call 'fit' with "
                "appropriate arguments before using this estimator."
            )
        return self.mixture_

    def _checked(self, X):
        theta = self._fitted_mixture()
        return theta, as_data(X, n_features=theta.n_features, model=type(self).__name__)

    def score_samples(self, X):
        """``ln p(x_n)`` for every point, shape ``(N,)``."""
        theta, X = self._checked(X)
        return logsumexp(_log_weighted_densities(X, theta), axis=1)

    def score(self, X, y=None):
        """The mean of ``ln p(x_n)`` over the points (scikit-learn's meaning)."""
        return float(self.score_samples(X).mean())

    def predict_proba(self, X):
        """The responsibilities ``gamma(z_nk)``, shape ``(N, K)``."""
        theta, X = self._checked(X)
        return np.exp(e_step(X, theta)[1])

    def predict(self, X):
        """The most responsible component of every point, shape ``(N,)``."""
        theta, X = self._checked(X)
        return e_step(X, theta)[1].argmax(axis=1)

    def sample(self, n_samples=1):
        """Draw ``n_samples`` points by ancestral sampling; returns ``(X, labels)``."""
        theta = self._fitted_mixture()
        return sample(theta, n_samples, check_random_state(self.random_state))

    def _n_parameters(self):
        theta = self._fitted_mixture()
        return n_parameters(theta.n_components, theta.n_features, theta.covariance_type)

    def bic(self, X):
        """Bayesian information criterion on ``X`` (lower is better), eq. :eq:`bic`."""
        theta, X = self._checked(X)
        return bic(self.score(X) * X.shape[0], self._n_parameters(), X.shape[0])

    def aic(self, X):
        """Akaike information criterion on ``X`` (lower is better), eq. :eq:`aic`."""
        theta, X = self._checked(X)
        return aic(self.score(X) * X.shape[0], self._n_parameters())
