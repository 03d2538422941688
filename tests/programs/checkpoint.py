"""Loops for the checkpointing tests: each as the user writes it, and (``*_marked``) with the per-loop marker."""
import math

import numpy as np

import sct


def scalar(x, p, dt, n):
    for i in range(n):
        x = x + dt * math.sin(x) * p
    return x


def scalar_marked(x, p, dt, n):
    for i in sct.checkpointed(range(n)):
        x = x + dt * math.sin(x) * p
    return x


def scalar_revolve_marked(x, p, dt, n):
    for i in sct.checkpointed(range(n), ("revolve", 3)):
        x = x + dt * math.sin(x) * p
    return x


def marker_with_a_variable_schedule(x, n, s):
    for i in sct.checkpointed(range(n), ("revolve", s)):
        x = x * math.cos(x)
    return x


def branches(x, a, n):
    y = np.zeros(3)
    s = 0.0
    for i in range(n):
        if x > 0.5:
            x = x * a
        else:
            x = math.sin(x) + a
        y[i % 3] = x * a
        for j in range(2):
            s = s + y[j] * x
    return s + x + np.sum(y)


def branches_marked(x, a, n):
    y = np.zeros(3)
    s = 0.0
    for i in sct.checkpointed(range(n), 2):
        if x > 0.5:
            x = x * a
        else:
            x = math.sin(x) + a
        y[i % 3] = x * a
        for j in range(2):
            s = s + y[j] * x
    return s + x + np.sum(y)


def with_break(x, a, n):
    s = 0.0
    for i in range(n):
        s = s + x * a
        x = math.cos(x) * a
        if s > 3.0:
            break
    return s + x


def return_in_loop(x, a, n):
    for i in range(n):
        x = x * a + 0.1
        if x > 2.0:
            return x * x
    return x


def continue_in_loop(x, n):
    s = 0.0
    for i in range(n):
        if i % 3 == 0:
            continue
        s = s + math.sin(x * i)
        x = x * 1.01
    return s


def nested(x, a, n):
    s = 0.0
    for i in range(n):
        for j in range(i):
            s = s + math.sin(x * j) * a
        x = x + 0.01 * s
    return s + x


def arrays(w, v, n):
    acc = v * 1.0
    for k in range(n):
        acc = np.tanh(w @ acc) + v
    return np.sum(acc ** 2)


def in_place(x, n):
    y = x * 1.0
    for k in range(n):
        y[k % 3] = y[(k + 1) % 3] * 0.9 + math.sin(y[k % 3])
    return np.sum(y * y)


def appends(x, n):
    xs = [x]
    for k in range(n):
        xs.append(math.sin(xs[k]) * 1.1 + x)
    s = 0.0
    for v in xs:
        s = s + v * v
    return s


def over_a_list(xs, a):
    s = 0.0
    for v in xs:
        s = s * a + v * v
    return s


def two_loops(x, a, n):
    t = x
    for i in range(n):
        t = t * a + 0.1
    u = t
    for i in range(n):
        u = math.sin(u) + t
    return u * t


def marked_inside_a_loop(x, a, n):
    t = 0.0
    for k in range(3):
        for i in sct.checkpointed(range(n)):
            x = x * a + math.sin(x)
            t = t + x
    return t


def reassigned_after(x, a, n):
    for i in range(n):
        x = x * a + math.sin(x)
    a = 2.0 * x
    return x * a


def while_loop(x):
    while x < 10.0:
        x = x * 1.5
    return x


def rebound_and_written(x, n):
    y = x * 1.0
    for k in range(n):
        y = y * 0.5
        y[0] = y[1] + 1.0
    return np.sum(y)
