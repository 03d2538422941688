"""Programs that call functions of their own: helpers returning tuples, called in loops and branches,
nested three deep, with early returns and loops inside, recursive; numbers, arrays and lists."""
import math

import numpy as np


# -- scalar helpers -----------------------------------------------------------------------------------

def accel(theta, omega, g, c):
    return -g * math.sin(theta) - c * omega


def pendulum(theta0, omega0, g, c):
    """Euler steps of a damped pendulum, the acceleration in a helper."""
    theta = theta0
    omega = omega0
    for i in range(50):
        a = accel(theta, omega, g, c)
        theta = theta + 0.01 * omega
        omega = omega + 0.01 * a
    return theta * theta + omega


def pendulum_rk4(theta0, omega0, g, c):
    theta = theta0
    omega = omega0
    dt = 0.05
    for i in range(20):
        k1t = omega
        k1w = accel(theta, omega, g, c)
        k2t = omega + 0.5 * dt * k1w
        k2w = accel(theta + 0.5 * dt * k1t, k2t, g, c)
        k3t = omega + 0.5 * dt * k2w
        k3w = accel(theta + 0.5 * dt * k2t, k3t, g, c)
        k4t = omega + dt * k3w
        k4w = accel(theta + dt * k3t, k4t, g, c)
        theta = theta + dt / 6.0 * (k1t + 2.0 * k2t + 2.0 * k3t + k4t)
        omega = omega + dt / 6.0 * (k1w + 2.0 * k2w + 2.0 * k3w + k4w)
    return theta + 0.3 * omega


def polar(x, y):
    r = math.sqrt(x * x + y * y)
    return r, math.atan2(y, x)


def uses_a_tuple(x, y):
    r, phi = polar(x, y)
    s = 0.0
    for i in range(3):
        a, b = polar(x + i, y * r)
        s = s + a * math.cos(b + phi)
    return s + r * phi


def branchy(x, k):
    if x > 0.0:
        return x * x * k
    return math.sin(x) * k


def in_branches(x, y):
    s = 0.0
    for i in range(6):
        if i % 2 == 0:
            s = s + branchy(x - i * 0.4, y)
        else:
            s = s * branchy(y, x) * 0.1
    if s > 0.0:
        s = s + branchy(s, 2.0)
    return s


def level3(x, y):
    return math.exp(-x * x) * y + math.sin(y)


def level2(x, y):
    return level3(x, y) * level3(y, x) + x


def level1(x, y):
    a = level2(x, y)
    return level2(a, x * y) + a


def nested(x, y):
    s = 0.0
    for i in range(4):
        s = s + level1(x * (1.0 + 0.1 * i), y)
    return s


def early(x, n):
    s = x
    for i in range(n):
        s = s * 1.1 + math.sin(s)
        if s > 3.0:
            return s * 2.0
    t = 0.0
    while t < 1.0:
        t = t + 0.3
        s = s + t * x
    return s


def calls_early(x, y):
    s = 0.0
    for i in range(5):
        s = s + early(x + 0.2 * i, 4) * y
    return s + early(y, 2)


def pendulum_calls_early(theta0, omega0, g, c):
    """A helper with a loop inside, called in the loop a checkpoint= option checkpoints."""
    theta = theta0
    omega = omega0
    for i in range(20):
        a = accel(theta, omega, g, c) + early(theta * 0.1, 2) * 0.01
        theta = theta + 0.01 * omega
        omega = omega + 0.01 * a
    return theta * theta + omega


def power(x, n):
    if n == 0:
        return 1.0
    return x * power(x, n - 1)


def calls_recursive(x, y):
    s = 0.0
    for i in range(3):
        s = s + power(x, 3) * y
    return s + power(y, 2)


def even(x, n):
    if n == 0:
        return x
    return odd(x * 1.1, n - 1) + math.sin(x)


def odd(x, n):
    if n == 0:
        return x * x
    return even(x * 0.9, n - 1) * 1.5


def calls_mutual(x):
    return even(x, 5)


def scaled(x, scale=2.0, *, shift=0.5):
    return math.tanh(x * scale + shift)


def keywords_and_defaults(x, y):
    s = scaled(x)
    s = s + scaled(y, shift=x)
    s = s + scaled(x, 3.0, shift=y)
    s = s + scaled(scale=y, x=x)
    return s


def rebinds(x, y):
    x = x * y
    y = math.sin(x) + y
    return x * y


def calls_rebinds(a, b):
    s = 0.0
    for i in range(3):
        s = s + rebinds(a, b + i)
    return s


def only_once(x):
    return math.log(1.0 + x * x)


def linear(x, y):
    return 2.0 * x - y


def top_level_calls(x, y):
    a = only_once(x)
    b = linear(a, y)
    return a * b + linear(y, x)


# -- lists and arrays -------------------------------------------------------------------------------

def logsumexp(values):
    m = max(values)
    s = 0.0
    for v in values:
        s = s + math.exp(v - m)
    return m + math.log(s)


def log_normal(x, mu, log_sigma):
    z = (x - mu) * math.exp(-log_sigma)
    return -0.5 * z * z - log_sigma - 0.5 * math.log(2.0 * math.pi)


def mixture(xs, weights, mus, log_sigmas):
    """A one-dimensional Gaussian mixture's log-likelihood over lists, with helpers."""
    log_w = []
    lw = logsumexp(weights)
    for w in weights:
        log_w.append(w - lw)
    total = 0.0
    for x in xs:
        terms = []
        for k in range(len(weights)):
            terms.append(log_w[k] + log_normal(x, mus[k], log_sigmas[k]))
        total = total + logsumexp(terms)
    return total


def squares(v):
    out = []
    for x in v:
        out.append(x * x)
    return out


def uses_returned_list(x, y):
    ys = squares([x, y, x * y])
    ys.append(x)
    ys[0] = ys[0] + y
    return ys[0] * ys[1] + ys[2] + ys[3]


def row_energy(w, x):
    h = np.tanh(w @ x)
    return np.sum(h * h)


def array_helper(w, x):
    s = 0.0
    for i in range(3):
        s = s + row_energy(w * (1.0 + i), x)
    return s


def normalise(v):
    return v / np.sqrt(np.sum(v * v))


def array_written_after(w, x):
    y = normalise(w @ x)
    z = y * 1.0
    y[0] = 5.0  # written after the call; the helper's record must not see it
    return np.sum(np.sin(y) * z)


def helper_with_tape(x, n):
    y = np.zeros(n)
    for i in range(n):
        y[i] = math.sin(x * i)
    return np.sum(y * y)


def arrays_in_loop(x):
    s = 0.0
    for k in range(3):
        s = s + helper_with_tape(x + k, 4) * x
    return s
