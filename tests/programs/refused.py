"""Functions sct must refuse, each with a located TransformError."""
import math

import numpy as np

COUNTER = 0


def uses_try(x):
    try:
        y = x * 2
    except ValueError:
        y = x
    return y


def uses_with(x):
    with open("f") as fh:
        pass
    return x


def uses_yield(x):
    yield x


async def uses_async(x):
    return x


def uses_global(x):
    global COUNTER
    COUNTER = 1
    return x


def uses_nonlocal(x):
    def inner():
        nonlocal x
    return x


def uses_class(x):
    class A:
        pass
    return x


def uses_del(x):
    ys = [x, x]
    del ys[0]
    return ys[0]


def uses_import(x):
    import os
    return x


def uses_dict_unpacking(x):
    base = {"b": 1.0}
    d = {**base, "a": x}
    return d["a"]


def uses_set(x):
    s = {x, 2.0}
    return x


def uses_starred(x):
    args = [x, 1.0]
    return math.atan2(*args)


def uses_for_else(x):
    for i in range(3):
        x = x * 2
    else:
        x = x + 1
    return x


def uses_attribute_store(x):
    x.attr = 3
    return x


def uses_nested_store(x):
    a = np.zeros((2, 2))
    a[0][1] = x
    return a.sum()


def writes_argument(x):
    x[0] = 2.0
    return x.sum()


def writes_alias(x):
    a = np.zeros(3)
    b = a
    a[0] = x
    return b.sum()


def writes_view(x):
    a = np.zeros((2, 3))
    row = a.reshape(-1)
    a[0, 0] = x
    return row.sum()


def augmented_shared(x):
    y = x
    x += 1.0
    return np.sum(y)


def uses_extend(x):
    xs = []
    xs.extend([x])
    return xs[0]


def no_rule_builtin(x):
    return math.frexp(x)[0]


def no_rule_numpy(x):
    return np.sum(np.fft.fft(x).real)


def calls_builtin_without_rule(x):
    return math.frexp(x)[0]


def vector_output(x):
    return x * 2.0


def nothing_returned(x):
    y = x * 2
