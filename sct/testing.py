"""Checks users (and sct's own tests) can run on any function.

``numerical_grad`` is a central finite difference; ``check_grad`` compares sct's
gradient in both modes against it and raises ``AssertionError`` with the numbers
when they disagree; ``check_dot_product`` verifies ⟨J·u, v⟩ = ⟨u, Jᵀ·v⟩ between
the forward and reverse programs.
"""
from __future__ import annotations

import inspect
from typing import Any, Callable, Sequence

import numpy as np

from .api import grad, jvp, vjp


def _positions(fn: Callable, wrt) -> list[int]:
    names = list(inspect.signature(fn).parameters)
    items = (wrt,) if isinstance(wrt, (int, str)) else tuple(wrt)
    return [names.index(w) if isinstance(w, str) else w for w in items]


def numerical_grad(fn: Callable, args: Sequence[Any], wrt=0, eps: float = 1e-6) -> list:
    """Central finite differences of a scalar ``fn`` at ``args`` for each ``wrt`` argument."""
    args = list(args)
    out = []
    for i in _positions(fn, wrt):
        x = args[i]
        if isinstance(x, np.ndarray):
            g = np.zeros(x.shape)
            for idx in np.ndindex(*x.shape):
                plus, minus = x.astype(float).copy(), x.astype(float).copy()
                plus[idx] += eps
                minus[idx] -= eps
                g[idx] = (float(fn(*args[:i], plus, *args[i + 1:])) - float(fn(*args[:i], minus, *args[i + 1:]))) / (2 * eps)
            out.append(g)
        else:
            x = float(x)
            out.append((float(fn(*args[:i], x + eps, *args[i + 1:])) - float(fn(*args[:i], x - eps, *args[i + 1:]))) / (2 * eps))
    return out


def check_grad(fn: Callable, args: Sequence[Any], wrt=0, modes=("reverse", "forward"),
               rtol: float = 1e-5, atol: float = 1e-7, eps: float = 1e-6) -> None:
    """Assert that sct's gradient of ``fn`` matches finite differences in every mode."""
    expected = numerical_grad(fn, args, wrt, eps)
    items = (wrt,) if isinstance(wrt, (int, str)) else tuple(wrt)
    for mode in modes:
        got = grad(fn, wrt=tuple(items), mode=mode)(*args)
        for g, e, w in zip(got, expected, items):
            if not np.allclose(g, e, rtol=rtol, atol=atol):
                raise AssertionError(f"{mode}-mode gradient of {getattr(fn, '__name__', fn)} wrt {w!r}:\n"
                                     f"  sct:               {g!r}\n  finite differences: {e!r}")


def check_dot_product(fn: Callable, args: Sequence[Any], wrt=0, seed: int = 0, rtol: float = 1e-8) -> None:
    """Assert ⟨J·u, v⟩ = ⟨u, Jᵀ·v⟩ for random directions u and output seeds v."""
    rng = np.random.default_rng(seed)
    items = (wrt,) if isinstance(wrt, (int, str)) else tuple(wrt)
    positions = _positions(fn, items)
    directions = [rng.standard_normal(np.shape(args[i])) if np.ndim(args[i]) else float(rng.standard_normal())
                  for i in positions]
    value, tangent = jvp(fn, wrt=tuple(items))(*args, *directions)
    v = rng.standard_normal(np.shape(value)) if np.ndim(value) else float(rng.standard_normal())
    adjoints = vjp(fn, wrt=tuple(items))(*args, v)
    lhs = float(np.sum(np.asarray(tangent) * v))
    rhs = float(sum(np.sum(np.asarray(a) * np.asarray(u)) for a, u in zip(adjoints, directions)))
    if any(getattr(a, "dtype", None) == np.float32 for a in args):
        rtol = max(rtol, 1e-4)  # single precision
    if not np.isclose(lhs, rhs, rtol=rtol, atol=1e-10):
        raise AssertionError(f"dot-product test of {getattr(fn, '__name__', fn)}: <J u, v> = {lhs!r} "
                             f"but <u, J^T v> = {rhs!r}")
