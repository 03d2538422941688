"""Calls of helper functions in reverse mode (issues 11 and 15): split against joint, helpers against the same
code inlined, sct against autograd on scalar Python, and the per-call cost of ``sct.grad``.

    python -m bench.calls                 # every benchmark, one run (a minute or two)
    python -m bench.calls --steps 100     # smaller (the smoke test runs --tiny)
    python -m bench.calls --json out.json

* **ODE**: a damped pendulum, ``accel(theta, omega, g, c) = -g sin(theta) - c omega``, integrated for 1 000
  steps by Euler and by RK4, once calling ``accel`` and once with it written out (inlined).  Gradient with
  respect to the four inputs: sct's default (split mode for calls), sct's joint mode, and each one's ratio to
  its own primal and to the inlined program's gradient.
* **GMM in pure Python**: the log-likelihood of a Gaussian mixture with diagonal covariances on Old Faithful
  (272 points, 2 dimensions, K = 3), lists of floats, ``math``, loops over points and components, and helpers
  (``logsumexp(values)``, ``log_normal(...)``); sct's gradient against its primal, and against autograd on the
  same model written as an autograd user writes it (``autograd.numpy`` on scalars: autograd has no ``math``).
* **Per-call overhead**: ``sct.grad`` of a one-line scalar function and of ``sum(sin(x) * x)`` on a 3-element
  array, in µs per call, against the generated program called directly.

Every gradient is checked (against finite differences, and sct's modes against each other) before it is
timed.  Times: the fastest of several interleaved samples (``bench.run.interleaved``), so that a burst of load
on a shared machine hits every variant alike.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time

if __package__ in (None, ""):  # run as `python bench/calls.py`
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

from bench.run import fmt_time, table  # noqa: E402

STEPS = 1000


# ---------------------------------------------------------------------------- the ODE

def accel(theta, omega, g, c):
    return -g * math.sin(theta) - c * omega


def euler(theta0, omega0, g, c, steps=1000):
    theta = theta0
    omega = omega0
    dt = 0.01
    for i in range(steps):
        a = accel(theta, omega, g, c)
        theta = theta + dt * omega
        omega = omega + dt * a
    return theta * theta + omega


def euler_inlined(theta0, omega0, g, c, steps=1000):
    theta = theta0
    omega = omega0
    dt = 0.01
    for i in range(steps):
        a = -g * math.sin(theta) - c * omega
        theta = theta + dt * omega
        omega = omega + dt * a
    return theta * theta + omega


def rk4(theta0, omega0, g, c, steps=1000):
    theta = theta0
    omega = omega0
    dt = 0.01
    for i in range(steps):
        k1 = accel(theta, omega, g, c)
        w2 = omega + 0.5 * dt * k1
        k2 = accel(theta + 0.5 * dt * omega, w2, g, c)
        w3 = omega + 0.5 * dt * k2
        k3 = accel(theta + 0.5 * dt * w2, w3, g, c)
        w4 = omega + dt * k3
        k4 = accel(theta + dt * w3, w4, g, c)
        theta = theta + dt / 6.0 * (omega + 2.0 * w2 + 2.0 * w3 + w4)
        omega = omega + dt / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
    return theta * theta + omega


def rk4_inlined(theta0, omega0, g, c, steps=1000):
    theta = theta0
    omega = omega0
    dt = 0.01
    for i in range(steps):
        k1 = -g * math.sin(theta) - c * omega
        w2 = omega + 0.5 * dt * k1
        k2 = -g * math.sin(theta + 0.5 * dt * omega) - c * w2
        w3 = omega + 0.5 * dt * k2
        k3 = -g * math.sin(theta + 0.5 * dt * w2) - c * w3
        w4 = omega + dt * k3
        k4 = -g * math.sin(theta + dt * w3) - c * w4
        theta = theta + dt / 6.0 * (omega + 2.0 * w2 + 2.0 * w3 + w4)
        omega = omega + dt / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
    return theta * theta + omega


# ---------------------------------------------------------------------------- the GMM in pure Python

def logsumexp(values):
    m = max(values)
    s = 0.0
    for v in values:
        s = s + math.exp(v - m)
    return m + math.log(s)


def log_normal(x, mu, log_sigma):
    """log N(x; mu, exp(log_sigma)^2) of one coordinate."""
    z = (x - mu) * math.exp(-log_sigma)
    return -0.5 * z * z - log_sigma - 0.9189385332046727  # log(sqrt(2 pi))


def gmm_loglik(logits, means, log_sigmas, X, D):
    """Total log-likelihood: ``logits`` K floats, ``means`` and ``log_sigmas`` K * D floats (row-major),
    ``X`` a list of points (each a list of D floats)."""
    K = len(logits)
    log_norm = logsumexp(logits)
    total = 0.0
    for point in X:
        terms = []
        for k in range(K):
            s = logits[k] - log_norm
            for j in range(D):
                s = s + log_normal(point[j], means[k * D + j], log_sigmas[k * D + j])
            terms.append(s)
        total = total + logsumexp(terms)
    return total


def autograd_gmm():
    """The same model as an autograd user writes it: autograd.numpy on scalars (autograd has no ``math``);
    the parameters as arrays (autograd's gradient of a list argument is a list of boxes, slower still)."""
    import autograd
    import autograd.numpy as anp

    def a_logsumexp(values):
        m = max(values)
        s = 0.0
        for v in values:
            s = s + anp.exp(v - m)
        return m + anp.log(s)

    def a_log_normal(x, mu, log_sigma):
        z = (x - mu) * anp.exp(-log_sigma)
        return -0.5 * z * z - log_sigma - 0.9189385332046727

    def a_loglik(logits, means, log_sigmas, X, D):
        K = len(logits)
        log_norm = a_logsumexp([logits[k] for k in range(K)])
        total = 0.0
        for point in X:
            terms = []
            for k in range(K):
                s = 0.0
                for j in range(D):
                    s = s + a_log_normal(point[j], means[k * D + j], log_sigmas[k * D + j])
                terms.append(logits[k] - log_norm + s)
            total = total + a_logsumexp(terms)
        return total
    return a_loglik, autograd.grad(a_loglik, argnum=(0, 1, 2))


def faithful(points: int | None = None):
    """Old Faithful, standardised, as a list of [x, y] lists (the first ``points`` rows)."""
    from examples.gmm.data import load_old_faithful
    X = load_old_faithful()
    X = (X - X.mean(0)) / X.std(0)
    return [list(map(float, row)) for row in X[:points]]


def gmm_start(K=3, D=2):
    rng = np.random.default_rng(0)
    logits = [float(v) for v in rng.standard_normal(K) * 0.1]
    means = [float(v) for v in rng.standard_normal(K * D)]
    log_sigmas = [float(v) for v in rng.standard_normal(K * D) * 0.1]
    return logits, means, log_sigmas


# ---------------------------------------------------------------------------- per-call overhead

def scalar_fn(x, y):
    return x * y + math.sin(x)


def array_fn(x):
    return np.sum(np.sin(x) * x)


# ---------------------------------------------------------------------------- running

def _fastest(fns, budget, rounds) -> dict:
    """The fastest single call of each function: one call per function in turn, over and over until each has
    had ``budget`` seconds (at least ``rounds`` calls), so that the quiet moments of a shared machine are
    found for every variant alike (a call shorter than the scheduler's time slice often runs undisturbed)."""
    import gc
    best = {k: float("inf") for k in fns}
    spent = {k: 0.0 for k in fns}
    gc.collect()
    was_on = gc.isenabled()
    gc.disable()
    try:
        calls = 0
        while calls < rounds or min(spent.values()) < budget:
            for key, fn in fns.items():
                t0 = time.perf_counter()
                fn()
                t = time.perf_counter() - t0
                spent[key] += t
                best[key] = min(best[key], t)
            calls += 1
    finally:
        if was_on:
            gc.enable()
    return best


def _grad(sct, fn, wrt, calls=None):
    """sct.grad with ``calls`` when this sct has the option (an earlier revision may not)."""
    if calls is None:
        return sct.grad(fn, wrt=wrt)
    try:
        return sct.grad(fn, wrt=wrt, calls=calls)
    except TypeError:
        return None


def _check(got, expected, what, rtol=1e-6):
    got = np.concatenate([np.ravel(np.asarray(g, dtype=float)) for g in got])
    expected = np.concatenate([np.ravel(np.asarray(e, dtype=float)) for e in expected])
    err = float(np.max(np.abs(got - expected)) / max(1e-300, float(np.max(np.abs(expected)))))
    if not err <= rtol:
        raise AssertionError(f"{what}: relative error {err:.3g}")


def _fd(fn, args, wrt, eps=1e-6):
    out = []
    for i in wrt:
        up, down = list(args), list(args)
        up[i] += eps
        down[i] -= eps
        out.append((fn(*up) - fn(*down)) / (2 * eps))
    return out


def ode(sct, steps, budget, rounds) -> list[dict]:
    args = (0.5, 0.1, 9.81, 0.2, steps)
    wrt = (0, 1, 2, 3)
    rows = []
    for scheme, helper, inlined in (("Euler", euler, euler_inlined), ("RK4", rk4, rk4_inlined)):
        fns = {"primal (helper)": lambda h=helper: h(*args), "primal (inlined)": lambda f=inlined: f(*args)}
        reference = _fd(inlined, args, wrt)
        variants = {"sct (helper)": _grad(sct, helper, wrt), "sct joint (helper)": _grad(sct, helper, wrt, "joint"),
                    "sct split (helper)": _grad(sct, helper, wrt, "split"), "sct (inlined)": _grad(sct, inlined, wrt)}
        for name, g in variants.items():
            if g is None:
                continue
            _check(g(*args), reference, f"{scheme} {name}", rtol=1e-5)
            fns[name] = lambda g=g: g(*args)
        times = _fastest(fns, budget, rounds)
        row = {"scheme": scheme, "steps": steps, "times_s": times}
        for name in variants:
            if name in times:
                own = times["primal (inlined)" if "inlined" in name else "primal (helper)"]
                row[f"{name} / own primal"] = times[name] / own
                row[f"{name} / inlined primal"] = times[name] / times["primal (inlined)"]
                row[f"{name} / sct (inlined)"] = times[name] / times["sct (inlined)"]
        rows.append(row)
    return rows


def gmm(sct, points, budget, rounds, with_autograd=True) -> dict:
    X = faithful(points)
    logits, means, log_sigmas = gmm_start()
    D = 2
    args = (logits, means, log_sigmas, X, D)
    g = sct.grad(gmm_loglik, wrt=(0, 1, 2))
    got = g(*args)
    flat = lambda ls: np.concatenate([np.asarray(v, dtype=float) for v in ls])  # noqa: E731
    fd = _fd(lambda *p: gmm_loglik(list(p[:3]), list(p[3:9]), list(p[9:15]), X, D),
             list(logits) + list(means) + list(log_sigmas), range(15))
    _check([flat(got)], [np.array(fd)], "GMM sct gradient", rtol=1e-5)
    fns = {"primal": lambda: gmm_loglik(*args), "sct gradient": lambda: g(*args)}
    joint = _grad(sct, gmm_loglik, (0, 1, 2), "joint")
    if joint is not None:
        _check([flat(joint(*args))], [flat(got)], "GMM sct joint gradient", rtol=1e-9)
        fns["sct joint gradient"] = lambda: joint(*args)
    if with_autograd:
        try:
            a_loglik, a_grad = autograd_gmm()
        except ImportError:
            a_grad = None
        if a_grad is not None:
            arrays = (np.array(logits), np.array(means), np.array(log_sigmas), X, D)
            _check([flat(a_grad(*arrays))], [flat(got)], "GMM autograd gradient", rtol=1e-9)
            fns["autograd gradient"] = lambda: a_grad(*arrays)
    times = _fastest(fns, budget, rounds)
    out = {"N": len(X), "K": len(logits), "D": D, "times_s": times,
           "sct gradient / primal": times["sct gradient"] / times["primal"]}
    if "sct joint gradient" in times:
        out["sct joint gradient / primal"] = times["sct joint gradient"] / times["primal"]
    if "autograd gradient" in times:
        out["autograd / sct"] = times["autograd gradient"] / times["sct gradient"]
    return out


def overhead(sct, budget, rounds) -> dict:
    from sct.api import derived_programs
    x3 = np.array([0.3, -1.2, 0.7])
    gs = sct.grad(scalar_fn, wrt=(0, 1))
    ga = sct.grad(array_fn)
    _check(gs(0.7, -1.3), _fd(scalar_fn, (0.7, -1.3), (0, 1)), "scalar grad")
    _check([ga(x3)], [np.cos(x3) * x3 + np.sin(x3)], "array grad")
    raw_s = next(d.fn for d in derived_programs(gs) if d.mode == "gradient")
    raw_a = next(d.fn for d in derived_programs(ga) if d.mode == "gradient")
    fns = {"scalar: primal": lambda: scalar_fn(0.7, -1.3),
           "scalar: generated program": lambda: raw_s(0.7, -1.3),
           "scalar: sct.grad(f)(x, y)": lambda: gs(0.7, -1.3),
           "array: primal": lambda: array_fn(x3),
           "array: generated program": lambda: raw_a(x3),
           "array: sct.grad(f)(x)": lambda: ga(x3)}
    times = _fastest(fns, budget, rounds)
    return {"times_s": times,
            "scalar overhead_s": times["scalar: sct.grad(f)(x, y)"] - times["scalar: generated program"],
            "array overhead_s": times["array: sct.grad(f)(x)"] - times["array: generated program"]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=STEPS, help="ODE steps (default 1000)")
    ap.add_argument("--points", type=int, default=None, help="GMM: the first N points of Old Faithful (all 272)")
    ap.add_argument("--budget", type=float, default=1.0, help="seconds of timing per variant")
    ap.add_argument("--rounds", type=int, default=20, help="at least this many calls of each variant")
    ap.add_argument("--tiny", action="store_true", help="a few steps and points, little timing (smoke test)")
    ap.add_argument("--no-autograd", action="store_true")
    ap.add_argument("--json", metavar="PATH")
    args = ap.parse_args(argv)
    if args.tiny:
        args.steps, args.points, args.budget, args.rounds = 5, 4, 0.01, 1
    import sct
    results = {"sct": os.path.dirname(sct.__file__), "python": sys.version.split()[0]}
    start = time.perf_counter()
    results["ode"] = ode(sct, args.steps, args.budget, args.rounds)
    for row in results["ode"]:
        print(f"\nODE, {row['scheme']}, {row['steps']} steps: time (ratio to its own primal, to the inlined "
              f"program's sct gradient)")
        body = []
        for name, t in row["times_s"].items():
            own = row.get(f"{name} / own primal")
            body.append([name, fmt_time(t), f"{own:.2f}x" if own else "-",
                         f"{row[f'{name} / sct (inlined)']:.2f}x" if own else "-"])
        print(table(["program", "time", "/ own primal", "/ sct (inlined)"], body))
    results["gmm"] = gmm(sct, args.points, args.budget, args.rounds, not args.no_autograd)
    g = results["gmm"]
    print(f"\nGMM in pure Python, Old Faithful N={g['N']}, K={g['K']}, D={g['D']}")
    print(table(["program", "time", "/ primal"],
                [[k, fmt_time(t), f"{t / g['times_s']['primal']:.2f}x"] for k, t in g["times_s"].items()]))
    if "autograd / sct" in g:
        print(f"autograd's gradient takes {g['autograd / sct']:.1f}x sct's")
    results["overhead"] = overhead(sct, args.budget, args.rounds)
    o = results["overhead"]
    print("\nPer-call overhead of sct.grad (µs)")
    print(table(["call", "time"], [[k, f"{t * 1e6:.2f} us"] for k, t in o["times_s"].items()]))
    print(f"sct.grad's own cost per call: {o['scalar overhead_s'] * 1e6:.2f} us (scalar), "
          f"{o['array overhead_s'] * 1e6:.2f} us (array)")
    print(f"\n(total {time.perf_counter() - start:.0f} s)")
    if args.json:
        with open(args.json, "w") as out:
            json.dump(results, out, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
