"""The Jacobian of a map R^n -> R^n: sct's jacfwd / jacrev against autograd and JAX (if installed).

    python -m bench.jacobian                 # n = 10, 100
    python -m bench.jacobian --sizes 10 100 1000
    python -m bench.jacobian --gmm           # also the Hessian of the GMM objective on Old Faithful

Two maps: ``y = tanh(A @ x) * x + x ** 2`` (elementwise plus a matrix product)
and a scalar loop (``y[i] = y[i-1] * sin(x[i]) + x[i] ** 2``, one element per
iteration).  Every Jacobian is checked against sct's forward one before it is
timed; the table gives the median time per Jacobian and its ratio to the
primal (the same tool's primal: NumPy for sct and autograd, jax.numpy for JAX).
sct's jacfwd runs the batched tangent program (all n directions in one sweep,
up to ~2**20 tangent elements per sweep); jacrev runs n adjoint sweeps.
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import time

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

import sct  # noqa: E402

_A = {}


def matrix(n: int) -> np.ndarray:
    if n not in _A:
        _A[n] = np.random.default_rng(n).normal(size=(n, n)) / np.sqrt(n)
    return _A[n]


def dense_map(x, A):
    return np.tanh(A @ x) * x + x ** 2


def loop_map(x, A):
    y = np.zeros(len(x))
    y[0] = x[0]
    for i in range(1, len(x)):
        y[i] = y[i - 1] * np.sin(x[i]) + x[i] ** 2
    return y


def median_time(fn, budget: float = 0.5, max_calls: int = 200) -> float:
    fn()  # warm up (sct generates its programs, JAX compiles)
    times, spent = [], 0.0
    while spent < budget and len(times) < max_calls:
        t0 = time.perf_counter()
        fn()
        dt = time.perf_counter() - t0
        times.append(dt)
        spent += dt
    return statistics.median(times)


def tools(which: str, n: int):
    """(name, primal, Jacobian) per installed tool, each a zero-argument callable on a fixed x."""
    x = np.random.default_rng(1).normal(size=n)
    A = matrix(n)
    fn = dense_map if which == "dense" else loop_map
    forward, reverse = sct.jacfwd(fn), sct.jacrev(fn)
    out = [("sct jacfwd", lambda: fn(x, A), lambda: forward(x, A)),
           ("sct jacrev", lambda: fn(x, A), lambda: reverse(x, A))]
    if importlib.util.find_spec("autograd"):
        import autograd
        import autograd.numpy as anp

        def ag_dense(x):
            return anp.tanh(anp.dot(A, x)) * x + x ** 2

        def ag_loop(x):
            ys = [x[0]]
            for i in range(1, len(x)):
                ys.append(ys[-1] * anp.sin(x[i]) + x[i] ** 2)
            return anp.stack(ys)
        f = ag_dense if which == "dense" else ag_loop
        jac = autograd.jacobian(f)
        out.append(("autograd jacobian", lambda: f(x), lambda: jac(x)))
    if importlib.util.find_spec("jax"):
        import jax
        import jax.numpy as jnp
        jax.config.update("jax_enable_x64", True)
        Aj, xj = jnp.asarray(A), jnp.asarray(x)

        def j_dense(x):
            return jnp.tanh(Aj @ x) * x + x ** 2

        def j_loop(x):
            ys = [x[0]]
            for i in range(1, x.shape[0]):
                ys.append(ys[-1] * jnp.sin(x[i]) + x[i] ** 2)
            return jnp.stack(ys)
        f = j_dense if which == "dense" else j_loop
        for name, jac in (("jacfwd", jax.jacfwd(f)), ("jacrev", jax.jacrev(f))):
            jitted, fj = jax.jit(jac), jax.jit(f)
            if which == "dense" or n <= 100:  # (the unrolled loop takes minutes to trace eagerly at n=1000)
                out.append((f"JAX {name}", lambda f=f: f(xj).block_until_ready(),
                            lambda jac=jac: jac(xj).block_until_ready()))
            if which == "dense" or n <= 100:  # (and more than ten minutes to trace under jit)
                out.append((f"JAX jit {name}", lambda fj=fj: fj(xj).block_until_ready(),
                            lambda jitted=jitted: jitted(xj).block_until_ready()))
    return x, A, fn, out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100])
    parser.add_argument("--budget", type=float, default=0.5, help="seconds of timing per entry")
    parser.add_argument("--gmm", action="store_true", help="also the GMM Hessian on Old Faithful")
    parser.add_argument("--only-gmm", action="store_true", help="only the GMM Hessian")
    args = parser.parse_args(argv)
    if args.gmm or args.only_gmm:
        gmm_hessian(args.budget)
    if args.only_gmm:
        return
    print("| map | n | tool | Jacobian | primal | Jacobian / primal |")
    print("| --- | --- | --- | --- | --- | --- |")
    for which in ("dense", "loop"):
        for n in args.sizes:
            x, A, fn, entries = tools(which, n)
            reference = sct.jacfwd(fn)(x, A)
            for name, primal, jac in entries:
                if not np.allclose(np.asarray(jac()), reference, rtol=1e-9, atol=1e-12):
                    print(f"| {which} | {n} | {name} | disagrees with sct's Jacobian: not timed | | |")
                    continue
                tj, tp = median_time(jac, args.budget), median_time(primal, args.budget)
                print(f"| {which} | {n} | {name} | {_ms(tj)} | {_ms(tp)} | {tj / tp:.0f}× |", flush=True)


def gmm_hessian(budget: float) -> None:
    """``sct.hessian`` of the full-covariance GMM objective on Old Faithful (K = 2, 11 parameters), against
    one ``sct.hvp`` sweep per column, the gradient and the objective."""
    from examples.gmm import load_old_faithful
    from examples.gmm import parametrisations as P
    X = load_old_faithful()
    K, D = 2, X.shape[1]
    theta = np.random.default_rng(0).standard_normal(P.n_free("full", K, D)) * 0.1
    args = (theta, X, np.ones(K), P.tril_map(D), K)
    f, g, hvp, hess = P.objective_full, sct.grad(P.objective_full), sct.hvp(P.objective_full), \
        sct.hessian(P.objective_full)
    basis = np.eye(theta.size)
    columns = lambda: np.stack([hvp(*args, e) for e in basis], axis=-1)  # noqa: E731
    assert np.allclose(hess(*args), columns(), rtol=1e-9, atol=1e-8)
    print(f"| GMM full, Old Faithful, K={K} ({theta.size} parameters) | time |")
    print("| --- | --- |")
    for name, fn in (("objective", lambda: f(*args)), ("gradient", lambda: g(*args)),
                     ("sct.hessian", lambda: hess(*args)), (f"{theta.size} sct.hvp columns", columns)):
        print(f"| {name} | {_ms(median_time(fn, budget))} |", flush=True)
    print()


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.3g} ms" if seconds >= 1e-3 else f"{seconds * 1e6:.3g} µs"


if __name__ == "__main__":
    main()
