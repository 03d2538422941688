"""Everyday model programs, written the way their users write them (issue 11).

Each program below is what a newcomer would type: parameters in a dict where a
model has several named parameters, small helpers (module level and nested),
lambdas, a model class whose method is differentiated, scalar `math` code,
loops.  Nothing here is bent towards what sct supports on the day it was
written; ``tests/test_user_models.py`` marks what sct refuses today.

Every program has a function ``<name>_args()`` returning small deterministic
arguments, and an entry in ``PROGRAMS`` at the bottom saying which callable a
user hands to ``sct.grad`` and which arguments are differentiated.  A few
programs also carry the code the user would write *around* the gradient
(Newton's iteration, forces from an energy, the greeks of an option): that
code calls sct as a user would.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any, Callable, NamedTuple

import numpy as np

import sct


# ---------------------------------------------------------------------------
# 1. Logistic regression.
#    The textbook loss: the parameters are a dict {"w", "b"} (the way a
#    tutorial or a JAX user keeps them), the sigmoid is a module-level
#    helper, an `assert` checks the shapes, and the clip keeps log() finite.
#    Differentiated: params (the whole dict).
# ---------------------------------------------------------------------------

def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def logistic_loss(params, X, y):
    assert X.shape[0] == y.shape[0], "X and y must have the same number of rows"
    p = sigmoid(X @ params["w"] + params["b"])
    p = np.clip(p, 1e-12, 1 - 1e-12)
    nll = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    return nll + 0.5 * 1e-2 * np.sum(params["w"] ** 2)


def logistic_args():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((8, 3))
    y = (rng.random(8) < 0.5).astype(float)
    params = {"w": rng.standard_normal(3) * 0.3, "b": 0.1}
    return (params, X, y)


# ---------------------------------------------------------------------------
# 2. A multilayer perceptron.
#    params = {"layers": [{"W": ..., "b": ...}, ...]}: a list of layer dicts,
#    as in most from-scratch MLP notebooks; the forward pass loops over the
#    layers and takes the activation as an argument, which the loss passes
#    as a lambda.  A nested def computes the mean squared error.
#    Differentiated: params.
# ---------------------------------------------------------------------------

def init_mlp(sizes, seed=0):
    rng = np.random.default_rng(seed)
    return {"layers": [{"W": rng.standard_normal((m, n)) / np.sqrt(m), "b": np.zeros(n) + 0.1}
                       for m, n in zip(sizes[:-1], sizes[1:])]}


def mlp_forward(params, X, activation):
    h = X
    for layer in params["layers"][:-1]:
        h = activation(h @ layer["W"] + layer["b"])
    last = params["layers"][-1]
    return h @ last["W"] + last["b"]


def mlp_loss(params, X, y):
    def mse(pred, target):
        return np.mean((pred - target) ** 2)

    out = mlp_forward(params, X, activation=lambda z: np.tanh(z))
    return mse(out[:, 0], y)


def mlp_args():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((6, 3))
    y = np.sin(X[:, 0]) + 0.5 * X[:, 1]
    return (init_mlp([3, 4, 4, 1], seed=2), X, y)


# ---------------------------------------------------------------------------
# 3. An LSTM cell looped over time.
#    One cell function returning (h, c), the four gates from one matrix
#    product split with np.split, the parameters in a dict; the loss
#    accumulates the squared error of a one-step-ahead prediction with `+=`.
#    Differentiated: params.
# ---------------------------------------------------------------------------

def lstm_cell(params, x, h, c):
    z = params["W"] @ np.concatenate([x, h]) + params["b"]
    i, f, o, g = np.split(z, 4)
    c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
    h = sigmoid(o) * np.tanh(c)
    return h, c


def lstm_loss(params, xs, targets):
    hidden = params["W"].shape[0] // 4
    h = np.zeros(hidden)
    c = np.zeros(hidden)
    loss = 0.0
    for t in range(len(xs)):
        h, c = lstm_cell(params, xs[t], h, c)
        prediction = params["w_out"] @ h
        loss += (prediction - targets[t]) ** 2
    return loss / len(xs)


def lstm_args():
    rng = np.random.default_rng(3)
    n_in, hidden, T = 2, 3, 5
    params = {"W": 0.4 * rng.standard_normal((4 * hidden, n_in + hidden)),
              "b": 0.1 * rng.standard_normal(4 * hidden),
              "w_out": rng.standard_normal(hidden)}
    xs = rng.standard_normal((T, n_in))
    targets = np.cumsum(xs[:, 0]) * 0.3
    return (params, xs, targets)


# ---------------------------------------------------------------------------
# 4. Fitting an ODE with RK4 (Lotka-Volterra).
#    The right-hand side `rhs(y, p)` reads the rates from a dict; a generic
#    `rk4_step(f, y, dt, p)` takes the right-hand side as a function, as a
#    textbook integrator does; the trajectory is collected in a list and
#    stacked; the loss compares it to observations.
#    Differentiated: params (the four rates).
# ---------------------------------------------------------------------------

def rhs(y, p):
    prey, predator = y
    return np.array([p["alpha"] * prey - p["beta"] * prey * predator,
                     p["delta"] * prey * predator - p["gamma"] * predator])


def rk4_step(f, y, dt, p):
    k1 = f(y, p)
    k2 = f(y + 0.5 * dt * k1, p)
    k3 = f(y + 0.5 * dt * k2, p)
    k4 = f(y + dt * k3, p)
    return y + dt / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)


def simulate(p, y0, dt, n_steps):
    ys = [y0]
    y = y0
    for _ in range(n_steps):
        y = rk4_step(rhs, y, dt, p)
        ys.append(y)
    return np.stack(ys)


def ode_fit_loss(params, y0, observed, dt):
    trajectory = simulate(params, y0, dt, len(observed) - 1)
    return np.sum((trajectory - observed) ** 2)


def ode_args():
    true = {"alpha": 1.1, "beta": 0.4, "gamma": 0.4, "delta": 0.1}
    y0 = np.array([10.0, 5.0])
    observed = simulate(true, y0, 0.1, 8) * 1.02
    guess = {"alpha": 1.0, "beta": 0.5, "gamma": 0.5, "delta": 0.12}
    return (guess, y0, observed, 0.1)


# ---------------------------------------------------------------------------
# 5. Black-Scholes price and greeks.
#    Scalar code with the math module, a `norm_cdf` helper written with
#    math.erf as in every quant tutorial; delta and vega are the gradient of
#    the price with respect to the spot and the volatility.
#    Differentiated: S and sigma (delta, vega), also T and r (theta, rho).
# ---------------------------------------------------------------------------

def norm_cdf(x):
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def bs_call(S, K, T, r, sigma):
    d1 = (math.log(S / K) + (r + 0.5 * sigma ** 2) * T) / (sigma * math.sqrt(T))
    d2 = d1 - sigma * math.sqrt(T)
    return S * norm_cdf(d1) - K * math.exp(-r * T) * norm_cdf(d2)


def greeks(S, K, T, r, sigma):
    """What the user wants: delta and vega from one reverse sweep."""
    delta, vega = sct.grad(bs_call, wrt=("S", "sigma"))(S, K, T, r, sigma)
    return {"price": bs_call(S, K, T, r, sigma), "delta": delta, "vega": vega}


def bs_args():
    return (100.0, 105.0, 0.5, 0.03, 0.2)


# ---------------------------------------------------------------------------
# 6. Lennard-Jones energy and forces.
#    The pairwise double loop over atoms, as a first molecular-dynamics code
#    writes it; the forces are minus the gradient of the energy, taken with a
#    lambda around sct.grad.
#    Differentiated: positions.
# ---------------------------------------------------------------------------

def lj_energy(positions, epsilon=1.0, sigma=1.0):
    n = len(positions)
    energy = 0.0
    for i in range(n):
        for j in range(i + 1, n):
            r = np.linalg.norm(positions[i] - positions[j])
            sr6 = (sigma / r) ** 6
            energy += 4 * epsilon * (sr6 ** 2 - sr6)
    return energy


forces = lambda positions: -sct.grad(lj_energy)(positions)  # noqa: E731  (as users write it)


def lj_args():
    positions = np.array([[0.0, 0.0, 0.0],
                          [1.1, 0.0, 0.0],
                          [0.5, 1.0, 0.1],
                          [0.4, 0.3, 1.05]])
    return (positions,)


# ---------------------------------------------------------------------------
# 7. Newton's method on the Rosenbrock function.
#    The n-dimensional Rosenbrock function with its constants as keyword
#    defaults, summed with a generator expression; Newton's method takes the
#    gradient and the Hessian from sct.
#    Differentiated: x.
# ---------------------------------------------------------------------------

def rosenbrock(x, a=1.0, b=100.0):
    return sum(b * (x[i + 1] - x[i] ** 2) ** 2 + (a - x[i]) ** 2 for i in range(len(x) - 1))


def newton(f, x0, steps=50, tol=1e-10):
    gradient = sct.grad(f)
    hessian = sct.hessian(f)
    x = np.array(x0, dtype=float)
    for _ in range(steps):
        step = np.linalg.solve(hessian(x), gradient(x))
        x = x - step
        if np.linalg.norm(step) < tol:
            break
    return x


def rosenbrock_args():
    return (np.array([-1.2, 1.0, 0.8]),)


# ---------------------------------------------------------------------------
# 8. Poisson regression (a GLM with a log link).
#    The negative log-likelihood with np.exp for the rate and the log k!
#    term from math.lgamma in a comprehension over the counts (an integer
#    array), parameters in a dict {"beta", "intercept"}.
#    Differentiated: params.
# ---------------------------------------------------------------------------

def poisson_nll(params, X, counts):
    eta = X @ params["beta"] + params["intercept"]
    rate = np.exp(eta)
    log_factorial = np.array([math.lgamma(k + 1) for k in counts])
    return -np.sum(counts * eta - rate - log_factorial)


def poisson_args():
    rng = np.random.default_rng(8)
    X = rng.standard_normal((10, 2))
    counts = rng.poisson(np.exp(0.3 + X @ np.array([0.5, -0.2])))
    return ({"beta": np.array([0.1, 0.1]), "intercept": 0.0}, X, counts)


# ---------------------------------------------------------------------------
# 9. A 1-D convolution written with loops, fitted to a target.
#    The definition of a (full) convolution written out: an output array
#    filled with `+=` in a double loop.  Same numbers as np.convolve below.
#    Differentiated: kernel and signal.
# ---------------------------------------------------------------------------

def conv1d(signal, kernel):
    n, k = len(signal), len(kernel)
    out = np.zeros(n + k - 1)
    for i in range(n):
        for j in range(k):
            out[i + j] += signal[i] * kernel[j]
    return out


def conv_loss_loops(kernel, signal, target):
    return np.sum((conv1d(signal, kernel) - target) ** 2)


# ---------------------------------------------------------------------------
# 10. The same convolution with np.convolve.
#    Differentiated: kernel and signal.
# ---------------------------------------------------------------------------

def conv_loss_numpy(kernel, signal, target):
    return np.sum((np.convolve(signal, kernel) - target) ** 2)


def conv_args():
    rng = np.random.default_rng(10)
    signal = rng.standard_normal(7)
    target = np.convolve(signal, np.array([0.25, 0.5, 0.25])) + 0.05 * rng.standard_normal(9)
    return (np.array([0.2, 0.6, 0.1]), signal, target)


# ---------------------------------------------------------------------------
# 11. A Gaussian-process log marginal likelihood.
#    Algorithm 2.1 of Rasmussen & Williams: an RBF kernel helper, the
#    Cholesky factor, two triangular solves (np.linalg.solve, as many
#    tutorials write them), the log-determinant from the diagonal.  The
#    hyperparameters are logs in a dict; the user optimises them through a
#    lambda closing over the data.
#    Differentiated: params.
# ---------------------------------------------------------------------------

def rbf_kernel(X1, X2, lengthscale, variance):
    sqdist = np.sum((X1[:, None, :] - X2[None, :, :]) ** 2, axis=-1)
    return variance * np.exp(-0.5 * sqdist / lengthscale ** 2)


def gp_log_marginal_likelihood(params, X, y):
    n = len(y)
    K = rbf_kernel(X, X, np.exp(params["log_lengthscale"]), np.exp(params["log_variance"]))
    K = K + np.exp(params["log_noise"]) * np.eye(n)
    L = np.linalg.cholesky(K)
    alpha = np.linalg.solve(L.T, np.linalg.solve(L, y))
    return -0.5 * y @ alpha - np.sum(np.log(np.diag(L))) - 0.5 * n * np.log(2 * np.pi)


def gp_objective(X, y):
    """What the user hands an optimiser: the negative log marginal likelihood of the hyperparameters."""
    return lambda params: -gp_log_marginal_likelihood(params, X, y)


def gp_args():
    rng = np.random.default_rng(11)
    X = np.linspace(0.0, 3.0, 6)[:, None]
    y = np.sin(2 * X[:, 0]) + 0.1 * rng.standard_normal(6)
    params = {"log_lengthscale": math.log(0.8), "log_variance": 0.0, "log_noise": math.log(0.05)}
    return (params, X, y)


# ---------------------------------------------------------------------------
# 12. A softmax classifier as a small model class.
#    The model object holds its hyperparameters; `loss` is a method calling
#    another method, and the user differentiates the bound method
#    `sct.grad(model.loss)`.  Labels are an integer array used for indexing.
#    Differentiated: W (the first argument of the bound method).
# ---------------------------------------------------------------------------

class SoftmaxClassifier:
    def __init__(self, n_classes, l2=1e-2):
        self.n_classes = n_classes
        self.l2 = l2

    def logits(self, W, X):
        return X @ W

    def loss(self, W, X, y):
        z = self.logits(W, X)
        z = z - z.max(axis=1, keepdims=True)
        log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        return -log_p[np.arange(len(y)), y].mean() + self.l2 * np.sum(W ** 2)


softmax_model = SoftmaxClassifier(n_classes=3)


def softmax_args():
    rng = np.random.default_rng(12)
    X = rng.standard_normal((7, 4))
    y = np.array([0, 1, 2, 1, 0, 2, 2])
    return (0.3 * rng.standard_normal((4, 3)), X, y)


# ---------------------------------------------------------------------------
# 13. A Kalman-filter log-likelihood (local-level model).
#    Scalar filtering recursions in plain Python with math.log / math.pi,
#    `enumerate` over the observations; the two variances are logs in a dict.
#    Differentiated: params.
# ---------------------------------------------------------------------------

def kalman_loglik(params, observations, m0=0.0, p0=10.0):
    q = math.exp(params["log_q"])   # process noise
    r = math.exp(params["log_r"])   # observation noise
    m, P = m0, p0
    loglik = 0.0
    for t, obs in enumerate(observations):
        P = P + q                   # predict
        S = P + r                   # innovation variance
        v = obs - m                 # innovation
        loglik += -0.5 * (math.log(2 * math.pi * S) + v * v / S)
        K = P / S                   # update
        m = m + K * v
        P = (1 - K) * P
    return loglik


def kalman_args():
    observations = [0.3, 0.5, 0.2, 0.9, 1.1, 0.8, 1.4, 1.2]
    return ({"log_q": math.log(0.1), "log_r": math.log(0.2)}, observations)


# ---------------------------------------------------------------------------
# 14. A Gaussian-mixture log-likelihood in pure Python.
#    Lists of numbers, math.log/math.exp, a logsumexp helper, zip over the
#    components, the mixing weights as a softmax of logits: the way one
#    writes it before reaching for NumPy.
#    Differentiated: logits, means, log_sds (three lists).
# ---------------------------------------------------------------------------

def logsumexp(values):
    m = max(values)
    return m + math.log(sum(math.exp(v - m) for v in values))


def normal_logpdf(x, mean, sd):
    return -0.5 * ((x - mean) / sd) ** 2 - math.log(sd) - 0.5 * math.log(2 * math.pi)


def mixture_loglik(logits, means, log_sds, data):
    log_norm = logsumexp(logits)
    log_weights = [a - log_norm for a in logits]
    total = 0.0
    for x in data:
        terms = [lw + normal_logpdf(x, mu, math.exp(ls)) for lw, mu, ls in zip(log_weights, means, log_sds)]
        total += logsumexp(terms)
    return total


def mixture_args():
    data = [-1.3, -0.8, -1.1, 0.2, 1.7, 2.1, 1.9, 2.4]
    return ([0.0, 0.3], [-1.0, 2.0], [math.log(0.5), math.log(0.7)], data)


# ---------------------------------------------------------------------------
# 15. A projectile with air drag: how far does it fly?
#    Explicit Euler in a `while True` loop until the projectile lands, the
#    landing point interpolated between the last two steps (so the range is
#    smooth in the launch parameters); the physical constants in a
#    dataclass, the angle in degrees.
#    Differentiated: speed and angle_deg.
# ---------------------------------------------------------------------------

@dataclass
class Environment:
    drag: float = 0.05     # quadratic drag coefficient over mass, 1/m
    g: float = 9.81
    dt: float = 0.02


def projectile_range(speed, angle_deg, env):
    theta = math.radians(angle_deg)
    x, y = 0.0, 0.0
    vx, vy = speed * math.cos(theta), speed * math.sin(theta)
    while True:
        v = math.hypot(vx, vy)
        ax = -env.drag * v * vx
        ay = -env.g - env.drag * v * vy
        x_prev, y_prev = x, y
        x, y = x + env.dt * vx, y + env.dt * vy
        vx, vy = vx + env.dt * ax, vy + env.dt * ay
        if y < 0.0:
            break
    return x_prev + (x - x_prev) * y_prev / (y_prev - y)


def projectile_args():
    return (12.0, 40.0, Environment())


# ---------------------------------------------------------------------------
# The registry: what each user hands to sct.grad, and with respect to what.
# ---------------------------------------------------------------------------

class Program(NamedTuple):
    name: str
    fn: Callable            # the callable given to sct.grad
    args: Callable[[], tuple]
    wrt: Any                # positions or names, as given to sct.grad


PROGRAMS = [
    Program("logistic_regression", logistic_loss, logistic_args, 0),
    Program("mlp", mlp_loss, mlp_args, 0),
    Program("lstm", lstm_loss, lstm_args, 0),
    Program("rk4_ode_fit", ode_fit_loss, ode_args, 0),
    Program("black_scholes", bs_call, bs_args, ("S", "sigma", "T", "r")),
    Program("lennard_jones", lj_energy, lj_args, 0),
    Program("rosenbrock", rosenbrock, rosenbrock_args, 0),
    Program("poisson_regression", poisson_nll, poisson_args, 0),
    Program("conv1d_loops", conv_loss_loops, conv_args, (0, 1)),
    Program("conv1d_numpy", conv_loss_numpy, conv_args, (0, 1)),
    Program("gp_marginal_likelihood", gp_log_marginal_likelihood, gp_args, 0),
    Program("softmax_model_method", softmax_model.loss, softmax_args, 0),
    Program("kalman_filter", kalman_loglik, kalman_args, 0),
    Program("mixture_pure_python", mixture_loglik, mixture_args, (0, 1, 2)),
    Program("projectile", projectile_range, projectile_args, (0, 1)),
]

# How a user reaches for these outside the gradient tests: the GP objective is a lambda.
gp_objective_lambda = gp_objective(*gp_args()[1:])
rosenbrock_b10 = functools.partial(rosenbrock, b=10.0)
