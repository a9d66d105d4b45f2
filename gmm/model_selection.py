"""How many components, which covariance type: fit every candidate and keep the best by a
criterion of :mod:`gmm.criteria` among the fits that are not degenerate (chapter 7)."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np

from ._validation import as_data, check_positive_int
from .covariance import get_covariance_type
from .criteria import aic, bic, icl, is_degenerate, n_parameters
from .estimator import GaussianMixture
from .exceptions import _ConvergenceWarning

__all__ = ["select_model", "ModelSelection", "fold_labels", "held_out_log_likelihood"]

#: The criteria select_model can choose by, and whether lower (1) or higher (-1) is better.
CRITERIA = {"bic": 1, "aic": 1, "icl": 1, "held_out": -1}


def fold_labels(n_samples: int, n_folds: int, random_state=None) -> np.ndarray:
    """The fold of every point for cross-validation, shape ``(N,)``: point ``n`` is in fold
    ``order[n] % n_folds`` with ``order = numpy.random.default_rng(random_state)
    .permutation(N)``, so the folds are random and their sizes differ by at most one."""
    n_samples = check_positive_int(n_samples, "n_samples")
    n_folds = check_positive_int(n_folds, "n_folds", minimum=2)
    if n_folds > n_samples:
        raise ValueError(f"n_folds ({n_folds}) cannot exceed the number of points "
                         f"({n_samples}).")
    return np.random.default_rng(random_state).permutation(n_samples) % n_folds


def held_out_log_likelihood(X, n_components: int, covariance_type: str = "full",
                            n_folds: int = 5, random_state=None, **estimator_kwargs) -> float:
    """The cross-validated log-likelihood, eq. :eq:`held-out`: every point scored by the
    mixture fitted without its fold, ``sum_f sum_{n in fold f} ln p(x_n | theta_{-f})``.

    Each of the ``n_folds`` fits is a :class:`gmm.GaussianMixture` with the given settings
    (``random_state`` is also the seed of every fit); the folds are :func:`fold_labels`.
    Higher is better; on the scale of ``ln p(X)``, a sum over the ``N`` points.

    Parameters
    ----------
    X : array_like, shape (N, D)
    n_components : int
    covariance_type : {"full", "tied", "diag", "spherical"}
    n_folds : int, default 5
    random_state : None or int
    **estimator_kwargs
        Further :class:`gmm.GaussianMixture` parameters (``n_init``, ``tol``, ...).

    Returns
    -------
    float
    """
    X = as_data(X)
    folds = fold_labels(X.shape[0], n_folds, random_state)
    total = 0.0
    for fold in range(n_folds):
        model = GaussianMixture(n_components, covariance_type=covariance_type,
                                random_state=random_state, **estimator_kwargs)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", _ConvergenceWarning)
            model.fit(X[folds != fold])
        total += float(model.score_samples(X[folds == fold]).sum())
    return total


@dataclasses.dataclass
class ModelSelection:
    """The result of :func:`select_model`.

    Attributes
    ----------
    table : list of dict
        One row per fit: ``n_components``, ``covariance_type``, ``log_likelihood`` (a sum
        over points), ``n_parameters``, ``bic``, ``aic``, ``icl``, ``held_out`` (None
        without ``n_folds``), ``degenerate``, ``converged``.
    criterion : str
    best_ : GaussianMixture
        The fitted model with the best criterion (lowest; highest for ``held_out``) among
        the fits that are not degenerate.
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

    def _columns(self):
        columns = [("ln p(X)", "log_likelihood"), ("params", "n_parameters"), ("BIC", "bic"),
                   ("AIC", "aic"), ("ICL", "icl")]
        if any(row["held_out"] is not None for row in self.table):
            columns.append(("held-out", "held_out"))
        return columns

    def _note(self, row) -> str:
        if row is self.best_row:
            return f"best {self.criterion.upper().replace('_', '-')}"
        return "degenerate" if row["degenerate"] else ""

    @staticmethod
    def _cell(row, key) -> str:
        value = row[key]
        return str(value) if key == "n_parameters" else f"{value:.2f}"

    def __str__(self) -> str:
        columns = self._columns()
        header = f"{'K':>2} {'type':>9}" + "".join(f" {name:>9}" for name, _ in columns)
        lines = [header + "  note"]
        for row in self.table:
            cells = "".join(f" {self._cell(row, key):>9}" for _, key in columns)
            lines.append(f"{row['n_components']:>2} {row['covariance_type']:>9}{cells}  "
                         f"{self._note(row)}".rstrip())
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        columns = self._columns()
        names = ["K", "type", *(name for name, _ in columns), "note"]
        rows = ["<tr>" + "".join(f"<th>{name}</th>" for name in names) + "</tr>"]
        for row in self.table:
            style = ' style="font-weight:bold"' if row is self.best_row else ""
            cells = [row["n_components"], row["covariance_type"],
                     *(self._cell(row, key) for _, key in columns), self._note(row)]
            rows.append(f"<tr{style}>" + "".join(f"<td>{cell}</td>" for cell in cells)
                        + "</tr>")
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
    n_folds: int | None = None,
    **estimator_kwargs,
) -> ModelSelection:
    """Fit a :class:`gmm.GaussianMixture` for every number of components and covariance type,
    and select the one with the best criterion among those that are not degenerate.

    Parameters
    ----------
    X : array_like, shape (N, D)
    n_components : iterable of int, default 1..6
    covariance_types : iterable of str, default all four
    criterion : {"bic", "aic", "icl", "held_out"}, default "bic"
        Eqs. :eq:`bic`, :eq:`aic`, :eq:`icl` (lowest wins) or :eq:`held-out` (highest wins;
        needs ``n_folds``).
    random_state : None or int
        Passed to every fit (each fit starts from the same seed) and to the folds.
    n_init : int, default 1
    n_folds : int, optional
        Also compute every model's held-out log-likelihood by ``n_folds``-fold
        cross-validation (:func:`held_out_log_likelihood`), at ``n_folds`` more fits each.
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
    X = as_data(X)
    if criterion not in CRITERIA:
        raise ValueError(f"criterion must be one of {list(CRITERIA)}; got {criterion!r}.")
    if criterion == "held_out" and n_folds is None:
        raise ValueError("criterion='held_out' needs n_folds (say n_folds=5).")
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
                warnings.simplefilter("ignore", _ConvergenceWarning)
                model.fit(X)
            log_likelihood = float(model.score_samples(X).sum())
            p = n_parameters(k, X.shape[1], covariance_type)
            held_out = None
            if n_folds is not None:
                held_out = held_out_log_likelihood(
                    X, k, covariance_type, n_folds, random_state, n_init=n_init,
                    **estimator_kwargs
                )
            table.append({
                "n_components": k,
                "covariance_type": covariance_type,
                "log_likelihood": log_likelihood,
                "n_parameters": p,
                "bic": bic(log_likelihood, p, X.shape[0]),
                "aic": aic(log_likelihood, p),
                "icl": icl(log_likelihood, p, X.shape[0], model.predict_proba(X)),
                "held_out": held_out,
                "degenerate": is_degenerate(model.mixture_, model.reg_covar_),
                "converged": model.converged_,
            })
            models[(k, covariance_type)] = model
    candidates = [row for row in table if not row["degenerate"]]
    if not candidates:
        raise ValueError(
            "Every fit is degenerate (a component collapsed). Increase reg_covar, use fewer "
            "components, or check the data for repeated values."
        )
    best = min(candidates, key=lambda row: CRITERIA[criterion] * row[criterion])
    return ModelSelection(
        table, criterion, models[(best["n_components"], best["covariance_type"])], models
    )

