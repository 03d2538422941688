"""How fast are the model versions? The same code differentiated by sct and by autograd.

Two versions of the full-covariance log-likelihood (:mod:`examples.gmm.model`):
``loglik_vec`` (NumPy, vectorised) and ``loglik_python`` (lists of floats,
``math``, loops). Each is differentiated by ``sct.value_and_grad`` and by
``autograd.value_and_grad`` *on the same source*: for autograd the function's
``np`` (or ``math``) global is swapped for ``autograd.numpy``, nothing else
changes. Times are the best of a few calls, one BLAS thread.
"""

from __future__ import annotations

import math
import time
import types
from typing import Callable, Sequence

import numpy as np

from . import em
from .model import loglik_python, loglik_vec, to_unconstrained


def with_global(fn: Callable, name: str, value: object) -> Callable:
    """A copy of ``fn`` whose global ``name`` is ``value`` (same code object)."""
    namespace = dict(fn.__globals__)
    namespace[name] = value
    return types.FunctionType(fn.__code__, namespace, fn.__name__, fn.__defaults__)


def best_time(call: Callable[[], object], repeats: int, warm_up: bool = True) -> float:
    """Seconds of the fastest of ``repeats`` calls (after one warm-up call if ``warm_up``)."""
    if warm_up:
        call()
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - t0)
    return best


def model_calls(X: np.ndarray, n_components: int, autograd: bool = True) -> dict[str, Callable]:
    """Zero-argument calls: each model's value, its sct gradient, its autograd gradient."""
    import sct

    w, m, c = em.initial_parameters(X, n_components, "full", 1e-6, "kmeans", 0)
    params = to_unconstrained(w, m, c)
    D = X.shape[1]
    lists = [np.ravel(p).tolist() for p in params]
    Xl = X.ravel().tolist()
    sct_vec = sct.value_and_grad(loglik_vec, wrt=(0, 1, 2, 3))
    sct_py = sct.value_and_grad(loglik_python, wrt=(0, 1, 2, 3))
    calls = {
        "numpy: function": lambda: loglik_vec(*params, X),
        "numpy: sct value_and_grad": lambda: sct_vec(*params, X),
        "python: function": lambda: loglik_python(*lists, Xl, D),
        "python: sct value_and_grad": lambda: sct_py(*lists, Xl, D),
    }
    if autograd:
        import autograd as ag
        import autograd.numpy as anp

        ag_vec = ag.value_and_grad(lambda p: with_global(loglik_vec, "np", anp)(*p, X))
        amath = types.SimpleNamespace(exp=anp.exp, log=anp.log, pi=math.pi)
        f_py = with_global(loglik_python, "math", amath)
        ag_py = ag.value_and_grad(lambda p: f_py(*p, Xl, D))
        calls["numpy: autograd value_and_grad"] = lambda: ag_vec(params)
        calls["python: autograd value_and_grad"] = lambda: ag_py(lists)
    return calls


def speed_table(X: np.ndarray, n_components: int, sizes: Sequence[int],
                repeats: int = 3) -> list[tuple[str, int, float]]:
    """``(call, N, milliseconds)`` for the first ``N`` points of ``X``, each ``N`` in ``sizes``."""
    try:
        import autograd  # noqa: F401
        have_autograd = True
    except ImportError:
        have_autograd = False
    rows = []
    for n in sizes:
        for name, call in model_calls(X[:n], n_components, have_autograd).items():
            slow = "python: autograd" in name  # about a second per call at N=272
            rows.append((name, n, 1e3 * best_time(call, 1 if slow else repeats)))
    return rows


def format_speed(rows: list[tuple[str, int, float]]) -> str:
    sizes = sorted({n for _, n, _ in rows})
    names = list(dict.fromkeys(name for name, _, _ in rows))
    ms = {(name, n): t for name, n, t in rows}
    lines = ["model versions, K=2 on Old Faithful (first N points), ms per call:",
             f"{'':34s}" + "".join(f"{'N=' + str(n):>10s}" for n in sizes)]
    for name in names:
        lines.append(f"{name:34s}" + "".join(f"{ms[name, n]:10.2f}" for n in sizes))
    return "\n".join(lines)
