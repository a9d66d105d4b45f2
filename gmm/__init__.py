"""gmm: Gaussian mixture models and the EM algorithm, each function one equation of the book.

The functional core (pure functions on arrays, each implementing one labelled equation):

- :class:`Mixture` -- the parameters ``theta = (pi, mu, Sigma)``;
- densities and likelihood (:mod:`gmm.likelihood`): :func:`log_gaussian_density`,
  :func:`log_weighted_densities`, :func:`logsumexp`, :func:`log_marginal`,
  :func:`log_likelihood`, :func:`responsibilities`, :func:`log_responsibilities`;
- complete data (:mod:`gmm.complete_data`): :func:`complete_data_log_likelihood`,
  :func:`q_function`, :func:`responsibility_entropy`;
- the M-step (:mod:`gmm.mstep`): :func:`sufficient_statistics`, :func:`m_step`;
- priors and MAP-EM (:mod:`gmm.prior`): :class:`ConjugatePrior` (mclust's default with
  ``ConjugatePrior.default``), :func:`log_prior`;
- :func:`sample`, :func:`em` (:mod:`gmm.algorithm`), initialisation (:func:`kmeans`,
  :func:`kmeans_plusplus`, :func:`initial_responsibilities`), criteria (:mod:`gmm.criteria`:
  :func:`n_parameters`, :func:`bic`, :func:`aic`, :func:`icl`, :func:`is_degenerate`), model
  selection (:func:`select_model`, :func:`held_out_log_likelihood`);
- the estimator :class:`GaussianMixture` (scikit-learn conventions).

Plotting (:mod:`gmm.plotting`, needs matplotlib) and sliders (:mod:`gmm.interactive`, needs
ipywidgets) are imported on their own; ``import gmm`` needs numpy only.
"""

from . import datasets
from .algorithm import EMResult, e_step, em
from .complete_data import complete_data_log_likelihood, q_function, responsibility_entropy
from .covariance import COVARIANCE_TYPES, CovarianceType, get_covariance_type
from .criteria import aic, bic, icl, is_degenerate, n_parameters
from .estimator import GaussianMixture
from .exceptions import ComponentCollapseError, NotFittedError, convergence_warning_class
from .initialization import initial_responsibilities, kmeans, kmeans_plusplus
from .likelihood import (
    log_gaussian_density,
    log_likelihood,
    log_marginal,
    log_responsibilities,
    log_weighted_densities,
    logsumexp,
    responsibilities,
)
from .mixture import Mixture
from .model_selection import ModelSelection, held_out_log_likelihood, select_model
from .mstep import SufficientStatistics, m_step, sufficient_statistics
from .prior import ConjugatePrior, log_prior
from .sampling import sample
from .stopping import CONVERGED

__version__ = "0.1.0"


def __getattr__(name):
    # gmm.ConvergenceWarning follows scikit-learn's import (see gmm.exceptions).
    if name == "ConvergenceWarning":
        return convergence_warning_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "CONVERGED",
    "COVARIANCE_TYPES",
    "ComponentCollapseError",
    "ConvergenceWarning",
    "ConjugatePrior",
    "CovarianceType",
    "EMResult",
    "GaussianMixture",
    "Mixture",
    "ModelSelection",
    "NotFittedError",
    "SufficientStatistics",
    "aic",
    "bic",
    "complete_data_log_likelihood",
    "datasets",
    "e_step",
    "em",
    "get_covariance_type",
    "held_out_log_likelihood",
    "icl",
    "initial_responsibilities",
    "is_degenerate",
    "kmeans",
    "kmeans_plusplus",
    "log_gaussian_density",
    "log_likelihood",
    "log_marginal",
    "log_prior",
    "log_responsibilities",
    "log_weighted_densities",
    "logsumexp",
    "m_step",
    "n_parameters",
    "q_function",
    "responsibilities",
    "responsibility_entropy",
    "sample",
    "select_model",
    "sufficient_statistics",
]
