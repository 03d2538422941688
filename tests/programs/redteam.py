def w1a(x):
    go = True
    y = x
    while go:
        y = y * 1.5
        if y > 4.0:
            go = False
    return y

def w1b(x):
    y = x
    flag = True
    if flag:
        flag = False
        y = y * x
    return y

def w1c(x):
    n = 3
    y = x
    while n:
        y = y * x
        n = n - 1
    return y

def w1d(x):
    y = x
    stop = False
    for i in range(5):
        if stop:
            break
        y = y * 1.4
        if y > 1.2:
            stop = True
    return y

def w2a(x):
    return 0.0 or x

def w2b(x):
    s = 0.0
    for i in range(4):
        if i == 1 or i == 2:
            s = s + x
    return s

def w2c(x):
    s = 0.0
    for i in range(3):
        if i > 0 and i < 2:
            s = s + x
    return s

def w2d(x):
    n = 0
    while n < 3 or x < 5.0:
        x = x * 1.5
        n = n + 1
    return x

def w3(x):
    s = 0.0
    for i in range(3):
        i = 2
        s = s + x * i
    return s

def w4(x):
    s = x
    for x in range(2):
        s = s + x
    return s

def w4b(x):
    s = x
    for i, x in enumerate([1.0, 2.0]):
        s = s + x * i
    return s

def i3(x):
    xs = [x, 2.0]
    s = 0.0
    for v in xs:
        xs = [v]
        s = s + v * x
    return s

def i4(x):
    s = 0.0
    for i, v in enumerate([x, x * x], 1):
        s = s + i * v
    return s

import math
import numpy as np


def w5_full(x):
    return np.sum(np.full(3, x)) + np.sum(np.full_like(np.ones(2), x) * 2.0)


def w5_linspace(x):
    return np.sum(np.linspace(x, 2.0 * x, 5) ** 2)


def w5_ldexp(x):
    return math.ldexp(x, 3)


def w7_view(x):
    y = np.zeros(2)
    z = y[:1]
    z += x
    return y[0]


def w7_list(x):
    ys = [[0.0], [1.0]]
    a = ys[0]
    a += [x]
    return ys[0][0]


def w8(x):
    a = []
    b = [a]
    a.append(x)
    return b[0][0]


def i2(x, y):
    xs = [x, y]
    return xs[len(xs) - 1] * x


def i5(x):
    r = [x, x]
    m = [r] * 2
    return m[1][0] * m[0][1]


def w11_pow(x, y):
    return x ** y


def w11_zero(v):
    return np.sum(v ** 0 + v)


def i7(x):
    s = 0.0
    for p in range(3):
        s = s + x ** p
    return s


def _fill(y, v):
    y[0] = v
    return None


def w6(x):
    y = np.zeros(2)
    _fill(y, x)
    return y[0]


def h_sort(v):
    return np.sum(np.sort(v) ** 3)


def h_take(v):
    return np.sum(np.take(v, [2, 0, 1]) ** 3)


def h_repeat(v):
    return np.sum(np.repeat(v, 2) ** 3)


def h_split(v):
    a, b = np.split(np.concatenate([v, v]), 2)
    return np.sum(a ** 3) + np.sum(b ** 3)


def i1(x):
    m = [[x * (i + j) for j in range(2)] for i in range(2)]
    return m[1][0] * m[0][1] + m[1][1]


def i1b(x):
    rows = []
    for i in range(2):
        row = []
        for j in range(2):
            row.append(x * (i + j + 1))
        rows.append(row)
    return rows[1][0] * rows[0][1]


def i1c(x):
    rows = []
    for i in range(2):
        row = []
        for j in range(2):
            row.append(x * (i + j + 1))
        rows.append(list(row))
    return rows[1][0] * rows[0][1] + sum(rows[1])


def copy_then_write(x):
    x = x.copy()
    x[0] = x[1] * 2.0
    return np.sum(x ** 2)


def list_then_append(xs):
    xs = list(xs)
    xs.append(xs[0] * 3.0)
    return sum(v * v for v in xs)


def lv1(x):
    s = x
    for j in range(2):
        for i in range(3):
            s = s + x
        s = s * i
    return s


def dup_set(x):
    y = np.zeros(2)
    y[[0, 0]] = x
    return y[0] * 3.0 + y[1]


def list_rep_iadd(x):
    l = [np.zeros(3)] * 2
    l[0] += x
    return np.sum(l[1] * x)


def list_slot_iadd(x):
    s = [0.0, 0.0]
    for i in range(3):
        s[i % 2] += x * i
    return s[0] * s[1]


def z1(x):
    return list(zip([x], [x]))[0][0]


def enum_zip(x, w):
    s = 0.0
    for i, (a, b) in enumerate(zip(x, w)):
        s = s + a * b * i
    return s


def unread_write(x):
    l = [1.0, 1.0]
    l[-1] = 0.0
    return x * x


def zero_d(x):
    return x[()] * x[()]
