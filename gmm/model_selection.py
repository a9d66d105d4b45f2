"""How many components, which covariance type: fit every candidate and keep the best by a
criterion of :mod:`gmm.criteria` among the fits that are not degenerate (chapter 7)."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np

from ._validation import as_data, check_positive_int
from .covariance import get_covariance_type
from .criteria import aic, bic, is_degenerate, n_parameters
from .estimator import GaussianMixture
from .exceptions import ConvergenceWarning

__all__ = ["select_model", "ModelSelection"]

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
        Further :class:`gmm.GaussianMixture` parameters (``reg_covar``, ``max_iter``, ...).

    Returns
    -------
    ModelSelection
        ``.table``, ``.best_`` and ``.models``; raises ValueError if every fit is degenerate.
    """
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
                "degenerate": is_degenerate(model.mixture_, model.reg_covar),
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

