"""How many components, which covariance type: free parameters, BIC, AIC, degenerate fits
(chapter 7)."""

from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np

from ._validation import as_data, check_positive_int
from .covariance import get_covariance_type
from .mixture import Mixture
from .prior import default_reg_covar

__all__ = ["n_parameters", "bic", "aic", "is_degenerate", "select_model", "ModelSelection"]

#: A covariance whose smallest eigenvalue is below this fraction of its largest is taken as
#: collapsed (its condition number has vanished, in mclust's words).
DEGENERATE_RCOND = 1e-8


def n_parameters(n_components: int, n_features: int, covariance_type: str = "full") -> int:
    """The number of free parameters of a mixture, eq. :eq:`n-parameters`:
    ``K - 1`` weights, ``K D`` means, and the covariances' own count (full ``K D (D + 1) / 2``,
    tied ``D (D + 1) / 2``, diag ``K D``, spherical ``K``).

    Parameters
    ----------
    n_components : int
    n_features : int
    covariance_type : {"full", "tied", "diag", "spherical"}

    Returns
    -------
    int
    """
    n_components = check_positive_int(n_components, "n_components")
    n_features = check_positive_int(n_features, "n_features")
    kind = get_covariance_type(covariance_type)
    return (n_components - 1) + n_components * n_features + kind.n_parameters(
        n_components, n_features
    )


def bic(log_likelihood: float, n_parameters: int, n_samples: int) -> float:
    """Bayesian information criterion ``-2 ln p(X | theta) + p ln N``, eq. :eq:`bic`
    (Schwarz, 1978). Lower is better."""
    return -2.0 * float(log_likelihood) + n_parameters * math.log(n_samples)


def aic(log_likelihood: float, n_parameters: int) -> float:
    """Akaike information criterion ``-2 ln p(X | theta) + 2 p``, eq. :eq:`aic`
    (Akaike, 1974). Lower is better."""
    return -2.0 * float(log_likelihood) + 2.0 * n_parameters


def is_degenerate(theta: Mixture, reg_covar: float = 1e-6) -> bool:
    """Whether a component of ``theta`` has collapsed.

    A fit is degenerate when some component's covariance has a variance at the ``reg_covar``
    floor (within a factor of 10: the data gave it essentially no spread) or a variance so
    small (below ``DEGENERATE_RCOND`` times the largest variance of any component) that the
    component lies on a lower-dimensional set (such as points that share one value) or on a
    single point. Its likelihood is then large for the wrong reason (the singularity of
    chapter 3), so model selection must not pick it, as R's mclust does not.

    Parameters
    ----------
    theta : Mixture
    reg_covar : float, default 1e-6
        The regularisation the fit used.

    Returns
    -------
    bool
    """
    floor = 10.0 * reg_covar if reg_covar > 0 else 0.0
    spectra = [np.linalg.eigvalsh(covariance) for covariance in theta.covariances_full]
    # Against the largest variance of the whole mixture, not of the component alone: a
    # component collapsed onto one point (reg_covar = 0) has all its variances near zero,
    # and so a harmless condition number of its own.
    largest = max(eigenvalues[-1] for eigenvalues in spectra)
    return any(
        eigenvalues[0] <= floor or eigenvalues[0] <= DEGENERATE_RCOND * largest
        for eigenvalues in spectra
    )


@dataclasses.dataclass
class ModelSelection:
    """The result of :func:`select_model`.

    Attributes
    ----------
    table : list of dict
        One row per fit: ``n_components``, ``covariance_type``, ``log_likelihood`` (a sum
        over points), ``n_parameters``, ``bic``, ``aic``, ``degenerate``.
    criterion : str
    best_ : GaussianMixture
        The fitted model with the lowest criterion among the fits that are not degenerate.
    models : dict
        Every fitted model, keyed by ``(n_components, covariance_type)``.
    """

    table: list
    criterion: str
    best_: object
    models: dict

    @property
    def best_row(self) -> dict:
        key = (self.best_.n_components, self.best_.covariance_type)
        return next(
            row for row in self.table if (row["n_components"], row["covariance_type"]) == key
        )

    def __str__(self) -> str:
        header = (
            f"{'K':>3} {'type':>10} {'ln p(X)':>12} {'params':>7} {'BIC':>11} {'AIC':>11}  note"
        )
        lines = [header]
        best = self.best_row
        for row in self.table:
            note = "degenerate" if row["degenerate"] else ""
            if row is best:
                note = f"best {self.criterion.upper()}"
            lines.append(
                f"{row['n_components']:>3} {row['covariance_type']:>10} "
                f"{row['log_likelihood']:>12.3f} {row['n_parameters']:>7} "
                f"{row['bic']:>11.3f} {row['aic']:>11.3f}  {note}"
            )
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        best = self.best_row
        cells = "".join(f"<th>{name}</th>" for name in
                        ("K", "type", "ln p(X)", "params", "BIC", "AIC", "note"))
        rows = [f"<tr>{cells}</tr>"]
        for row in self.table:
            note = "degenerate" if row["degenerate"] else ""
            if row is best:
                note = f"best {self.criterion.upper()}"
            style = ' style="font-weight:bold"' if row is best else ""
            rows.append(
                f"<tr{style}><td>{row['n_components']}</td><td>{row['covariance_type']}</td>"
                f"<td>{row['log_likelihood']:.3f}</td><td>{row['n_parameters']}</td>"
                f"<td>{row['bic']:.3f}</td><td>{row['aic']:.3f}</td><td>{note}</td></tr>"
            )
        return "<table>" + "".join(rows) + "</table>"

    def __repr__(self) -> str:
        return self.__str__()


def select_model(
    X,
    n_components=range(1, 7),
    covariance_types=("full", "tied", "diag", "spherical"),
    criterion: str = "bic",
    random_state=None,
    n_init: int = 1,
    **estimator_kwargs,
) -> ModelSelection:
    """Fit a :class:`gmm.GaussianMixture` for every number of components and covariance type,
    and select the one with the lowest criterion among those that are not degenerate.

    Parameters
    ----------
    X : array_like, shape (N, D)
    n_components : iterable of int, default 1..6
    covariance_types : iterable of str, default all four
    criterion : {"bic", "aic"}, default "bic"
    random_state : None or int
        Passed to every fit (each fit starts from the same seed).
    n_init : int, default 1
    **estimator_kwargs
        Further :class:`gmm.GaussianMixture` parameters (``reg_covar``, ``max_iter``,
        ``prior``, ...). With ``prior`` (chapter 8) every fit is a MAP fit, and
        ``log_likelihood``, BIC and AIC are the log-likelihood at the MAP estimate and
        its criteria, as in mclust (Fraley and Raftery 2007): the prior regularises the
        fit, not the criterion.

    Returns
    -------
    ModelSelection
        ``.table``, ``.best_`` and ``.models``; raises ValueError if every fit is degenerate.
    """
    from .estimator import ConvergenceWarning, GaussianMixture

    X = as_data(X)
    if criterion not in ("bic", "aic"):
        raise ValueError(f"criterion must be 'bic' or 'aic'; got {criterion!r}.")
    counts = [check_positive_int(k, "n_components") for k in n_components]
    types = [get_covariance_type(name).name for name in covariance_types]
    if not counts or not types:
        raise ValueError("n_components and covariance_types must not be empty.")
    if isinstance(random_state, np.random.Generator):
        raise ValueError("select_model needs an int or None random_state, so that every fit "
                         "is reproducible on its own.")
    table, models = [], {}
    for covariance_type in types:
        for k in counts:
            model = GaussianMixture(
                k, covariance_type=covariance_type, random_state=random_state,
                n_init=n_init, **estimator_kwargs
            )
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                model.fit(X)
            log_likelihood = float(model.score_samples(X).sum())
            p = n_parameters(k, X.shape[1], covariance_type)
            table.append({
                "n_components": k,
                "covariance_type": covariance_type,
                "log_likelihood": log_likelihood,
                "n_parameters": p,
                "bic": bic(log_likelihood, p, X.shape[0]),
                "aic": aic(log_likelihood, p),
                "degenerate": is_degenerate(
                    model.mixture_, default_reg_covar(model.reg_covar, model.prior_)
                ),
                "converged": model.converged_,
            })
            models[(k, covariance_type)] = model
    candidates = [row for row in table if not row["degenerate"]]
    if not candidates:
        raise ValueError(
            "Every fit is degenerate (a component collapsed). Increase reg_covar, use fewer "
            "components, or check the data for repeated values."
        )
    best = min(candidates, key=lambda row: row[criterion])
    return ModelSelection(
        table, criterion, models[(best["n_components"], best["covariance_type"])], models
    )

