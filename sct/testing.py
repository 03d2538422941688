"""Checks users (and sct's own tests) can run on any function.

``numerical_grad`` is a central finite difference; ``check_grad`` compares sct's
gradient in both modes against it and raises ``AssertionError`` with the numbers
when they disagree; ``check_dot_product`` verifies ⟨J·u, v⟩ = ⟨u, Jᵀ·v⟩ between
the forward and reverse programs.

Each takes the arguments as the function does, and a ``wrt`` argument may be a
*pytree* — a list, tuple, dict, NamedTuple or dataclass instance of numbers and
float arrays (nested as deep as you like): finite differences then perturb every
element of every leaf, the expected gradient has the argument's structure, and
the random directions of the dot-product test do too.  A function may also
return a pytree (``check_dot_product`` draws output seeds of its structure).
"""
from __future__ import annotations

import inspect
from typing import Any, Callable, Sequence

import numpy as np

from . import pytree
from .api import grad, jvp, vjp


def _positions(fn: Callable, wrt) -> list[int]:
    names = list(inspect.signature(fn).parameters)
    items = (wrt,) if isinstance(wrt, (int, str)) else tuple(wrt)
    return [names.index(w) if isinstance(w, str) else w for w in items]


def _leaf_grad(f: Callable, x, eps: float):
    """Central differences of the scalar ``f`` of one leaf ``x`` (a number or an array)."""
    if isinstance(x, np.ndarray):
        g = np.zeros(x.shape)
        for idx in np.ndindex(*x.shape):
            plus, minus = x.astype(float).copy(), x.astype(float).copy()
            plus[idx] += eps
            minus[idx] -= eps
            g[idx] = (float(f(plus)) - float(f(minus))) / (2 * eps)
        return g
    x = float(x)
    return (float(f(x + eps)) - float(f(x - eps))) / (2 * eps)


def numerical_grad(fn: Callable, args: Sequence[Any], wrt=0, eps: float = 1e-6) -> list:
    """Central finite differences of a scalar ``fn`` at ``args`` for each ``wrt`` argument (for a pytree
    argument, a pytree of the same structure: each leaf perturbed element by element)."""
    args = list(args)
    out = []
    for i in _positions(fn, wrt):
        x = args[i]
        if not pytree.is_container(x):
            out.append(_leaf_grad(lambda v: fn(*args[:i], v, *args[i + 1:]), x, eps))
            continue
        flat = pytree.leaves(x)
        grads = []
        for j, leaf in enumerate(flat):
            def at(v, j=j):
                tree = pytree.unflatten(x, flat[:j] + [v] + flat[j + 1:])
                return fn(*args[:i], tree, *args[i + 1:])
            grads.append(_leaf_grad(at, leaf, eps))
        out.append(pytree.unflatten(x, grads))
    return out


def _disagree(got, expected, rtol: float, atol: float) -> bool:
    """Do two gradients differ, in structure or (leaf by leaf) in value?"""
    if pytree.is_container(expected):
        if pytree.mismatch(got, expected, "the gradient") is not None:
            return True
        got = pytree.conform(got, expected)
        return any(_disagree(g, e, rtol, atol) for g, e in zip(pytree.leaves(got), pytree.leaves(expected)))
    return pytree.is_container(got) or not np.allclose(got, expected, rtol=rtol, atol=atol)


def check_grad(fn: Callable, args: Sequence[Any], wrt=0, modes=("reverse", "forward"),
               rtol: float = 1e-5, atol: float = 1e-7, eps: float = 1e-6) -> None:
    """Assert that sct's gradient of ``fn`` matches finite differences in every mode (for a pytree
    argument: in structure, and leaf by leaf)."""
    expected = numerical_grad(fn, args, wrt, eps)
    items = (wrt,) if isinstance(wrt, (int, str)) else tuple(wrt)
    for mode in modes:
        got = grad(fn, wrt=tuple(items), mode=mode)(*args)
        for g, e, w in zip(got, expected, items):
            if _disagree(g, e, rtol, atol):
                raise AssertionError(f"{mode}-mode gradient of {getattr(fn, '__name__', fn)} wrt {w!r}:\n"
                                     f"  sct:               {g!r}\n  finite differences: {e!r}")


def _random_like(rng, x):
    """A random direction of ``x``'s shape (of its structure, for a pytree)."""
    draw = lambda leaf: rng.standard_normal(np.shape(leaf)) if np.ndim(leaf) else float(rng.standard_normal())
    return pytree.map_leaves(draw, x) if pytree.is_container(x) else draw(x)


def _inner(a, b) -> float:
    """⟨a, b⟩ over every element of two values of one structure."""
    if pytree.is_container(b):
        a = pytree.conform(a, b)
    return float(sum(np.sum(np.asarray(u, dtype=float) * np.asarray(v, dtype=float))
                     for u, v in zip(pytree.leaves(a), pytree.leaves(b))))


def check_dot_product(fn: Callable, args: Sequence[Any], wrt=0, seed: int = 0, rtol: float = 1e-8) -> None:
    """Assert ⟨J·u, v⟩ = ⟨u, Jᵀ·v⟩ for random directions u (of each ``wrt`` argument's shape, or structure
    for a pytree) and output seeds v (of the output's)."""
    rng = np.random.default_rng(seed)
    items = (wrt,) if isinstance(wrt, (int, str)) else tuple(wrt)
    positions = _positions(fn, items)
    directions = [_random_like(rng, args[i]) for i in positions]
    value, tangent = jvp(fn, wrt=tuple(items))(*args, *directions)
    v = _random_like(rng, value)
    adjoints = vjp(fn, wrt=tuple(items))(*args, v)
    lhs = _inner(tangent, v)
    rhs = float(sum(_inner(a, u) for a, u in zip(adjoints, directions)))
    if any(getattr(leaf, "dtype", None) == np.float32 for a in args for leaf in pytree.leaves(a)):
        rtol = max(rtol, 1e-4)  # single precision
    if not np.isclose(lhs, rhs, rtol=rtol, atol=1e-10):
        raise AssertionError(f"dot-product test of {getattr(fn, '__name__', fn)}: <J u, v> = {lhs!r} "
                             f"but <u, J^T v> = {rhs!r}")
