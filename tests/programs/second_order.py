import math
import numpy as np

def f(x):
    s = x
    for i in range(3):
        s = s * math.sin(s) + x
    return s

def g(x, y):
    return x * x * y + math.exp(x * y)

def h(x):
    return np.sum(np.sin(x) * x[::-1]) + np.sum(x) ** 2


# -- found by the everyday-programs corpus: Hessians of code whose gradient program pops ranges and lists

def sum_of_generator(x):
    return sum(x[i] ** 2 * x[(i + 1) % len(x)] for i in range(len(x)))


def comprehension_then_reads(xs):
    a = [x - 1.0 for x in xs]
    return sum(a) * a[0] * a[-1]


def scatter_by_computed_index(s):
    out = np.zeros(len(s) + 1)
    for i in range(len(s)):
        for j in range(2):
            out[(i + j) % len(out)] += s[i] * s[(i + j) % len(s)]
    return np.sum(out ** 2)


def loop_with_recomputed_step(x, p):
    dt = 0.1
    for _ in range(5):
        x = x + dt * math.sin(x) * p
    return x * x
