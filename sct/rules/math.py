"""Rules for the ``math`` module (scalar arguments only, so no broadcasting).

Families: powers and logarithms, trigonometric, hyperbolic, special functions,
two-argument functions, non-differentiable.
"""
import math

from .registry import adjoint_rule, nondifferentiable, overloaded, tangent_rule

# ---------------------------------------------------------------- powers and logarithms

@adjoint_rule(math.exp)
def exp(g, ans, x):
    return g * ans

@tangent_rule(math.exp)
def exp(dx, ans, x):
    return dx * ans


@adjoint_rule(math.expm1)
def expm1(g, ans, x):
    return g * (ans + 1.0)

@tangent_rule(math.expm1)
def expm1(dx, ans, x):
    return dx * (ans + 1.0)


def log_base(x, base):
    """``math.log(x, base)``."""
    return math.log(x, base)

@adjoint_rule(math.log)
def log(g, ans, x):
    return g / x

@tangent_rule(math.log)
def log(dx, ans, x):
    return dx / x

@adjoint_rule(log_base, name="math.log")
def log_base_(g, ans, x, base):
    return g / (x * math.log(base)), -g * ans / (base * math.log(base))

@tangent_rule(log_base, name="math.log")
def log_base_(dx, dbase, ans, x, base):
    return dx / (x * math.log(base)), -dbase * ans / (base * math.log(base))

overloaded(math.log, lambda n, kws: log_base if n == 2 or "base" in kws else math.log)


@adjoint_rule(math.log1p)
def log1p(g, ans, x):
    return g / (1.0 + x)

@tangent_rule(math.log1p)
def log1p(dx, ans, x):
    return dx / (1.0 + x)


@adjoint_rule(math.log2)
def log2(g, ans, x):
    return g / (x * math.log(2.0))

@tangent_rule(math.log2)
def log2(dx, ans, x):
    return dx / (x * math.log(2.0))


@adjoint_rule(math.log10)
def log10(g, ans, x):
    return g / (x * math.log(10.0))

@tangent_rule(math.log10)
def log10(dx, ans, x):
    return dx / (x * math.log(10.0))


@adjoint_rule(math.sqrt)
def sqrt(g, ans, x):
    return g / (2.0 * ans)

@tangent_rule(math.sqrt)
def sqrt(dx, ans, x):
    return dx / (2.0 * ans)


@adjoint_rule(math.pow)
def pow_(g, ans, x, y):
    return g * y * math.pow(x, y - 1.0), g * ans * math.log(x)

@tangent_rule(math.pow)
def pow_(dx, dy, ans, x, y):
    return dx * y * math.pow(x, y - 1.0), dy * ans * math.log(x)


if hasattr(math, "cbrt"):
    @adjoint_rule(math.cbrt)
    def cbrt(g, ans, x):
        return g / (3.0 * ans * ans)

    @tangent_rule(math.cbrt)
    def cbrt(dx, ans, x):
        return dx / (3.0 * ans * ans)

if hasattr(math, "exp2"):
    @adjoint_rule(math.exp2)
    def exp2(g, ans, x):
        return g * ans * math.log(2.0)

    @tangent_rule(math.exp2)
    def exp2(dx, ans, x):
        return dx * ans * math.log(2.0)

# ---------------------------------------------------------------- trigonometric

@adjoint_rule(math.sin)
def sin(g, ans, x):
    return g * math.cos(x)

@tangent_rule(math.sin)
def sin(dx, ans, x):
    return dx * math.cos(x)


@adjoint_rule(math.cos)
def cos(g, ans, x):
    return -g * math.sin(x)

@tangent_rule(math.cos)
def cos(dx, ans, x):
    return -dx * math.sin(x)


@adjoint_rule(math.tan)
def tan(g, ans, x):
    return g * (1.0 + ans * ans)

@tangent_rule(math.tan)
def tan(dx, ans, x):
    return dx * (1.0 + ans * ans)


@adjoint_rule(math.asin)
def asin(g, ans, x):
    return g / math.sqrt(1.0 - x * x)

@tangent_rule(math.asin)
def asin(dx, ans, x):
    return dx / math.sqrt(1.0 - x * x)


@adjoint_rule(math.acos)
def acos(g, ans, x):
    return -g / math.sqrt(1.0 - x * x)

@tangent_rule(math.acos)
def acos(dx, ans, x):
    return -dx / math.sqrt(1.0 - x * x)


@adjoint_rule(math.atan)
def atan(g, ans, x):
    return g / (1.0 + x * x)

@tangent_rule(math.atan)
def atan(dx, ans, x):
    return dx / (1.0 + x * x)


@adjoint_rule(math.degrees)
def degrees(g, ans, x):
    return g * (180.0 / math.pi)

@tangent_rule(math.degrees)
def degrees(dx, ans, x):
    return dx * (180.0 / math.pi)


@adjoint_rule(math.radians)
def radians(g, ans, x):
    return g * (math.pi / 180.0)

@tangent_rule(math.radians)
def radians(dx, ans, x):
    return dx * (math.pi / 180.0)

# ---------------------------------------------------------------- hyperbolic

@adjoint_rule(math.sinh)
def sinh(g, ans, x):
    return g * math.cosh(x)

@tangent_rule(math.sinh)
def sinh(dx, ans, x):
    return dx * math.cosh(x)


@adjoint_rule(math.cosh)
def cosh(g, ans, x):
    return g * math.sinh(x)

@tangent_rule(math.cosh)
def cosh(dx, ans, x):
    return dx * math.sinh(x)


@adjoint_rule(math.tanh)
def tanh(g, ans, x):
    return g * (1.0 - ans * ans)

@tangent_rule(math.tanh)
def tanh(dx, ans, x):
    return dx * (1.0 - ans * ans)


@adjoint_rule(math.asinh)
def asinh(g, ans, x):
    return g / math.sqrt(x * x + 1.0)

@tangent_rule(math.asinh)
def asinh(dx, ans, x):
    return dx / math.sqrt(x * x + 1.0)


@adjoint_rule(math.acosh)
def acosh(g, ans, x):
    return g / math.sqrt(x * x - 1.0)

@tangent_rule(math.acosh)
def acosh(dx, ans, x):
    return dx / math.sqrt(x * x - 1.0)


@adjoint_rule(math.atanh)
def atanh(g, ans, x):
    return g / (1.0 - x * x)

@tangent_rule(math.atanh)
def atanh(dx, ans, x):
    return dx / (1.0 - x * x)

# ---------------------------------------------------------------- special functions

@adjoint_rule(math.erf)
def erf(g, ans, x):
    return g * (2.0 / math.sqrt(math.pi)) * math.exp(-x * x)

@tangent_rule(math.erf)
def erf(dx, ans, x):
    return dx * (2.0 / math.sqrt(math.pi)) * math.exp(-x * x)


@adjoint_rule(math.erfc)
def erfc(g, ans, x):
    return -g * (2.0 / math.sqrt(math.pi)) * math.exp(-x * x)

@tangent_rule(math.erfc)
def erfc(dx, ans, x):
    return -dx * (2.0 / math.sqrt(math.pi)) * math.exp(-x * x)


@adjoint_rule(math.fabs)
def fabs(g, ans, x):
    return g * math.copysign(1.0, x)

@tangent_rule(math.fabs)
def fabs(dx, ans, x):
    return dx * math.copysign(1.0, x)

# ---------------------------------------------------------------- two-argument functions

@adjoint_rule(math.atan2)
def atan2(g, ans, y, x):
    return g * x / (x * x + y * y), -g * y / (x * x + y * y)

@tangent_rule(math.atan2)
def atan2(dy, dx, ans, y, x):
    return dy * x / (x * x + y * y), -dx * y / (x * x + y * y)


@adjoint_rule(math.hypot)
def hypot(g, ans, x, y):
    return g * x / ans, g * y / ans

@tangent_rule(math.hypot)
def hypot(dx, dy, ans, x, y):
    return dx * x / ans, dy * y / ans


@adjoint_rule(math.copysign)
def copysign(g, ans, x, y):
    return g * math.copysign(1.0, x) * math.copysign(1.0, y), None

@tangent_rule(math.copysign)
def copysign(dx, dy, ans, x, y):
    return dx * math.copysign(1.0, x) * math.copysign(1.0, y), None


@adjoint_rule(math.fmod)
def fmod(g, ans, x, y):
    return g, -g * math.trunc(x / y)

@tangent_rule(math.fmod)
def fmod(dx, dy, ans, x, y):
    return dx, -dy * math.trunc(x / y)

@adjoint_rule(math.ldexp)
def ldexp(g, ans, x, i):
    return g * math.ldexp(1.0, i), None

@tangent_rule(math.ldexp)
def ldexp(dx, di, ans, x, i):
    return dx * math.ldexp(1.0, i), None

# ---------------------------------------------------------------- non-differentiable

nondifferentiable(
    math.floor, math.ceil, math.trunc, math.isnan, math.isinf, math.isfinite, math.isclose,
    math.factorial, math.comb, math.perm, math.gcd, math.isqrt,
)
