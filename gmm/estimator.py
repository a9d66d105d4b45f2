"""``GaussianMixture``: a thin scikit-learn-style shell around the pure functions."""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Iterator

import numpy as np

from . import blocks, online
from ._engine import e_step_chunked
from ._validation import (
    as_data,
    as_sample_weight,
    check_bool,
    check_non_negative_real,
    check_positive_int,
    check_random_state,
    sum_tolerance,
)
from .algorithm import EMResult, em
from .covariance import get_covariance_type
from .criteria import aic, bic, n_parameters
from .exceptions import (
    ComponentCollapseError,
    convergence_warning_class,
    not_fitted_error_class,
)
from .initialization import INIT_METHODS, initial_responsibilities
from .mixture import Mixture
from .mstep import _sufficient_statistics, starting_mixture
from .prior import default_reg_covar, resolve_prior
from .sampling import sample
from .stopping import STOPPING_RULES

__all__ = ["GaussianMixture"]

#: The fitted parameters, each a view of ``mixture_`` (see ``GaussianMixture``).
_PARAMETER_ATTRIBUTES = ("weights_", "means_", "covariances_", "precisions_",
                         "precisions_cholesky_")


def _is_stream(X) -> bool:
    """An iterable of batches (an iterator, or a list or tuple of 2-D arrays) rather than
    one array-like."""
    if isinstance(X, Iterator):
        return True
    return (isinstance(X, list | tuple) and len(X) > 0
            and all(getattr(b, "ndim", None) == 2 for b in X))


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
    reg_covar : float or None, default None
        Added to the diagonal of every covariance (guards against the singularity of the
        log-likelihood, chapter 3). ``None`` means 1e-6 without a prior and 0 with one:
        the posterior mode under a prior with a positive definite scale is bounded below
        (chapter 8), so no floor is needed. A number is used as given, with or without a
        prior.
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
    prior : None, "default" or ConjugatePrior, default None
        Fit by MAP-EM under a conjugate prior (chapter 8): ``"default"`` is R mclust's
        default prior, built from the data at every ``fit``
        (:meth:`gmm.ConjugatePrior.default`); a :class:`gmm.ConjugatePrior` is used as
        given. The initial parameters are then the MAP M-step of the initial
        responsibilities, and the best of ``n_init`` fits is the one with the highest
        log posterior.
    step_exponent : float, default 0.6
        ``rho`` of the online step sizes ``(t + t_0)^(-rho)`` of :meth:`partial_fit`,
        in ``(0.5, 1]``.
    step_offset : float, default 2.0
        ``t_0`` of the online step sizes (``>= 0``; larger forgets the first batches more
        slowly).
    step_averaging : bool, default False
        Report Polyak-Ruppert averaged parameters from :meth:`partial_fit`.
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
        Per-point log-likelihood of the best fit (scikit-learn's meaning); with a prior,
        the per-point log posterior ``(ln p(X | theta) + ln p(theta)) / N``, which EM
        maximises.
    lower_bounds_ : list of float
        The per-point log-likelihood at every iteration of the best initialisation
        (scikit-learn >= 1.7).
    n_features_in_ : int
    log_likelihood_history_ : list of float
        ``ln p(X | theta^(t))`` (a sum over points) at every iteration of the best fit.
    history_ : list of Mixture or None
    mixture_ : Mixture
        The fitted ``theta``.
    prior_ : ConjugatePrior or None
        The prior the fit used (``"default"`` resolved for the data).
    reg_covar_ : float
        The ``reg_covar`` the fit used (``None`` resolved: 1e-6, or 0 with a prior).
    log_posterior_history_ : list of float or None
        With a prior, ``ln p(X | theta^(t)) + ln p(theta^(t))`` at every iteration.

    Notes
    -----
    The parameter attributes (``weights_``, ``means_``, ``covariances_``, ``precisions_``,
    ``precisions_cholesky_``) are read-only views of ``mixture_``, in the dtype of the data
    (float32 data give float32 parameters; the work is done in float64). Assigning one (say
    ``model.means_ = new_means``) replaces ``mixture_`` by a validated copy with that
    parameter changed, so every method uses it.

    Beyond scikit-learn: ``sample_weight`` in :meth:`fit`, the likelihood history, the
    parameter history, and parameters held fixed (see :func:`gmm.em`). At scale (chapter
    9): :meth:`fit`, :meth:`predict`, :meth:`score` and the rest accept a
    ``numpy.memmap``, an HDF5 or zarr dataset or a ``dask.array.Array`` and read it in row
    blocks (:mod:`gmm.blocks`); :meth:`partial_fit`, and :meth:`fit` on an iterable of
    arrays, run online EM (:mod:`gmm.online`).
    """

    def __init__(
        self,
        n_components=1,
        *,
        covariance_type="full",
        tol=1e-3,
        reg_covar=None,
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
        prior=None,
        step_exponent=0.6,
        step_offset=2.0,
        step_averaging=False,
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
        self.prior = prior
        self.step_exponent = step_exponent
        self.step_offset = step_offset
        self.step_averaging = step_averaging
        self.stopping = stopping

    # -- scikit-learn's estimator protocol -------------------------------------------------

    @classmethod
    def _parameter_names(cls):
        signature = inspect.signature(cls.__init__)
        return [name for name in signature.parameters if name != "self"]

    def get_params(self, deep=True):
        """The constructor's parameters as a dict.

        Parameters
        ----------
        deep : bool, default True
            Accepted for scikit-learn's API; no parameter is an estimator, so it changes
            nothing.

        Returns
        -------
        dict
            Parameter name -> value.
        """
        return {name: getattr(self, name) for name in self._parameter_names()}

    def set_params(self, **params):
        """Set constructor parameters; returns ``self``.

        Parameters
        ----------
        **params
            New values of constructor parameters, by name.

        Returns
        -------
        GaussianMixture
            ``self``.

        Raises
        ------
        ValueError
            For a name that is not a constructor parameter (the message lists them).
        """
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
        if self.reg_covar is not None:
            check_non_negative_real(self.reg_covar, "reg_covar")
        check_positive_int(self.max_iter, "max_iter", minimum=0)
        check_positive_int(self.n_init, "n_init")
        check_positive_int(self.verbose_interval, "verbose_interval")
        check_positive_int(self.verbose, "verbose", minimum=0)
        check_bool(self.warm_start, "warm_start")
        check_bool(self.keep_history, "keep_history")
        check_random_state(self.random_state)
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
            given = np.asarray(self.weights_init)
            weights = np.array(given, dtype=np.float64)
            if weights.shape != (K,):
                raise ValueError(
                    f"weights_init must have shape ({K},) (n_components,); got {weights.shape}."
                )
            if np.any(weights < 0) or np.any(weights > 1):
                raise ValueError(
                    f"weights_init must be in [0, 1]; got {weights.tolist()}."
                )
            if not np.isclose(weights.sum(), 1.0, rtol=0, atol=sum_tolerance(given.dtype, K)):
                raise ValueError(
                    f"weights_init must sum to 1; they sum to {weights.sum()!r}. "
                    "Normalise them: weights / weights.sum()."
                )
            weights = weights / weights.sum()  # exact, for a float32 start
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
            given = np.asarray(self.precisions_init)
            precisions = np.array(given, dtype=np.float64)
            precision = np.float32 if given.dtype == np.float32 else np.float64
            kind.check_precisions(precisions, K, n_features, "precisions_init", precision)
            covariances = kind.symmetrised(
                kind.covariances_from_precisions(kind.symmetrised(precisions)))
        return weights, means_, covariances

    def _initial_mixture(self, X, weight, rng, prior=None) -> Mixture:
        try:
            return self._initial_mixture_or_fail(X, weight, rng, prior)
        except ComponentCollapseError as error:
            raise ComponentCollapseError(f"At the start (iteration 0): {error}",
                                         component=error.component, iteration=0) from None

    def _initial_mixture_or_fail(self, X, weight, rng, prior=None) -> Mixture:
        kind = get_covariance_type(self.covariance_type)
        weights, means_, covariances = self._given_initial_values(X.shape[1])
        reg_covar = default_reg_covar(self.reg_covar, prior)
        if weights is not None and means_ is not None and covariances is not None:
            return Mixture(weights, means_, covariances, kind.name)
        resp = initial_responsibilities(
            X, self.n_components, self.init_params, rng, sample_weight=weight
        )
        statistics = _sufficient_statistics(X, resp, kind.name, weight)
        return starting_mixture(statistics, reg_covar, (weights, means_, covariances), prior)

    def fit(self, X, y=None, sample_weight=None):
        """Fit by EM (``n_init`` starts, the best kept). Returns ``self``.

        Parameters
        ----------
        X : array_like, shape (N, D)
            The data: an array, row blocks (:mod:`gmm.blocks`) or a stream of 2-D batches
            (an iterator, or a list or tuple of arrays: online EM).
        y : ignored
            Not used; present for scikit-learn's API.
        sample_weight : array_like, shape (N,), optional
            Point ``n`` counts ``sample_weight[n]`` times (integer weights give exactly the
            fit on repeated rows).

        Returns
        -------
        GaussianMixture
            ``self``, fitted.
        """
        if _is_stream(X):
            return self._fit_stream(X, sample_weight)
        if blocks.is_row_blocked(X):
            return self._fit_blocks(X, sample_weight)
        self.fit_predict(X, y, sample_weight=sample_weight)
        return self

    def fit_predict(self, X, y=None, sample_weight=None):
        """Fit, then return the most responsible component of every point.

        Parameters
        ----------
        X : array_like of shape (N, D)
            The data (or row blocks, see :mod:`gmm.blocks`; not a stream, which is read
            once).
        y : ignored
            Not used; present for scikit-learn's API.
        sample_weight : array_like of shape (N,), optional
            As in :meth:`fit`.

        Returns
        -------
        ndarray of shape (N,)
            The label ``k`` (from 0) of the most responsible component of every point.
        """
        if _is_stream(X):
            raise ValueError("fit_predict needs the data twice and a stream is read once: "
                             "call fit on the stream, then predict on each batch.")
        if blocks.is_row_blocked(X):
            return self.fit(X, sample_weight=sample_weight).predict(X)
        self._check_settings()
        X = as_data(X, min_samples=self.n_components)
        weight = as_sample_weight(sample_weight, X.shape[0])
        warm = self.warm_start and hasattr(self, "mixture_")
        if warm:
            self._check_warm_start(X)
        rng = check_random_state(self.random_state)
        prior = resolve_prior(self.prior, X, self.n_components, self.covariance_type, weight)
        best, collapses = None, []
        n_init = 1 if warm else self.n_init
        for init in range(n_init):
            if self.verbose >= 1:
                print(f"Initialization {init + 1}", flush=True)
            try:
                theta0 = (self.mixture_ if warm
                          else self._initial_mixture(X, weight, rng, prior))
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
                    keep_log_resp=False,
                    previous_lower_bound=self.lower_bound_ if warm else -np.inf,
                    prior=prior,
                )
            except ComponentCollapseError as error:
                if n_init == 1:
                    raise
                collapses.append((init, error))
                continue
            if self.verbose >= 1:
                state = "converged" if result.converged else "did not converge"
                print(f"Initialization {init + 1} {state} after {result.n_iter} iterations; "
                      f"{'ln p(X)' if prior is None else 'log posterior'} per point "
                      f"{result.lower_bound:.6f}", flush=True)
            if best is None or result.lower_bound > best.lower_bound:
                best = result
        if best is None:
            init, error = collapses[-1]
            raise ComponentCollapseError(
                f"Every one of the n_init={n_init} initialisations collapsed (the last, "
                f"initialisation {init + 1}: {error}", component=error.component,
                iteration=error.iteration,
            ) from error
        for init, error in collapses:
            warnings.warn(
                f"Initialisation {init + 1} of {n_init} collapsed and was set aside; the "
                f"best of the others is kept. {error}",
                UserWarning,
                stacklevel=2,
            )
        if not best.converged and self.max_iter > 0:
            warnings.warn(
                "The best of the initialisations did not converge: EM stopped after "
                f"max_iter={self.max_iter} iterations with the log-likelihood still changing "
                f"by more than tol={self.tol} ({self.stopping!r} rule). Increase max_iter or "
                "tol, or check the data.",
                convergence_warning_class(),
                stacklevel=2,
            )
        self._set_fitted(best, X)
        self.prior_ = prior
        self.reg_covar_ = default_reg_covar(self.reg_covar, prior)
        return best.labels

    # -- at scale (chapter 9) ---------------------------------------------------------------

    def _fit_blocks(self, X, sample_weight):
        """:meth:`fit` on data read in row blocks (:mod:`gmm.blocks`)."""
        self._check_settings()
        n_rows, n_features = (int(n) for n in X.shape)
        weight = sample_weight
        if weight is not None and not blocks._is_dask_array(weight):
            weight = as_sample_weight(weight, n_rows)
        reg_covar = self._reg_covar_without_prior("fits on data read in row blocks")
        passes = blocks.passes_for(X, weight)
        warm = self.warm_start and hasattr(self, "mixture_")
        if warm:
            self._check_warm_start(X)
        rng = check_random_state(self.random_state)
        best = None
        for _ in range(1 if warm else self.n_init):
            theta0 = self.mixture_ if warm else blocks.initial_mixture(
                passes, self.n_components, self.covariance_type, self.init_params, rng,
                reg_covar, self._given_initial_values(n_features))
            result = blocks.em_blocks(
                passes, theta0, tol=self.tol, max_iter=self.max_iter, reg_covar=reg_covar,
                keep_history=self.keep_history, stopping=self.stopping, verbose=self.verbose,
                verbose_interval=self.verbose_interval,
                previous_lower_bound=self.lower_bound_ if warm else -np.inf)
            if best is None or result.lower_bound > best.lower_bound:
                best = result
        if not best.converged and self.max_iter > 0:
            warnings.warn(
                "The best of the initialisations did not converge: EM stopped after "
                f"max_iter={self.max_iter} iterations. Increase max_iter or tol.",
                convergence_warning_class(), stacklevel=3)
        self._set_fitted(best, X)
        self.__dict__.pop("online_state_", None)
        return self

    def _reg_covar_without_prior(self, where: str) -> float:
        """``reg_covar`` for the block and online paths, which fit without a prior."""
        if self.prior is not None:
            raise ValueError(
                f"prior= is not supported by {where} yet: MAP-EM runs on data in memory. "
                "Fit an in-memory array, or set prior=None."
            )
        return default_reg_covar(self.reg_covar, None)

    def _check_step_settings(self):
        rho = self.step_exponent
        if isinstance(rho, bool) or not isinstance(rho, int | float) or not 0.5 < rho <= 1:
            raise ValueError(
                f"step_exponent must be in (0.5, 1] (the step sizes must sum to infinity "
                f"while their squares do not); got {rho!r}."
            )
        check_non_negative_real(self.step_offset, "step_offset")

    def partial_fit(self, X, y=None, sample_weight=None):
        """One step of online (stepwise) EM on the batch ``X``; returns ``self``.

        The first call (or the first after :meth:`fit` on an array) starts from
        ``init_params`` on this batch, or from the fitted parameters if there are any,
        and takes the batch's statistics as ``s_0``; every later call moves the
        statistics by ``eta_t = (t + step_offset)^(-step_exponent)`` towards the batch's
        (:func:`gmm.online.online_step`).

        Parameters
        ----------
        X : array_like, shape (n, D)
        y : ignored
        sample_weight : array_like, shape (n,), optional

        Returns
        -------
        GaussianMixture
            ``self``, with the parameters of the new step.
        """
        self._check_settings()
        self._check_step_settings()
        reg_covar = self._reg_covar_without_prior("partial_fit (online EM)")
        state = getattr(self, "online_state_", None)
        if state is None:
            X = as_data(X, min_samples=self.n_components)
        else:
            X = as_data(X, n_features=self.n_features_in_, model=type(self).__name__)
        weight = as_sample_weight(sample_weight, X.shape[0])
        if state is None:
            fitted = self.__dict__.get("mixture_")
            if fitted is not None and fitted.n_features == X.shape[1]:
                theta0 = fitted
            else:
                theta0 = self._initial_mixture(X, weight, check_random_state(self.random_state))
            state = online.start_online(X, weight, theta0, reg_covar, self.step_averaging)
        else:
            state = online.online_step(state, X, weight, reg_covar, self.step_exponent,
                                       self.step_offset, self.step_averaging)
        self.online_state_ = state
        result = EMResult(online.reported_mixture(state), list(state.log_likelihoods), False,
                          state.n_steps, state.log_likelihoods[-1], None,
                          lower_bounds=list(state.log_likelihoods))
        self._set_fitted(result, X)
        self.online_state_ = state
        return self

    def _fit_stream(self, batches, sample_weight):
        """:meth:`fit` on an iterable of arrays: :meth:`partial_fit` on each, in order,
        from a fresh start."""
        if sample_weight is not None:
            raise ValueError("sample_weight cannot go with a stream of batches; call "
                             "partial_fit(batch, sample_weight=w) for each batch instead.")
        for name in ("online_state_", "mixture_"):
            self.__dict__.pop(name, None)
        for batch in batches:
            self.partial_fit(batch)
        if not hasattr(self, "online_state_"):
            raise ValueError("The stream of batches was empty.")
        return self

    def _check_warm_start(self, X):
        """A warm start continues the previous fit, so it must be a fit of the same model."""
        theta = self.mixture_
        if theta.n_features != X.shape[1]:
            raise ValueError(
                f"X has {X.shape[1]} features, but the warm start has {theta.n_features}."
            )
        kind = get_covariance_type(self.covariance_type)
        if theta.n_components != self.n_components or theta.covariance_type != kind.name:
            raise ValueError(
                "warm_start=True continues the previous fit, which has "
                f"n_components={theta.n_components} and "
                f"covariance_type={theta.covariance_type!r}; the settings now ask for "
                f"n_components={self.n_components} and covariance_type={kind.name!r}. Set "
                "warm_start=False to fit the new model from a fresh start."
            )

    def _set_fitted(self, result, X):
        self.mixture_ = result.mixture
        self._fitted_dtype = X.dtype
        self.converged_ = result.converged
        self.n_iter_ = result.n_iter
        self.lower_bound_ = result.lower_bound
        self.lower_bounds_ = list(result.lower_bounds)
        self.log_likelihood_history_ = list(result.log_likelihoods)
        self.history_ = result.history
        self.log_posterior_history_ = result.log_posteriors
        self.n_features_in_ = X.shape[1]

    # -- the fitted parameters: views of mixture_ ------------------------------------------

    def _parameter(self, values):
        dtype = self.__dict__.get("_fitted_dtype", np.float64)
        array = np.array(values, dtype=dtype)
        array.flags.writeable = False
        return array

    def _replace_mixture(self, theta):
        self._fitted_mixture()
        self.mixture_ = theta

    @property
    def weights_(self):
        return self._parameter(self._fitted_mixture().weights)

    @weights_.setter
    def weights_(self, value):
        self._replace_mixture(self._fitted_mixture().replace(weights=value))

    @property
    def means_(self):
        return self._parameter(self._fitted_mixture().means)

    @means_.setter
    def means_(self, value):
        self._replace_mixture(self._fitted_mixture().replace(means=value))

    @property
    def covariances_(self):
        return self._parameter(self._fitted_mixture().covariances)

    @covariances_.setter
    def covariances_(self, value):
        self._replace_mixture(self._fitted_mixture().replace(covariances=value))

    @property
    def precisions_(self):
        return self._parameter(self._fitted_mixture().precisions)

    @precisions_.setter
    def precisions_(self, value):
        theta = self._fitted_mixture()
        self._replace_mixture(Mixture.from_precisions(theta.weights, theta.means, value,
                                                      theta.covariance_type))

    @property
    def precisions_cholesky_(self):
        return self._parameter(self._fitted_mixture().precisions_cholesky)

    @precisions_cholesky_.setter
    def precisions_cholesky_(self, value):
        kind = self._fitted_mixture().kind
        self.precisions_ = kind.precisions(np.asarray(value, dtype=np.float64))

    # -- using the fitted model ------------------------------------------------------------

    def _fitted_mixture(self):
        theta = self.__dict__.get("mixture_")
        if theta is None:
            raise not_fitted_error_class()(
                "This GaussianMixture instance is not fitted yet. Call 'fit' with "
                "appropriate arguments before using this estimator."
            )
        return theta

    def _checked(self, X):
        theta = self._fitted_mixture()
        if blocks.is_row_blocked(X):
            if len(X.shape) != 2 or X.shape[1] != theta.n_features:
                raise ValueError(
                    f"X has shape {X.shape}, but {type(self).__name__} is expecting "
                    f"{theta.n_features} features as input."
                )
            return theta, X
        return theta, as_data(X, n_features=theta.n_features, model=type(self).__name__)

    def score_samples(self, X):
        """``ln p(x_n)`` for every point (memory ``O(N)`` beyond ``X``).

        Parameters
        ----------
        X : array_like of shape (N, D)
            The data (or row blocks, see :mod:`gmm.blocks`), with the fitted ``D``.

        Returns
        -------
        ndarray of shape (N,)
            The log-density of the fitted mixture at every point.
        """
        theta, X = self._checked(X)
        if blocks.is_row_blocked(X):
            return blocks.passes_for(X).map_rows(blocks.block_log_marginal, theta)
        return e_step_chunked(X, theta, log_marginal=True)["log_marginal"]

    def score(self, X, y=None):
        """The mean of ``ln p(x_n)`` over the points (scikit-learn's meaning).

        Parameters
        ----------
        X : array_like of shape (N, D)
            The data (or row blocks, see :mod:`gmm.blocks`), with the fitted ``D``.
        y : ignored
            Not used; present for scikit-learn's API.

        Returns
        -------
        float
            ``ln p(X | theta) / N``.
        """
        theta, X = self._checked(X)
        if blocks.is_row_blocked(X):
            total = blocks.passes_for(X).map_reduce(blocks.block_em_statistics, theta, False)
            return float(total[0] / X.shape[0])
        return float(e_step_chunked(X, theta)["log_likelihood"] / X.shape[0])

    def predict_proba(self, X):
        """The responsibilities ``gamma(z_nk)``.

        Parameters
        ----------
        X : array_like of shape (N, D)
            The data (or row blocks, see :mod:`gmm.blocks`), with the fitted ``D``.

        Returns
        -------
        ndarray of shape (N, K)
            Every point's responsibilities (each row sums to one).
        """
        theta, X = self._checked(X)
        if blocks.is_row_blocked(X):
            return blocks.passes_for(X).map_rows(blocks.block_responsibilities, theta)
        resp = e_step_chunked(X, theta, log_resp=True)["log_resp"]
        return np.exp(resp, out=resp)  # in place: the answer is the only (N, K) array

    def predict(self, X):
        """The most responsible component of every point (memory ``O(N)`` beyond ``X``).

        Parameters
        ----------
        X : array_like of shape (N, D)
            The data (or row blocks, see :mod:`gmm.blocks`), with the fitted ``D``.

        Returns
        -------
        ndarray of shape (N,)
            The label ``k`` (from 0) of the most responsible component of every point.
        """
        theta, X = self._checked(X)
        if blocks.is_row_blocked(X):
            return blocks.passes_for(X).map_rows(blocks.block_labels, theta)
        return e_step_chunked(X, theta, labels=True, log_likelihood=False)["labels"]

    def sample(self, n_samples=1):
        """Draw ``n_samples`` points by ancestral sampling; returns ``(X, labels)``.

        Parameters
        ----------
        n_samples : int, default 1
            The number of points to draw.

        Returns
        -------
        X : ndarray of shape (n_samples, D)
            The points.
        labels : ndarray of shape (n_samples,)
            The component (from 0) each point was drawn from.
        """
        theta = self._fitted_mixture()
        return sample(theta, n_samples, check_random_state(self.random_state))

    def _n_parameters(self):
        theta = self._fitted_mixture()
        return n_parameters(theta.n_components, theta.n_features, theta.covariance_type)

    def bic(self, X):
        """Bayesian information criterion on ``X`` (lower is better), eq. :eq:`bic`.

        With a prior: the log-likelihood at the MAP estimate (not the log posterior), as
        mclust does (Fraley and Raftery 2007).

        Parameters
        ----------
        X : array_like of shape (N, D)
            The data (or row blocks, see :mod:`gmm.blocks`), with the fitted ``D``.

        Returns
        -------
        float
        """
        theta, X = self._checked(X)
        return bic(self.score(X) * X.shape[0], self._n_parameters(), X.shape[0])

    def aic(self, X):
        """Akaike information criterion on ``X`` (lower is better), eq. :eq:`aic`; with a
        prior, of the log-likelihood at the MAP estimate (as :meth:`bic`).

        Parameters
        ----------
        X : array_like of shape (N, D)
            The data (or row blocks, see :mod:`gmm.blocks`), with the fitted ``D``.

        Returns
        -------
        float
        """
        theta, X = self._checked(X)
        return aic(self.score(X) * X.shape[0], self._n_parameters())
