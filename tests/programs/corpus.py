import math
import numpy as np

def stats(a, b):
    return a + b, a * b

def uses_tuple(x, y):
    s, p = stats(x, y)
    return s * p + math.log(p)

def kwonly(x, *, k=2.0):
    return x ** k

def posonly(x, /, y=1.0):
    return x * y

def listaug(x):
    xs = [x, 2 * x, 3.0]
    xs[1] += x * x
    xs[2] *= x
    return xs[0] + xs[1] + xs[2]

def gen_sum(x):
    return sum(x ** i for i in range(1, 4)) + sum([x] * 3)

def boolmul(x):
    return (x > 0) * x + (x < 0) * -x

def floor_mod(x):
    return x % 1.0 + x // 2.0

def inf_const(x):
    best = float("inf")
    for c in (0.5, 1.5, 2.5):
        d = (x - c) ** 2
        if d < best:
            best = d
    return best

def fstr(x):
    msg = f"value {x:.3f}"
    assert x > -100, msg
    return x * 2.0

def loop_list_index(x):
    ws = [0.1, 0.2, 0.3]
    out = 0.0
    for i in range(len(ws)):
        out = out + ws[i] * x ** i
    return out

def np_scalar_mix(x):
    a = np.array([x, x * 2.0, 3.0])
    return float(np.dot(a, a)) + np.float64(x) * 2

def reversed_loop(x):
    s = x
    for i in reversed(range(4)):
        s = s * (i + 1) + math.sin(s)
    return s

def minmax_list(x, y):
    return max([x, y, 0.5]) - min(x, y, 0.2) if False else max([x, y, 0.5]) - min(x, y)

def while_else_free(x):
    i = 0
    while i < 5:
        x = math.sqrt(x + 1.0)
        i = i + 1
    return x

def nested_helpers(x):
    def_val = uses_tuple(x, 2.0)
    return def_val + kwonly(x, k=3.0) + posonly(x, 2.0)


def scales_argument(x):
    x *= 2.0
    return np.sum(x ** 2)


def local_alias(x):
    f = np.sin
    g = math.exp
    return np.sum(f(x)) + g(1.0) * np.sum(x)


GLOBAL_WEIGHTS = np.array([1.0, 2.0, 3.0])


def writes_global_copy(x):
    a = GLOBAL_WEIGHTS.copy()
    a[0] = x
    return np.sum(a * a)


def reads_global_alias(x):
    w = GLOBAL_WEIGHTS
    return np.sum(w * x)
