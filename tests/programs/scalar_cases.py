"""One small function per scalar rule (operators, builtins, math), each returning a number."""
import math

# unary: (function, domain) — domain is the interval test points are drawn from
def op_neg(x): return -x * 1.3
def op_pos(x): return +x * 1.3
def b_abs(x): return abs(x) * 1.3
def b_float(x): return float(x) * 1.3
def m_exp(x): return math.exp(x)
def m_expm1(x): return math.expm1(x)
def m_log(x): return math.log(x)
def m_log1p(x): return math.log1p(x)
def m_log2(x): return math.log2(x)
def m_log10(x): return math.log10(x)
def m_sqrt(x): return math.sqrt(x)
def m_sin(x): return math.sin(x)
def m_cos(x): return math.cos(x)
def m_tan(x): return math.tan(x)
def m_asin(x): return math.asin(x)
def m_acos(x): return math.acos(x)
def m_atan(x): return math.atan(x)
def m_sinh(x): return math.sinh(x)
def m_cosh(x): return math.cosh(x)
def m_tanh(x): return math.tanh(x)
def m_asinh(x): return math.asinh(x)
def m_acosh(x): return math.acosh(x)
def m_atanh(x): return math.atanh(x)
def m_erf(x): return math.erf(x)
def m_erfc(x): return math.erfc(x)
def m_fabs(x): return math.fabs(x)
def m_degrees(x): return math.degrees(x)
def m_radians(x): return math.radians(x)
def m_pi(x): return math.pi * x * math.e
def m_floor_mix(x): return math.floor(x) * x + math.ceil(x)
def m_cbrt(x): return math.cbrt(x)
def m_exp2(x): return math.exp2(x)

UNARY = [
    (op_neg, (-2, 2)), (op_pos, (-2, 2)), (b_abs, (0.2, 2)), (b_float, (-2, 2)), (m_exp, (-2, 2)),
    (m_expm1, (-2, 2)), (m_log, (0.2, 3)), (m_log1p, (-0.5, 2)), (m_log2, (0.2, 3)), (m_log10, (0.2, 3)),
    (m_sqrt, (0.2, 3)), (m_sin, (-3, 3)), (m_cos, (-3, 3)), (m_tan, (-1, 1)), (m_asin, (-0.8, 0.8)),
    (m_acos, (-0.8, 0.8)), (m_atan, (-3, 3)), (m_sinh, (-2, 2)), (m_cosh, (-2, 2)), (m_tanh, (-2, 2)),
    (m_asinh, (-2, 2)), (m_acosh, (1.2, 3)), (m_atanh, (-0.8, 0.8)), (m_erf, (-2, 2)), (m_erfc, (-2, 2)),
    (m_fabs, (0.2, 2)), (m_degrees, (-2, 2)), (m_radians, (-2, 2)), (m_pi, (-2, 2)), (m_floor_mix, (0.2, 0.8)),
]
if hasattr(math, "cbrt"):
    UNARY += [(m_cbrt, (0.2, 3)), (m_exp2, (-2, 2))]


# binary: both arguments differentiated
def op_add(x, y): return x + y * 2.0
def op_sub(x, y): return x - y * 2.0
def op_mul(x, y): return x * y
def op_div(x, y): return x / y
def op_pow(x, y): return x ** y
def op_mod(x, y): return x % y
def b_pow(x, y): return pow(x, y)
def b_max(x, y): return max(x, y) * 2.0 + max(x * 0.5, y * 2.0)
def b_min(x, y): return min(x, y) * 2.0 + min(x * 0.5, y * 2.0)
def m_atan2(x, y): return math.atan2(x, y)
def m_hypot(x, y): return math.hypot(x, y)
def m_pow(x, y): return math.pow(x, y)
def m_log_base(x, y): return math.log(x, y)
def m_copysign(x, y): return math.copysign(x, y)
def m_fmod(x, y): return math.fmod(x, y)
def b_sum_list(x, y): return sum([x, y, x * y])
def b_max_list(x, y): return max([x, y * 0.5, 0.1])
def b_min_list(x, y): return min((x, y * 0.5, 3.0))

BINARY = [
    (op_add, (-2, 2)), (op_sub, (-2, 2)), (op_mul, (-2, 2)), (op_div, (0.5, 2)), (op_pow, (0.5, 2)),
    (op_mod, (0.6, 0.9)), (b_pow, (0.5, 2)), (b_max, (-2, 2)), (b_min, (-2, 2)), (m_atan2, (0.2, 2)),
    (m_hypot, (0.2, 2)), (m_pow, (0.5, 2)), (m_log_base, (1.5, 3)), (m_copysign, (0.2, 2)), (m_fmod, (0.6, 0.9)),
    (b_sum_list, (-2, 2)), (b_max_list, (0.2, 2)), (b_min_list, (0.2, 2)),
]


# added with the declared rule kinds
def m_lgamma(x): return math.lgamma(x)
def m_gamma(x): return math.gamma(x)
def m_lgamma_small(x): return math.lgamma(x * 0.25)
def m_remainder(x, y): return math.remainder(x * 3.0, y)
def m_prod(x, y): return math.prod([x, y, x * y, 0.5])
def m_prod_start(x, y): return math.prod((x, y), start=2.0)
def m_fsum(x, y): return math.fsum([x, y * 2.0, x * y])
def m_dist(x, y): return math.dist([x, y, 1.0], [y * 0.5, 0.3, x])
def m_ldexp(x, y): return math.ldexp(x * y, 3)

UNARY += [(m_lgamma, (0.3, 4)), (m_gamma, (0.3, 4)), (m_lgamma_small, (0.3, 1.5)), (m_lgamma, (-0.9, -0.1))]
BINARY += [(m_remainder, (0.3, 0.9)), (m_prod, (-2, 2)), (m_prod_start, (-2, 2)), (m_fsum, (-2, 2)),
           (m_dist, (-2, 2)), (m_ldexp, (-2, 2))]
if hasattr(math, "sumprod"):
    def m_sumprod(x, y): return math.sumprod([x, y], [y, 2.0])
    BINARY += [(m_sumprod, (-2, 2))]
