"""Gradient-based fitting of a Gaussian mixture with sct gradients.

The objective is the *mean* log-likelihood per point of
:func:`examples.gmm.model.loglik_vec` over the unconstrained parameters
``(logits, means, log_diag, lower)``; any value of them is a valid mixture,
so plain unconstrained ascent methods apply. Only full covariances are
fitted this way (diagonal, spherical or tied mixtures would need their own
parametrisations).

Two optimisers are provided, both taking a callable
``value_and_grad(params) -> (value, grads)`` where ``params`` and ``grads``
are 4-tuples of arrays:

* :func:`gradient_ascent`: steepest ascent with a backtracking (Armijo) line
  search; the trial step grows after each accepted step and shrinks on
  failure, so no step size has to be tuned;
* :func:`adam`: Adam (Kingma and Ba, 2015) on the full batch.

By default the gradient comes from sct (:func:`sct_value_and_grad`, built
lazily so that this module imports without sct). :func:`fit_gradient` runs
either optimiser on standardised data (each column centred and scaled to unit
variance, an affine change of variables that leaves the maximiser unchanged
up to the same transformation but makes the problem far better conditioned)
and maps the result back to the original units.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .model import MixtureParams, Unconstrained, from_unconstrained, loglik_vec, to_unconstrained

#: ``value_and_grad(params) -> (mean log-likelihood, gradient tuple)``.
ValueAndGrad = Callable[[Unconstrained], tuple[float, Unconstrained]]
#: ``value(params) -> mean log-likelihood``.
Value = Callable[[Unconstrained], float]
#: ``callback(iteration, mean log-likelihood, params)``.
Callback = Callable[[int, float, Unconstrained], None]

METHODS = ("gradient", "adam")


@dataclass
class OptimResult:
    """Outcome of an optimiser.

    ``history[i]`` is the objective after ``i`` iterations (``history[0]`` at
    the starting point) and ``times[i]`` the wall time (seconds since the
    start) at which that iterate was known.
    """

    params: Unconstrained
    value: float
    n_iter: int
    converged: bool
    history: list[float] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    n_evaluations: int = 0


# ---------------------------------------------------------------------------
# Objectives
# ---------------------------------------------------------------------------


@functools.lru_cache(maxsize=None)
def _sct_loglik_value_and_grad() -> Callable:
    """sct's ``value_and_grad`` of :func:`loglik_vec` (built once per process)."""
    try:
        import sct
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            "gradient fitting needs the sct package (import sct failed); "
            "use method='em' or pass value_and_grad explicitly"
        ) from err
    if not hasattr(sct, "value_and_grad"):  # pragma: no cover
        raise ImportError("this version of sct has no value_and_grad")
    return sct.value_and_grad(loglik_vec, wrt=(0, 1, 2, 3))


def sct_value_and_grad(X: np.ndarray) -> ValueAndGrad:
    """Mean log-likelihood of ``X`` and its gradient, differentiated by sct.

    Args:
        X: ``(N, D)`` data.

    Returns:
        ``f(params) -> (value, grads)`` with ``value = loglik_vec(*params, X) / N``.
    """
    vg = _sct_loglik_value_and_grad()
    n = X.shape[0]

    def value_and_grad(params: Unconstrained) -> tuple[float, Unconstrained]:
        value, grads = vg(*params, X)
        return float(value) / n, tuple(np.asarray(g) / n for g in grads)

    return value_and_grad


def mean_loglik(X: np.ndarray) -> Value:
    """``f(params) -> loglik_vec(*params, X) / N`` (plain NumPy, no gradient)."""
    n = X.shape[0]
    return lambda params: float(loglik_vec(*params, X)) / n


# ---------------------------------------------------------------------------
# Optimisers
# ---------------------------------------------------------------------------


def _axpy(alpha: float, x: Unconstrained, y: Unconstrained) -> Unconstrained:
    """``y + alpha * x`` for tuples of arrays."""
    return tuple(b + alpha * a for a, b in zip(x, y))


def _sqnorm(x: Unconstrained) -> float:
    return float(sum(np.sum(a * a) for a in x))


def _check_finite(value: float, where: str) -> None:
    if not np.isfinite(value):
        raise FloatingPointError(
            f"{where}: the log-likelihood is {value}; the parameters left the "
            "numerically valid region (a collapsing component or an extreme start)"
        )


def _backtrack(step: float, f0: float, slope: float, f_trial: float, shrink: float) -> float:
    """Next trial step after ``step`` failed the Armijo test.

    The maximiser of the parabola through ``f0`` (slope ``slope`` at 0) and
    ``f_trial`` at ``step``, kept within ``[0.1, shrink] * step``; plain
    shrinking when the trial value is not finite (Nocedal and Wright, 2006,
    section 3.5).
    """
    if not np.isfinite(f_trial):
        return shrink * step
    curvature = (f_trial - f0 - slope * step) / step**2  # negative after a failure
    best = -slope / (2.0 * curvature) if curvature < 0 else shrink * step
    return float(np.clip(best, 0.1 * step, shrink * step))


def gradient_ascent(
    value_and_grad: ValueAndGrad,
    params: Unconstrained,
    max_iter: int = 100,
    tol: float = 1e-3,
    value: Value | None = None,
    initial_step: float = 1.0,
    shrink: float = 0.5,
    grow: float = 2.0,
    armijo: float = 1e-4,
    max_backtracks: int = 60,
    callback: Callback | None = None,
) -> OptimResult:
    """Steepest ascent with a backtracking (Armijo) line search.

    Each iteration tries ``params + t * grad`` with ``t`` starting at ``grow``
    times the last accepted step and reduced (by quadratic interpolation,
    between 0.1 and ``shrink`` times) until
    ``f(new) >= f(old) + armijo * t * ||grad||^2``.

    Args:
        value_and_grad: objective and gradient (maximised).
        params: starting point.
        max_iter: maximum number of accepted steps.
        tol: stop when the objective increases by less than this.
        value: objective alone, used for trial points (``value_and_grad`` if
            ``None``).
        initial_step: first trial step length.
        shrink, grow: largest step-length factor on failure, factor after
            success.
        armijo: sufficient-increase constant.
        max_backtracks: give up the line search (and stop) after this many
            reductions.
        callback: ``callback(i, value, params)`` for every iterate.

    Returns:
        An :class:`OptimResult`.

    Raises:
        FloatingPointError: if the objective at the start is not finite.
    """
    if value is None:
        value = lambda p: value_and_grad(p)[0]  # noqa: E731
    start = time.perf_counter()
    f, g = value_and_grad(params)
    _check_finite(f, "gradient ascent (start)")
    n_evals = 1
    history, times = [f], [0.0]
    if callback is not None:
        callback(0, f, params)
    step = initial_step / grow
    converged = False
    n_iter = 0
    for n_iter in range(1, max_iter + 1):
        gg = _sqnorm(g)
        if gg == 0.0:
            converged = True
            n_iter -= 1
            break
        step *= grow
        for _ in range(max_backtracks):
            trial = _axpy(step, g, params)
            with np.errstate(all="ignore"):
                f_trial = value(trial)
            n_evals += 1
            if np.isfinite(f_trial) and f_trial >= f + armijo * step * gg:
                break
            step = _backtrack(step, f, gg, f_trial, shrink)
        else:  # no acceptable step: we are at a (numerical) stationary point
            converged = True
            n_iter -= 1
            break
        f_old = f
        params = trial
        f, g = value_and_grad(params)
        n_evals += 1
        _check_finite(f, f"gradient ascent (iteration {n_iter})")
        history.append(f)
        times.append(time.perf_counter() - start)
        if callback is not None:
            callback(n_iter, f, params)
        if abs(f - f_old) < tol:
            converged = True
            break
    return OptimResult(params, f, n_iter, converged, history, times, n_evals)


def adam(
    value_and_grad: ValueAndGrad,
    params: Unconstrained,
    max_iter: int = 100,
    tol: float = 1e-3,
    learning_rate: float = 0.05,
    beta1: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-8,
    patience: int = 10,
    callback: Callback | None = None,
) -> OptimResult:
    """Adam ascent on the full batch.

    Adam's steps do not shrink with the gradient, so a single small change
    of the objective says little (it happens whenever an oscillation turns);
    the run stops only after ``patience`` consecutive small changes.

    Args:
        value_and_grad: objective and gradient (maximised).
        params: starting point.
        max_iter: number of updates.
        tol: stop when the objective changes by less than this between
            iterations ``patience`` times in a row (``tol=0`` runs all
            ``max_iter`` updates).
        learning_rate, beta1, beta2, eps: Adam's constants.
        patience: number of consecutive small changes needed to stop.
        callback: ``callback(i, value, params)`` for every iterate.

    Returns:
        An :class:`OptimResult`.

    Raises:
        FloatingPointError: if the objective becomes NaN or infinite.
    """
    start = time.perf_counter()
    f, g = value_and_grad(params)
    _check_finite(f, "Adam (start)")
    history, times = [f], [0.0]
    if callback is not None:
        callback(0, f, params)
    m = tuple(np.zeros_like(a) for a in g)
    v = tuple(np.zeros_like(a) for a in g)
    converged = False
    n_iter = 0
    n_small = 0
    for n_iter in range(1, max_iter + 1):
        m = tuple(beta1 * a + (1.0 - beta1) * b for a, b in zip(m, g))
        v = tuple(beta2 * a + (1.0 - beta2) * b * b for a, b in zip(v, g))
        c1 = 1.0 - beta1**n_iter
        c2 = 1.0 - beta2**n_iter
        params = tuple(
            p + learning_rate * (a / c1) / (np.sqrt(b / c2) + eps)
            for p, a, b in zip(params, m, v)
        )
        f_old = f
        f, g = value_and_grad(params)
        _check_finite(f, f"Adam (iteration {n_iter})")
        history.append(f)
        times.append(time.perf_counter() - start)
        if callback is not None:
            callback(n_iter, f, params)
        n_small = n_small + 1 if abs(f - f_old) < tol else 0
        if n_small >= patience:
            converged = True
            break
    return OptimResult(params, f, n_iter, converged, history, times, n_iter + 1)


# ---------------------------------------------------------------------------
# Fitting in standardised coordinates
# ---------------------------------------------------------------------------


@dataclass
class Standardizer:
    """The affine map ``z = (x - shift) / scale`` applied column-wise."""

    shift: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, X: np.ndarray) -> "Standardizer":
        scale = X.std(axis=0)
        return cls(X.mean(axis=0), np.where(scale > 0, scale, 1.0))

    @classmethod
    def identity(cls, n_features: int) -> "Standardizer":
        return cls(np.zeros(n_features), np.ones(n_features))

    def transform(self, X: np.ndarray) -> np.ndarray:
        return (X - self.shift) / self.scale

    def params_to_z(self, p: MixtureParams) -> MixtureParams:
        s = self.scale
        return MixtureParams(
            p.weights, (p.means - self.shift) / s, p.covariances / np.outer(s, s)
        )

    def params_to_x(self, p: MixtureParams) -> MixtureParams:
        s = self.scale
        return MixtureParams(p.weights, p.means * s + self.shift, p.covariances * np.outer(s, s))

    @property
    def log_jacobian(self) -> float:
        """``log p_x(x) = log p_z(z) - log_jacobian`` for one point."""
        return float(np.sum(np.log(self.scale)))


def fit_gradient(
    X: np.ndarray,
    initial: MixtureParams,
    method: str = "gradient",
    max_iter: int = 100,
    tol: float = 1e-3,
    learning_rate: float = 0.05,
    make_value_and_grad: Callable[[np.ndarray], ValueAndGrad] | None = None,
    standardize: bool = True,
    callback: Callable[[int, float, MixtureParams], None] | None = None,
) -> tuple[MixtureParams, OptimResult]:
    """Fit a full-covariance mixture by gradient ascent or Adam.

    Args:
        X: ``(N, D)`` data.
        initial: starting mixture (original units).
        method: ``"gradient"`` (Armijo ascent) or ``"adam"``.
        max_iter, tol: iteration limit and tolerance on the change of the mean
            log-likelihood (in the same units as EM's ``tol``).
        learning_rate: Adam's step size (in standardised units).
        make_value_and_grad: builds ``value_and_grad`` from (standardised)
            data; defaults to :func:`sct_value_and_grad`.
        standardize: optimise on column-standardised data.
        callback: ``callback(i, mean_loglik, params)`` in original units.

    Returns:
        ``(fitted mixture, OptimResult)``; the result's ``history`` and
        ``value`` are mean log-likelihoods of ``X`` in original units.
    """
    if method not in METHODS:
        raise ValueError(f"unknown gradient method {method!r}; expected one of {METHODS}")
    make = sct_value_and_grad if make_value_and_grad is None else make_value_and_grad
    std = Standardizer.fit(X) if standardize else Standardizer.identity(X.shape[1])
    Z = std.transform(X)
    offset = std.log_jacobian
    start = to_unconstrained(*std.params_to_z(initial))

    def to_x(params: Unconstrained) -> MixtureParams:
        return std.params_to_x(from_unconstrained(*params))

    inner = None
    if callback is not None:
        inner = lambda i, f, p: callback(i, f - offset, to_x(p))  # noqa: E731
    vg = make(Z)
    if method == "gradient":
        result = gradient_ascent(
            vg, start, max_iter=max_iter, tol=tol, value=mean_loglik(Z), callback=inner
        )
    else:
        result = adam(
            vg, start, max_iter=max_iter, tol=tol, learning_rate=learning_rate, callback=inner
        )
    result.history = [h - offset for h in result.history]
    result.value -= offset
    return to_x(result.params), result
