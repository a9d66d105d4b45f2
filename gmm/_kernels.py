"""Compiled kernels for the engine's element-wise steps (numba; optional).

The engine (:mod:`gmm._engine`) spends most of a quadratic-formulation pass outside the
two matrix products: building the features ``Phi^T`` (one numpy call per feature, each a
short pass over the chunk) and the log-sum-exp of eq. :eq:`log-sum-exp` (a maximum, a
subtraction, ``exp``, a sum, ``log``, a division: six passes). Where numpy's ``exp`` has
no SIMD version for float64 (processors without AVX-512) it is the C library's scalar
``exp``, about 10 ns a value. The kernels here do each of the two steps in one compiled
pass, with an ``exp`` that the compiler vectorises (:func:`exp_nonpositive`), and they
release the interpreter lock, so that the chunks of a pass run on every core.

They compute the same quantities as the numpy code beside them in ``_engine`` (to
rounding: the ``exp`` and ``log`` are within about one unit in the last place of the
correctly rounded values) and ``tests/test_kernels.py`` keeps them equal to it and to
independent references. They are used for passes of at least ``COMPILED_MIN_WORK``
log-densities when numba imports (``pip install gmm-derived[fast]``); the environment
variable ``GMM_KERNELS`` overrides that (``numpy``: never; ``numba``: for every pass).
Loading them takes 1-2 s in a new process (numba's import and its cached machine code;
the first process after an install also compiles them: two fits, full and diag, took 3.2 s
then and 1.0 s in the next process), which a small fit would not win back. :func:`compiled`
says which code a pass runs; the code lives in :mod:`gmm._compiled`.
"""

from __future__ import annotations

import functools
import math
import os

__all__ = ["compiled", "KERNELS_VARIABLE", "COMPILED_MIN_WORK"]

#: The environment variable that chooses the kernels (``numpy`` or ``numba``), read at
#: every pass.
KERNELS_VARIABLE = "GMM_KERNELS"

#: The passes that use the compiled kernels by default: at least this many log-densities
#: ``N K`` (numpy spends about 30 ms on them where its ``exp`` is scalar).
COMPILED_MIN_WORK = 1_000_000

#: Below this ``l_nk - max_j l_nj`` the term ``exp(l_nk - max_j l_nj)`` is taken as 0: above
#: ``ln`` of the smallest normal double (-708.4), so every ``exp`` computed stays on numpy's
#: vectorised path and the compiled one never builds a subnormal power of two.
EXP_FLOOR = -705.0

#: The feature layouts of ``CovarianceType.engine_features``, as the kernels' codes.
FEATURE_CODES = {"none": 0, "squares": 1, "pairs": 2}


def compiled(work: float = math.inf):
    """The compiled kernels for a pass over ``work`` log-densities (the module
    :mod:`gmm._compiled`), or None for the numpy code: numba is not installed, ``work <
    COMPILED_MIN_WORK``, or ``GMM_KERNELS=numpy``.

    Parameters
    ----------
    work : float, default inf
        ``N K`` of the pass.

    Raises
    ------
    ValueError
        If ``GMM_KERNELS`` is set to something other than ``numpy`` or ``numba``.
    ImportError
        If ``GMM_KERNELS=numba`` and numba does not import.
    """
    choice = os.environ.get(KERNELS_VARIABLE, "").strip().lower()
    if choice not in ("", "numpy", "numba"):
        raise ValueError(f"{KERNELS_VARIABLE} must be 'numpy' or 'numba'; got {choice!r}.")
    if choice == "numpy" or (choice == "" and work < COMPILED_MIN_WORK):
        return None
    kernels = _build()
    if kernels is None and choice == "numba":
        raise ImportError(f"{KERNELS_VARIABLE}=numba, but numba does not import; install it "
                          f"with `pip install gmm-derived[fast]`.")
    return kernels


@functools.cache
def _build():
    try:
        from . import _compiled
    except ImportError:  # numba (or llvmlite) is not installed
        return None
    return _compiled
