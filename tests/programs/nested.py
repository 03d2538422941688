"""Functions that define functions: nested def, closures over their locals, lambdas (tests/test_nested.py)."""
import functools
import math

import numpy as np


def loss(w, X, y):
    def sigmoid(z):
        return 1.0 / (1.0 + np.exp(-z))
    act = lambda z: np.tanh(z)
    p = sigmoid(X @ w)
    scale = w[0]
    def penalty(v):           # closure over an active local: differentiated through
        return scale * np.sum(v ** 2)
    total = 0.0
    for i in range(3):        # helper defined inside, called in a loop
        total = total + penalty(act(w * i))
    scale = 2.0 * scale       # rebinding changes what penalty reads afterwards
    return np.sum(p - y) + total + penalty(w)


def squares(x):
    def sq(z):
        return z * z
    s = 0.0
    for i in range(3):
        s = s + sq(x[i])
    return s


def closure_active(x):
    a = x * 0.5
    def g(z):
        return a * math.sin(z)
    return g(x) + g(2.0)


def lambda_scalar(x):
    act = lambda z: math.tanh(z) * z
    return act(x) + act(x * x)


def lambda_inline(x):
    return (lambda z: z ** 3)(x) + x


def deep(x):
    a = 2.0 * x
    def mid(y):
        def inner(z):
            return z * y + a
        return inner(y) * x
    return mid(x + 1.0)


def _helper(v):
    def sq(z):
        return z * z
    return sq(v) + v


def in_helper(x):
    return _helper(x) * 3.0 + _helper(x * x)


def mutual(x):
    c = x * 0.5
    def even(n, v):
        if n == 0:
            return v
        return odd(n - 1, v * c)
    def odd(n, v):
        if n == 0:
            return -v
        return even(n - 1, v + c)
    return even(4, x)


def recursive(x):
    def power(v, n):
        if n == 0:
            return 1.0
        return v * power(v, n - 1)
    return power(x, 3)


def defaults(x):
    def f(v, k=2.0, *, shift=-0.5):
        return k * v + shift
    return f(x) + f(x, 3.0) + f(x, shift=x) + f(v=x, k=x)


def rebound_after(x):
    s = x
    def g(z):
        return s * z
    first = g(x)
    s = math.exp(x)       # g reads the new s at the next call, as Python does
    return first + g(x)


def in_loop(x):
    t = 0.0
    for i in range(3):
        c = x * i
        def step(v):
            return v * c + math.sin(v)
        t = step(t)
    return t


def arrays(w):
    k = np.sum(w)
    def f(v):
        return np.tanh(v) * k
    return np.sum(f(w) ** 2)


def make(k):
    def outer(x):
        g = lambda v: k * v * v     # k: the enclosing function's own closure, read when it runs
        return g(x) + x
    return outer


closure_of_closure = make(1.5)


def apply(f, x):
    return f(x) * 2.0


def passed(x):
    def sq(z):
        return z * z
    return apply(sq, x) + apply(lambda z: z ** 3, x) + apply(math.sin, x)


def passed_binding(x, c):
    s = c * 2.0           # not differentiated (wrt x): bound into partial(pen, s)
    def pen(z):
        return s * np.sin(z)
    return apply(pen, x) + apply(lambda z: s * z * z, x)


def key_function(x):
    order = sorted(range(3), key=lambda i: x[i])   # a library function calls it: left to run
    s = 0.0
    for j, k in enumerate(order):
        s = s + x[k] * j
    return s


def _mul(a, z):
    return a * z * z


partial_mul = functools.partial(_mul, 2.0)


def sigmoid_module(z):
    return 1.0 / (1.0 + np.exp(-z))


def module_helper(w):
    s = 0.0
    for i in range(20):
        s = s + np.sum(sigmoid_module(w * i))
    return s


def nested_helper(w):
    def sigmoid_module(z):
        return 1.0 / (1.0 + np.exp(-z))
    s = 0.0
    for i in range(20):
        s = s + np.sum(sigmoid_module(w * i))
    return s


# -- refused -----------------------------------------------------------------------------

def uses_nonlocal(x):
    s = x
    def bump():
        nonlocal s
        s = s * 2.0
    bump()
    return s


def uses_generator(x):
    def gen(n):
        for i in range(n):
            yield x * i
    return sum(gen(3))


def uses_decorated(x):
    @functools.lru_cache
    def f(z):
        return z * z
    return f(x)


def bound_twice(x):
    if x > 0:
        def f(z):
            return z * z
    else:
        def f(z):
            return -z
    return f(x)


def uses_class(x):
    def f(z):
        class A:
            pass
        return z
    return f(x)


def default_from_local(x):
    s = x * 2.0
    def f(z, k=s):
        return k * z
    return f(x)


def value_rebound_later(x):
    s = x
    g = lambda z: s * z
    h = apply(g, 2.0)
    s = 2.0 * x
    return h + g(x)


def value_in_loop(x):
    fs = []
    for i in range(3):
        c = x * i
        fs.append(lambda z: z * c)
    return fs[0](x)


def value_active(x):
    s = x * 2.0
    def pen(z):
        return s * z
    return apply(pen, 3.0)


def called_through_variable(x):
    fs = [lambda z: z * z, lambda z: z + 1.0]
    t = 0.0
    for f in fs:
        t = t + f(x)
    return t
