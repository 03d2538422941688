"""The GMM gradient at scale: sct's generated program on NumPy, Dask and JAX arrays, N = 10⁶ ... 10⁸ rows.

    python -m bench.run --scale                      # N = 1e6, 1e7 (a few minutes on 2 cores)
    python -m bench.run --scale --scale-n 1e6,1e7,1e8

One gradient of ``examples.gmm.model.loglik_vec`` (K components, D dimensions) with respect to all its
parameters, X of N rows, each measurement in a fresh process (so peak memory is its own):

* ``numpy``: X in memory, ``sct.value_and_grad`` (until it runs out of memory: skipped above ``--numpy-max``);
* ``chunks``: the baseline a user writes by hand, the same NumPy gradient over row blocks of 10⁶ rows
  (each block generated when it is needed, as a block read from disk would be), summed;
* ``dask``: X a Dask array generated lazily in row chunks, the lazy gradient computed by one
  ``dask.compute`` on the threaded scheduler (X is never in memory as a whole);
* ``distributed``: the same graph on a ``dask.distributed`` LocalCluster of 2 worker processes;
* ``jax``: ``jax.jit(sct.value_and_grad(...))`` on JAX arrays (CPU, float64; compile time excluded).

Peak memory is the process's maximum resident set (for ``distributed``, the largest worker's).
"""
from __future__ import annotations

import json
import resource
import subprocess
import sys
import time

import numpy as np

K, D = 5, 4
CHUNK = 1_000_000
TOOLS = ("numpy", "chunks", "dask", "distributed", "jax")


def _params():
    rng = np.random.default_rng(0)
    return (rng.normal(size=K), rng.normal(size=(K, D)), 0.1 * rng.normal(size=(K, D)),
            0.1 * rng.normal(size=(K, D, D)))


def _grad():
    import sct
    from examples.gmm.model import loglik_vec
    return sct.value_and_grad(loglik_vec, wrt=(0, 1, 2, 3))


def _peak_mb(children: bool = False) -> float:
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    return resource.getrusage(who).ru_maxrss / 1024


def _lazy_X(n: int):
    import dask.array as da
    return da.random.default_rng(1).normal(size=(n, D), chunks=(min(CHUNK, n), D))


def measure(tool: str, n: int) -> dict:
    """One measurement (run in its own process by :func:`main`)."""
    params, g = _params(), _grad()
    if tool == "numpy":
        X = np.random.default_rng(1).normal(size=(n, D))
        g(*params, X[:1000])  # (the program is generated once, outside the timing)
        start = time.perf_counter()
        value, grads = g(*params, X)
        return {"seconds": time.perf_counter() - start, "peak_mb": _peak_mb(), "value": float(value)}
    if tool == "chunks":
        # the rows arrive block by block (read from disk, say), never all at once; generating a block
        # is timed too, as Dask's generation of its chunks is
        rng = np.random.default_rng(1)
        g(*params, rng.normal(size=(1000, D)))
        start = time.perf_counter()
        value, grads = 0.0, [0.0] * 4
        for lo in range(0, n, CHUNK):
            v, gs = g(*params, rng.normal(size=(min(CHUNK, n - lo), D)))
            value, grads = value + v, [a + b for a, b in zip(grads, gs)]
        return {"seconds": time.perf_counter() - start, "peak_mb": _peak_mb(), "value": float(value)}
    if tool == "jax":
        import jax
        import jax.numpy as jnp
        jax.config.update("jax_enable_x64", True)
        X = jax.random.normal(jax.random.key(1), (n, D), dtype=jnp.float64)
        f = jax.jit(g)
        jax.block_until_ready(f(*params, X))  # (compiled outside the timing)
        start = time.perf_counter()
        value, _ = jax.block_until_ready(f(*params, X))
        return {"seconds": time.perf_counter() - start, "peak_mb": _peak_mb(), "value": float(value)}
    import dask
    if tool == "dask":
        start = time.perf_counter()
        value, _ = dask.compute(*g(*params, _lazy_X(n)), scheduler="threads")
        return {"seconds": time.perf_counter() - start, "peak_mb": _peak_mb(), "value": float(value)}
    from distributed import Client, LocalCluster
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None, silence_logs=50) as cluster, \
            Client(cluster) as client:
        start = time.perf_counter()
        value, _ = dask.compute(*g(*params, _lazy_X(n)))
        seconds = time.perf_counter() - start
        workers = client.run(lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return {"seconds": seconds, "peak_mb": max(workers.values()), "value": float(value)}


def _available(tool: str) -> str | None:
    module = {"dask": "dask.array", "distributed": "distributed", "jax": "jax"}.get(tool)
    if module is None:
        return None
    try:
        __import__(module)
    except ImportError:
        return f"{module} is not installed"
    return None


def run(sizes: list[int], numpy_max: int, jax_max: int, log=print) -> list[dict]:
    """Every tool at every N, each in a fresh process; rows of {tool, n, seconds, peak_mb} (or skip)."""
    rows = []
    log(f"GMM gradient at scale: K={K}, D={D}, Dask chunks of {CHUNK:,} rows")
    log(f"{'N':>12} {'tool':>12} {'seconds':>9} {'peak MB':>9}")
    for n in sizes:
        for tool in TOOLS:
            skip = _available(tool)
            if tool == "numpy" and n > numpy_max:
                skip = f"N > --numpy-max {numpy_max:.0e} (X alone is {n * D * 8 / 1e9:.1f} GB)"
            if tool == "jax" and n > jax_max:
                skip = f"N > --jax-max {jax_max:.0e}"
            if skip:
                rows.append({"tool": tool, "n": n, "skip": skip})
                log(f"{n:>12,} {tool:>12}   skipped: {skip}")
                continue
            proc = subprocess.run([sys.executable, "-m", "bench.scale", tool, str(n)], capture_output=True,
                                  text=True)
            if proc.returncode != 0:
                why = (proc.stderr.strip().splitlines() or ["killed (out of memory?)"])[-1]
                rows.append({"tool": tool, "n": n, "skip": why})
                log(f"{n:>12,} {tool:>12}   failed: {why}")
                continue
            row = {"tool": tool, "n": n, **json.loads(proc.stdout.strip().splitlines()[-1])}
            rows.append(row)
            log(f"{n:>12,} {tool:>12} {row['seconds']:>9.2f} {row['peak_mb']:>9.0f}")
    return rows


if __name__ == "__main__":
    print(json.dumps(measure(sys.argv[1], int(sys.argv[2]))))
