"""The compiled kernels of :mod:`gmm._kernels` (imported only when numba is installed).

Module-level functions, so that numba caches their machine code beside this file
(``cache=True``): a process that finds it there loads it instead of compiling again.
"""

import math

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

from ._kernels import EXP_FLOOR

__all__ = ["exp_array", "log_array", "features_transposed", "log_sum_exp_in_place",
           "most_responsible"]


@intrinsic
def _float_from_bits(typingctx, bits):
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(types.int64), codegen

@intrinsic
def _bits_of_float(typingctx, value):
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))

    return types.int64(types.float64), codegen

@intrinsic
def _high_bits(typingctx, bits):
    # bits >> 52 as a logical shift (AVX2 has no 64-bit arithmetic shift, and an
    # emulated one keeps the compiler from vectorising the loop).
    def codegen(context, builder, signature, args):
        return builder.lshr(args[0], ir.Constant(ir.IntType(64), 52))

    return types.int64(types.int64), codegen

_LOG2E = 1.4426950408889634
# ln 2 split so that n * _LN2_HIGH is exact for |n| < 2^11 (Cody and Waite).
_LN2_HIGH, _LN2_LOW = 6.93145751953125e-1, 1.42860682030941723212e-6
_SHIFTER = 6755399441055744.0  # 1.5 * 2^52: adding it rounds to an integer
_SHIFTER_BITS = int(np.float64(_SHIFTER).view(np.int64))
# Taylor's coefficients 1/j! of e^r, j = 2 .. 13.
_C2, _C3, _C4, _C5, _C6, _C7, _C8, _C9, _C10, _C11, _C12, _C13 = (
    1.0 / math.factorial(j) for j in range(2, 14))
_FLAGS = {"contract"}  # fused multiply-adds only: no reassociation, no finite-math

@njit(inline="always", fastmath=_FLAGS, error_model="numpy")
def exp_nonpositive(x):
    """``exp(x)`` for ``EXP_FLOOR <= x <= 0`` (NaN for NaN): ``x = n ln 2 + r`` with
    ``|r| <= ln 2 / 2``, Taylor's polynomial of degree 13 for ``e^r`` (truncation
    below 1e-17 relative), times ``2^n`` built from its bits. Every step is a
    multiply-add, so the compiler vectorises a loop of them."""
    t = x * _LOG2E + _SHIFTER  # n + 1.5 * 2^52: n in the low bits
    n = t - _SHIFTER
    r = x - n * _LN2_HIGH
    r = r - n * _LN2_LOW
    p = _C13
    p = p * r + _C12
    p = p * r + _C11
    p = p * r + _C10
    p = p * r + _C9
    p = p * r + _C8
    p = p * r + _C7
    p = p * r + _C6
    p = p * r + _C5
    p = p * r + _C4
    p = p * r + _C3
    p = p * r + _C2
    p = p * r + 1.0
    p = p * r + 1.0
    return p * _float_from_bits((_bits_of_float(t) - _SHIFTER_BITS + 1023) << 52)

# fdlibm's e_log.c: the minimax coefficients Lg1 .. Lg7 and ln 2 split in two.
_LG1, _LG2, _LG3 = 6.666666666666735130e-01, 3.999999999940941908e-01, 2.857142874366239149e-01
_LG4, _LG5, _LG6 = 2.222219843214978396e-01, 1.818357216161805012e-01, 1.531383769920937332e-01
_LG7 = 1.479819860511658591e-01
_LN2_HI, _LN2_LO = 6.93147180369123816490e-01, 1.90821492927058770002e-10
# The bits of sqrt(2)/2's high word, moved to the top of 64 bits (fdlibm's 0x3fe6a09e).
_SQRT_HALF_HIGH = 0x3FE6A09E << 32
_ONE_HIGH = 0x3FF00000 << 32
_MANTISSA = (1 << 52) - 1

@njit(inline="always", fastmath=_FLAGS, error_model="numpy")
def log_positive(x):
    """``ln x`` for a positive normal ``x``: fdlibm's method (``x = 2^k (1 + f)`` with
    ``sqrt(2)/2 <= 1 + f < sqrt(2)``, ``s = f / (2 + f)`` and its minimax polynomial in
    ``s^2``; error below one unit in the last place), with ``k`` and ``1 + f`` taken
    from the bits so that a loop of them vectorises."""
    bits = _bits_of_float(x) + (_ONE_HIGH - _SQRT_HALF_HIGH)
    k = _high_bits(bits) - 1023
    m = _float_from_bits((bits & _MANTISSA) + _SQRT_HALF_HIGH)
    # k as a float without an int-to-float conversion (none for 64 bits in AVX2):
    kf = _float_from_bits(k + _SHIFTER_BITS) - _SHIFTER
    f = m - 1.0
    hfsq = 0.5 * f * f
    s = f / (2.0 + f)
    z = s * s
    w = z * z
    t1 = w * (_LG2 + w * (_LG4 + w * _LG6))
    t2 = z * (_LG1 + w * (_LG3 + w * (_LG5 + w * _LG7)))
    r = t2 + t1
    return kf * _LN2_HI - ((hfsq - (s * (hfsq + r) + kf * _LN2_LO)) - f)

@njit(nogil=True, cache=True, fastmath=_FLAGS, error_model="numpy")
def log_array(x, out):
    """``out = ln x`` for positive normal ``x`` (for the tests and the benchmark)."""
    for i in range(x.shape[0]):
        out[i] = log_positive(x[i])

@njit(nogil=True, cache=True, fastmath=_FLAGS, error_model="numpy")
def exp_array(x, out):
    """``out = exp(x)`` for ``x`` in ``[EXP_FLOOR, 0]`` (for the tests and the benchmark)."""
    for i in range(x.shape[0]):
        out[i] = exp_nonpositive(x[i])

@njit(nogil=True, cache=True)
def features_transposed(X, shift, code, phi):
    """``Phi^T`` of ``_engine._features_transposed`` into ``phi``, shape ``(width, n)``."""
    n, D = X.shape
    for i in range(n):
        phi[0, i] = 1.0
    for d in range(D):
        s = shift[d]
        for i in range(n):
            phi[1 + d, i] = X[i, d] - s
    if code == 2:
        p = 1 + D
        for a in range(D):
            for b in range(a, D):
                for i in range(n):
                    phi[p, i] = phi[1 + a, i] * phi[1 + b, i]
                p += 1
    elif code == 1:
        for d in range(D):
            for i in range(n):
                phi[1 + D + d, i] = phi[1 + d, i] * phi[1 + d, i]

@njit(nogil=True, cache=True, fastmath=_FLAGS, error_model="numpy")
def log_sum_exp_in_place(joint, weight, marginal, total, labels, want_labels,
                         want_resp):
    """Eq. :eq:`log-sum-exp` over the ``(K, n)`` log joint densities ``l_nk``.

    Writes ``ln p(x_n) = m_n + ln s_n`` into ``marginal`` (``m_n = max_k l_nk``, ``s_n
    = sum_k exp(l_nk - m_n)``), ``s_n`` into ``total``, the first ``k`` with ``l_nk =
    m_n`` into ``labels`` if ``want_labels``, and overwrites ``joint`` with ``w_n
    gamma_nk`` if ``want_resp``, else with ``exp(l_nk - m_n)``; ``weight`` of length 0
    means all weights 1. Returns ``sum_n w_n ln p(x_n)``. Terms below
    ``exp(EXP_FLOOR)`` are 0, as in the numpy code. Nothing is allocated here: an
    allocation in a compiled function takes a lock, and two threads calling this were
    then no faster than one."""
    K, n = joint.shape
    largest = marginal  # m_n, until ln p(x_n) replaces it
    for i in range(n):
        largest[i] = joint[0, i]
    if want_labels:
        for i in range(n):
            labels[i] = 0
    for k in range(1, K):
        if want_labels:
            for i in range(n):
                if joint[k, i] > largest[i]:
                    largest[i] = joint[k, i]
                    labels[i] = k
        else:
            for i in range(n):
                largest[i] = joint[k, i] if joint[k, i] > largest[i] else largest[i]
    for i in range(n):
        total[i] = 0.0
    for k in range(K):
        for i in range(n):
            d = joint[k, i] - largest[i]
            # NaN stays NaN (NaN < EXP_FLOOR is false), so ln p(x_n) is NaN, as in numpy.
            e = exp_nonpositive(EXP_FLOOR if d < EXP_FLOOR else d)
            e = 0.0 if d < EXP_FLOOR else e
            joint[k, i] = e
            total[i] += e
    weighted = weight.shape[0] > 0
    log_likelihood = 0.0
    for i in range(n):
        value = log_positive(total[i]) + largest[i]
        marginal[i] = value
        log_likelihood += weight[i] * value if weighted else value
    if want_resp:
        for i in range(n):
            total[i] = (weight[i] if weighted else 1.0) / total[i]
        for k in range(K):
            for i in range(n):
                joint[k, i] *= total[i]
        for i in range(n):  # s_n again, as documented
            total[i] = (weight[i] if weighted else 1.0) / total[i]
    return log_likelihood



@njit(nogil=True, cache=True, error_model="numpy")
def most_responsible(joint, largest, labels):
    """The first ``k`` with ``l_nk = max_j l_nj`` of the ``(K, n)`` log joint densities,
    into ``labels`` (``argmax`` over the components; no ``exp``); ``largest`` receives
    ``max_j l_nj``."""
    K, n = joint.shape
    for i in range(n):
        largest[i] = joint[0, i]
        labels[i] = 0
    for k in range(1, K):
        for i in range(n):
            if joint[k, i] > largest[i]:
                largest[i] = joint[k, i]
                labels[i] = k
