"""Checkpointed loops: peak memory and time of reverse mode over a long scalar loop.

The loop of issue 12, ``x = x + dt * math.sin(x) * p`` for n steps, differentiated
with respect to ``x`` and ``p``: the full tape (sct's default: three entries per
step) against ``checkpoint="sqrt"`` (√n snapshots, one segment's tape at a time)
and ``checkpoint=100``, and the binomial schedule (``"revolve"``: √n snapshots;
``("revolve", 100)``, ``("revolve", 10)``: one step's tape at a time).  Time: the best of a few runs; peak memory: one more run
under ``tracemalloc`` (which slows it, so it is not timed).

    python -m bench.checkpoint                 # n = 10**6 steps
    python -m bench.checkpoint --steps 10000000
"""
from __future__ import annotations

import argparse
import gc
import math
import time
import tracemalloc

import sct


def loop(x, p, dt, n):
    for i in range(n):
        x = x + dt * math.sin(x) * p
    return x


def best_time(fn, args, repeats: int) -> float:
    best = math.inf
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        fn(*args)
        best = min(best, time.perf_counter() - start)
    return best


def peak_bytes(fn, args) -> int:
    gc.collect()
    tracemalloc.start()
    fn(*args)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=float, default=1e6)
    parser.add_argument("--repeats", type=int, default=3)
    options = parser.parse_args(argv)
    n = int(options.steps)
    args = (0.3, 1.2, 1e-6, n)
    variants = [("primal (no derivative)", loop),
                ("full tape (default)", sct.grad(loop, wrt=(0, 1))),
                ('checkpoint="sqrt"', sct.grad(loop, wrt=(0, 1), checkpoint="sqrt")),
                ("checkpoint=100", sct.grad(loop, wrt=(0, 1), checkpoint=100)),
                ('checkpoint="revolve" (√n snapshots)', sct.grad(loop, wrt=(0, 1), checkpoint="revolve")),
                ('checkpoint=("revolve", 100)', sct.grad(loop, wrt=(0, 1), checkpoint=("revolve", 100))),
                ('checkpoint=("revolve", 10)', sct.grad(loop, wrt=(0, 1), checkpoint=("revolve", 10)))]
    reference = variants[1][1](*args)
    rows = []
    for name, fn in variants:
        fn(0.3, 1.2, 1e-6, 10)  # (the program is built on the first call)
        if fn is not loop:
            got = fn(*args)
            assert all(abs(a - b) <= 1e-12 * max(1.0, abs(b)) for a, b in zip(got, reference)), (name, got, reference)
        seconds = best_time(fn, args, options.repeats)
        rows.append((name, seconds, peak_bytes(fn, args)))
    full = rows[1][1]
    print(f"n = {n:,} steps of x = x + dt * math.sin(x) * p, gradient with respect to x and p\n")
    print("| program | time | vs full tape | peak memory (tracemalloc) |")
    print("| --- | --- | --- | --- |")
    for name, seconds, peak in rows:
        print(f"| {name} | {seconds:.2f} s | {seconds / full:.2f}× | {peak / 2**20:.2f} MB |")


if __name__ == "__main__":
    main()
