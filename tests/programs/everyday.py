"""Everyday Python around the mathematics (issue 11): `with` blocks, printing and logging, assertions,
f-strings, `:=`, *args and **kwargs passed on, and the iteration forms of the standard library."""
import contextlib
import logging
import math
import warnings

import numpy as np

LOG = logging.getLogger("sct.tests.everyday")


# ---------------------------------------------------------------- with blocks

def with_errstate(x):
    with np.errstate(divide="ignore", invalid="ignore"):
        y = np.log(x * x)
    return np.sum(y * x)


def with_catch_warnings(x):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        z = np.sum(np.sqrt(x * x + 1.0) / x)
    return z * 2.0


def with_nullcontext(x):
    s = x
    with contextlib.nullcontext():
        s = s * math.sin(x)
        s = s + x * x
    return s


def with_as_constant(x):
    with np.printoptions(precision=3) as options:
        s = np.sum(x ** 3)
    return s * len(options)


def with_several_managers(x):
    mode = "ignore"
    with np.errstate(divide=mode), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        y = np.sum(np.log(x * x) * x)
    return y


def with_return(x):
    with np.errstate(all="ignore"):
        if x > 0.5:
            return x * x * 3.0
        return math.exp(x) * x


def with_in_loop(x):
    s = 0.0
    for i in range(4):
        with np.errstate(divide="ignore"):
            s = s + np.log(x * (i + 1)) * x
    return s


def with_break(x):
    s = x
    for i in range(6):
        with np.errstate(over="ignore"):
            s = s * x + 0.5
            if s > 3.0:
                break
    return s


def with_in_branch(x):
    if x > 0.0:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            y = x * x
    else:
        y = -x
    return y * math.cos(x)


def log_of_square(x):
    """Divides by zero at x == 0 in both sweeps: the gradient stays silent under the same manager."""
    with np.errstate(divide="ignore"):
        y = np.log(x) * 2.0
    return np.sum(y)


def log_of_square_filtered(x):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        y = np.log(x) * 2.0
    return np.sum(y)


# ---------------------------------------------------------------- statements with no derivative

def statements(x):
    assert x.shape == (3,), "shape"
    print(f"x[0] is {x[0]:.2f}, the sum {np.sum(x)}")
    logging.debug("x is %s", x)
    LOG.info("sum %s", np.sum(x))
    if isinstance(x, np.ndarray) and type(x) is np.ndarray:
        s = np.sum(x * x)
    else:
        s = 0.0
    label = f"{s:.3f}"
    if len(label) > 0:
        s = s * 2.0
    return s


def warns(x):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        warnings.warn(f"x = {x}")
        y = x * x
    return y


def walrus_if(x):
    s = np.sum(x)
    if (n := len(x)) > 2:
        s = s * n
    if (m := s * s) > 1.0:
        return m * x[0]
    return m


def walrus_order(a):
    b = a + (a := a * 3.0)      # the old a, then the new one
    c = (a := a + 1.0) * a      # the new a twice
    return b * c + a


def walrus_while(x):
    s = x
    n = 0
    while (n := n + 1) < 4:
        s = s * x + n
    return s


def walrus_lazy(x):
    s = x
    if x > 0.0 and (y := x * x) > 0.3:   # (y is bound only when x > 0)
        s = s * x + 1.0
    r = x if x < 0.0 else (z := math.sin(x)) * z
    return s + r


def walrus_comprehension(x):
    ys = [(t := v * 2.0) + t * v for v in [x, x * x]]
    return sum(ys) + t


def helper(x, scale=1.0, shift=0.0):
    return np.sum(scale * x * x + shift * x)


def passes_kwargs(x, **kw):
    return helper(x, **kw)


def passes_args(x, *args):
    return helper(x, *args)


def passes_both(x, *args, **kw):
    return passes_kwargs(x, **kw) + helper(x, *args, **kw)


def calls_with_kwargs(x):
    return passes_kwargs(x, scale=2.0, shift=0.5) + passes_args(x, 3.0) + passes_both(x, shift=1.5)


def collects_kwargs(x, **kw):
    return x * x * len(kw)


def fills_kwargs(x):
    return collects_kwargs(x, a=1.0, b="two")


# ---------------------------------------------------------------- iteration and library forms

def negate(t):
    return -t


def sorted_loop(x):
    s = 0.0
    for v in sorted([x[0], x[1] * 2.0, x[2]]):
        s = s * 0.5 + v
    for v in sorted(x, key=negate):
        s = s * 0.5 + v * v
    return s


def sorted_expression(x):
    ys = sorted([x[0], x[1], x[2] * x[0]], reverse=True)
    zs = sorted(x, key=abs)
    return ys[0] * 3.0 + ys[2] + zs[0] * zs[1]


def reversed_forms(x):
    ys = list(reversed([x[0], x[1] * 2.0]))
    d = 0.0
    for v in reversed([x[0], x[2]]):
        d = d * 0.5 + v
    return ys[0] * 3.0 + ys[1] + d + sum(reversed(x * x)) + np.sum(np.array(reversed_list(x)) * x)


def reversed_list(x):
    return [v for v in reversed(x)]


def enumerate_zip(x):
    d = 0.0
    for i, v in enumerate([x[0], x[2]], start=1):
        d = d + i * v
    for u, v in zip([x[0], x[1]], [x[1], x[2]], strict=True):
        d = d + u * v
    for i, (u, v) in enumerate(zip(x, x * x, strict=True)):
        d = d + i * u * v
    return d


def ranges(x):
    d = 0.0
    for i in range(2, -1, -1):
        d = d * 0.5 + x[i] * i
    n = len(x)
    step = 2
    for i in range(n - 1, -1, -step):
        d = d * x[i] + 1.0
    for i in range(0, n, step):
        d = d + x[i]
    return d


def tolist_forms(x):
    xs = x.tolist()
    rows = np.outer(x, x).tolist()
    s = 0.0
    for v in xs:
        s = s + v * v
    return s + xs[0] * xs[2] + rows[1][2] + sum(rows[0])


def reductions(x):
    a = sum(v * v for v in x)
    b = math.fsum(v * 2.0 for v in x) + math.fsum([x[0], x[2]])
    c = math.prod(v + 1.0 for v in x) + math.prod([x[0], x[1]])
    d = max(v * v for v in x) + min([x[0], x[1], x[2] * 2.0])
    e = sum([x[0], x[1]]) + max(x[0], x[1] * 2.0, x[2])
    return a + b + c + d + e


def conditions(x):
    s = np.sum(x)
    if any(v > 0.4 for v in x) and all([x[0] > -1.0, x[1] > -1.0]):
        s = s * s
    if not any(v > 10.0 for v in x):
        s = s + x[0]
    return s


def everything_at_once(x):
    with np.errstate(divide="ignore"):
        total = 0.0
        for i, v in enumerate(sorted(x.tolist(), reverse=True), start=1):
            print(f"step {i}: {v:.3f}")
            total = total + v * i
    assert total == total
    if (n := len(x)) > 1:
        total = total * n
    return total + sum(v * v for v in reversed(x))


# ---------------------------------------------------------------- refused

def uses_suppress(x):
    with contextlib.suppress(ValueError):
        y = x * 2.0
    return y


class Timer:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


TIMER = Timer()


def uses_unknown_manager(x):
    with TIMER:
        y = x * 2.0
    return y


def binds_active(x):
    with contextlib.nullcontext(x) as y:
        z = y * 2.0
    return z


def leaves_partly(x):
    with np.errstate(all="ignore"):
        if x > 0.0:
            return x
    return x * 2.0


def breaks_partly(x):
    s = x
    for i in range(3):
        with np.errstate(all="ignore"):
            if s > 2.0:
                break
        s = s * x
    return s


def spreads_active(x):
    scales = dict(scale=x)
    return helper(np.ones(2), **scales)


def spreads_active_args(x):
    return helper(x, *[x])


def fills_kwargs_actively(x):
    return collects_kwargs(2.0, a=x)


def rule_with_spread(x, **kw):
    return np.sum(x, **kw)


RNG = np.random.default_rng(0)


def shuffles(x):
    y = x.copy()
    RNG.shuffle(y)
    return y[0] * 1.0


def unused_result_of_nondiff(x):
    np.random.shuffle(x)
    return x[0]


def user_managed(x):
    with USER_MANAGER:
        y = x * x
    return y


class UserManager:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


USER_MANAGER = UserManager()
