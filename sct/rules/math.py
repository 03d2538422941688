"""Rules for the ``math`` module (scalar arguments only, so no broadcasting).

The functions that NumPy has too (``math.sin`` and ``np.sin``, ``math.atan2`` and
``np.arctan2``, ...) are declared once, with their NumPy twin in ``numpy.py``
(``elementwise(np.sin, ..., scalar=math.sin)``).  Here: the ones only ``math``
has, or whose call forms differ.  Families: logarithms, special functions,
sequences, non-differentiable.
"""
import math

from .builtins import pow_variable
from .registry import adjoint_rule, elementwise, is_constant, nondifferentiable, overloaded, tangent_rule

# ---------------------------------------------------------------- logarithms

def log_base(x, base):
    """``math.log(x, base)``."""
    return math.log(x, base)

elementwise(log_base, lambda ans, x, base: 1.0 / (x * math.log(base)),
            lambda ans, x, base: -ans / (base * math.log(base)), name="math.log")
overloaded(math.log, lambda n, kws: log_base if n == 2 or "base" in kws else math.log)
# math.pow(x, y) with a variable exponent takes the rule of ``x ** y`` that is right at 0 ** 0
overloaded(math.pow, lambda n, kws, args: pow_variable if n == 2 and not is_constant(args[1]) else math.pow)

# ---------------------------------------------------------------- special functions

elementwise(math.fabs, lambda ans, x: math.copysign(1.0, x))
elementwise(math.erf, lambda ans, x: 2.0 / math.sqrt(math.pi) * math.exp(-x * x))
elementwise(math.erfc, lambda ans, x: -2.0 / math.sqrt(math.pi) * math.exp(-x * x))


def _digamma(x):
    """ψ(x) = d lgamma(x)/dx, for a real x that is not a pole (recurrence up to 6, then the asymptotic series)."""
    x = float(x)
    if x <= 0.0 and x == math.floor(x):
        return math.nan
    shift = 0.0
    if x < 0.5:  # reflection: ψ(1 - x) - ψ(x) = π cot(πx)
        return _digamma(1.0 - x) - math.pi / math.tan(math.pi * x)
    while x < 6.0:
        shift -= 1.0 / x
        x += 1.0
    inv = 1.0 / (x * x)
    series = inv * (1.0 / 12 - inv * (1.0 / 120 - inv * (1.0 / 252 - inv * (1.0 / 240 - inv / 132))))
    return shift + math.log(x) - 0.5 / x - series


def _trigamma(x):
    """ψ'(x), the derivative of the digamma function (recurrence, then the asymptotic series)."""
    x = float(x)
    if x < 0.5:  # reflection: ψ'(1 - x) + ψ'(x) = π² / sin²(πx)
        return (math.pi / math.sin(math.pi * x)) ** 2 - _trigamma(1.0 - x)
    total = 0.0
    while x < 6.0:
        total += 1.0 / (x * x)
        x += 1.0
    inv = 1.0 / (x * x)
    series = 1.0 / x + inv / 2.0 + inv / x * (1.0 / 6 - inv * (1.0 / 30 - inv * (1.0 / 42 - inv / 30)))
    return total + series

elementwise(math.lgamma, lambda ans, x: _digamma(x), doc="Of real x away from the poles (ψ to ~1e-15).")
elementwise(math.gamma, lambda ans, x: ans * _digamma(x), doc="Of real x away from the poles.")
elementwise(_digamma, lambda ans, x: _trigamma(x))   # for second derivatives
elementwise(math.remainder, lambda ans, x, y: 1.0, lambda ans, x, y: -round(x / y))

# ---------------------------------------------------------------- sequences

def _others(xs, start=1.0):
    """For each element of ``xs``, ``start`` times the product of the others (exact where elements are zero)."""
    xs = list(xs)
    before, after = [start] * len(xs), [1.0] * len(xs)
    for i in range(1, len(xs)):
        before[i] = before[i - 1] * xs[i - 1]
        after[-i - 1] = after[-i] * xs[-i]
    return [b * a for b, a in zip(before, after)]


def _scaled_list(g, ws):
    if isinstance(g, float) and g == 0.0:
        return 0.0
    return [g * w for w in ws]


def _dot_list(dxs, ws):
    total = 0.0
    for d, w in zip(dxs, ws):
        total = total + d * w
    return total


def _difference_over(p, q, ans):
    return [(a - b) / ans if ans else 0.0 for a, b in zip(p, q)]


@adjoint_rule(math.prod)
def prod(g, ans, iterable, start=1):
    """Of a sequence of numbers; exact where elements are zero; start has no derivative."""
    return _scaled_list(g, _others(iterable, start))

@tangent_rule(math.prod)
def prod(diterable, ans, iterable, start=1):
    return _dot_list(diterable, _others(iterable, start))


@adjoint_rule(math.fsum)
def fsum(g, ans, seq):
    """Of a sequence of numbers."""
    return _scaled_list(g, [1.0] * len(seq))

@tangent_rule(math.fsum)
def fsum(dseq, ans, seq):
    return math.fsum(dseq)


@adjoint_rule(math.dist)
def dist(g, ans, p, q):
    """Of two points (sequences of numbers); not at p == q."""
    return _scaled_list(g, _difference_over(p, q, ans)), _scaled_list(-g, _difference_over(p, q, ans))

@tangent_rule(math.dist)
def dist(dp, dq, ans, p, q):
    return _dot_list(dp, _difference_over(p, q, ans)), -_dot_list(dq, _difference_over(p, q, ans))


if hasattr(math, "sumprod"):
    @adjoint_rule(math.sumprod)
    def sumprod(g, ans, p, q):
        """Of two sequences of numbers."""
        return _scaled_list(g, q), _scaled_list(g, p)

    @tangent_rule(math.sumprod)
    def sumprod(dp, dq, ans, p, q):
        return _dot_list(dp, q), _dot_list(dq, p)

# ---------------------------------------------------------------- non-differentiable

nondifferentiable(
    math.floor, math.ceil, math.trunc, math.isnan, math.isinf, math.isfinite, math.isclose,
    math.factorial, math.comb, math.perm, math.gcd, math.isqrt, math.nextafter, math.ulp,
)
